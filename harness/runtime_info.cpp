#include "harness/runtime_info.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/version.h>

#include "eidetic/build_info.h"

#if EIDETIC_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime_api.h>
#endif

namespace eidetic::harness {

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.version = EIDETIC_VERSION;
  info.git_commit = EIDETIC_GIT_COMMIT;
  info.torch_version = TORCH_VERSION;
  info.cuda_built = EIDETIC_WITH_CUDA != 0;
  info.device_name = "cpu";
  info.cuda_runtime = "none";
#if EIDETIC_WITH_CUDA
  info.cuda_runtime = fmt::format("{}.{}", CUDART_VERSION / 1000, (CUDART_VERSION / 10) % 100);
  if (at::hasCUDA()) {
    info.cuda_device_count = static_cast<int>(at::cuda::device_count());
    if (info.cuda_device_count > 0) {
      info.cuda_usable = true;
      info.device_name = at::cuda::getDeviceProperties(0)->name;
    }
  }
#endif
  return info;
}

std::string version_text(const RuntimeInfo& info) {
  std::string cuda;
  if (!info.cuda_built) {
    cuda = "no (built without CUDA kernels)";
  } else if (info.cuda_usable) {
    cuda = fmt::format("yes ({} device{})", info.cuda_device_count,
                       info.cuda_device_count == 1 ? "" : "s");
  } else {
    cuda = "no (no CUDA device found)";
  }
  return fmt::format(
      "eidetic {}\n"
      "commit: {}\n"
      "torch: {}\n"
      "cuda runtime: {}\n"
      "cuda usable: {}\n"
      "device: {}\n",
      info.version, info.git_commit, info.torch_version, info.cuda_runtime, cuda,
      info.device_name);
}

}  // namespace eidetic::harness
