// models/ceilings.cpp: measuring a device's copy bandwidth and matrix rate (see roofline.h).
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "models/model.h"
#include "models/roofline.h"

#if EIDETIC_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace eidetic::models {
namespace {

template <typename F>
double median_seconds(const at::Device& device, int repeats, F&& f) {
  auto sync = [&] {
#if EIDETIC_WITH_CUDA
    if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
  };
  f();
  f();
  sync();
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    sync();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

Ceilings measure_ceilings(const std::string& device_name, const std::string& dtype_name) {
  const at::Device device = parse_device(device_name);
  const at::ScalarType dtype = device.is_cuda() ? parse_dtype(dtype_name) : at::kFloat;
  Ceilings k;
  k.device = "cpu";
#if EIDETIC_WITH_CUDA
  if (device.is_cuda()) k.device = at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name;
#endif
  const auto opts = at::TensorOptions().device(device);
  // Copy: 2 GiB on a GPU, 256 MiB on the CPU; bytes read plus bytes written.
  const int64_t bytes = device.is_cuda() ? (int64_t{1} << 31) : (int64_t{1} << 28);
  const at::Tensor src = at::rand({bytes / 4}, opts.dtype(at::kFloat));
  at::Tensor dst = at::empty_like(src);
  const double copy_s = median_seconds(device, 10, [&] { dst.copy_(src); });
  k.bytes_per_second = 2.0 * static_cast<double>(bytes) / copy_s;
  // Matrix product on random data (never zeros: they can run faster than real data).
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const at::Tensor a = at::randn({n, n}, opts.dtype(dtype));
  const at::Tensor b = at::randn({n, n}, opts.dtype(dtype));
  at::Tensor c = at::empty({n, n}, opts.dtype(dtype));
  const double mm_s = median_seconds(device, 10, [&] { at::mm_out(c, a, b); });
  k.flops_per_second = 2.0 * static_cast<double>(n) * n * n / mm_s;
  return k;
}

}  // namespace eidetic::models
