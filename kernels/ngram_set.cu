// kernels/ngram_set.cu: the n-gram set on a CUDA device (see ngram_set.h; its CPU twin is
// ngram_set_cpu.cpp).
//
// The set owns a non-blocking stream on its device and its table in device memory. Every call
// makes the set's device current for its duration (and restores the caller's), copies its input
// to the device in passes of at most `device_chunk` windows or keys, runs the kernels of
// kernels/ngram.cu, copies the answers back and waits for the stream, so that the caller only
// ever holds host vectors. Window hashes are computed over the whole concatenation (the
// kernel's rolling runs do not know the parts; windows across a boundary get a hash too, which
// callers skip).
#include <algorithm>
#include <string>
#include <utility>

#include "kernels/cuda_check.h"
#include "kernels/ngram.h"
#include "kernels/ngram_set.h"

namespace eidetic::kernels {
namespace {

// Device memory owned for the lifetime of the object.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes) EIDETIC_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Makes `device` current for a scope and restores the previous one.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    EIDETIC_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) EIDETIC_CUDA_CHECK(cudaSetDevice(device));
    current_ = device;
  }
  ~DeviceScope() {
    if (previous_ != current_) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0, current_ = 0;
};

class CudaNgramSet final : public NgramSet {
 public:
  CudaNgramSet(int64_t n, int device, int64_t chunk) : NgramSet(n), device_(device), chunk_(chunk) {
    const DeviceScope scope(device_);
    EIDETIC_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~CudaNgramSet() override {
    if (stream_) cudaStreamDestroy(stream_);
  }

  std::vector<uint64_t> window_hashes(const std::vector<int64_t>& tokens,
                                      const std::vector<int64_t>& /*starts*/) const override {
    const int64_t L = static_cast<int64_t>(tokens.size());
    std::vector<uint64_t> out(static_cast<size_t>(L >= n_ ? L - n_ + 1 : 0));
    if (out.empty()) return out;
    const DeviceScope scope(device_);
    const int64_t windows = L - n_ + 1;
    const int64_t chunk = std::min(windows, chunk_);
    DeviceBuffer d_tokens(static_cast<size_t>(chunk + n_ - 1) * sizeof(int64_t));
    DeviceBuffer d_hashes(static_cast<size_t>(chunk) * sizeof(uint64_t));
    for (int64_t first = 0; first < windows; first += chunk) {
      const int64_t count = std::min(chunk, windows - first);
      EIDETIC_CUDA_CHECK(cudaMemcpyAsync(d_tokens.as<int64_t>(), tokens.data() + first,
                                         static_cast<size_t>(count + n_ - 1) * sizeof(int64_t),
                                         cudaMemcpyHostToDevice, stream_));
      ngram_hashes(d_tokens.as<int64_t>(), count + n_ - 1, n_, d_hashes.as<uint64_t>(), stream_);
      EIDETIC_CUDA_CHECK(cudaMemcpyAsync(out.data() + first, d_hashes.as<uint64_t>(),
                                         static_cast<size_t>(count) * sizeof(uint64_t),
                                         cudaMemcpyDeviceToHost, stream_));
      EIDETIC_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }
    return out;
  }

  void build(const std::vector<uint64_t>& keys) override {
    const DeviceScope scope(device_);
    const int64_t capacity = capacity_for(static_cast<int64_t>(keys.size()));
    DeviceBuffer table(static_cast<size_t>(capacity) * sizeof(uint64_t));
    EIDETIC_CUDA_CHECK(cudaMemsetAsync(table.as<uint64_t>(), 0, table.bytes(), stream_));
    const int64_t chunk = std::min(std::max<int64_t>(static_cast<int64_t>(keys.size()), 1), chunk_);
    DeviceBuffer d_keys(keys.empty() ? 0 : static_cast<size_t>(chunk) * sizeof(uint64_t));
    for (int64_t first = 0; first < static_cast<int64_t>(keys.size()); first += chunk) {
      const int64_t count = std::min<int64_t>(chunk, static_cast<int64_t>(keys.size()) - first);
      EIDETIC_CUDA_CHECK(cudaMemcpyAsync(d_keys.as<uint64_t>(), keys.data() + first,
                                         static_cast<size_t>(count) * sizeof(uint64_t),
                                         cudaMemcpyHostToDevice, stream_));
      hashset_insert(table.as<uint64_t>(), capacity, d_keys.as<uint64_t>(), count, stream_);
    }
    EIDETIC_CUDA_CHECK(cudaStreamSynchronize(stream_));
    table_ = std::move(table);
    capacity_ = capacity;
  }

  std::vector<uint8_t> contains(const std::vector<uint64_t>& keys) const override {
    std::vector<uint8_t> found(keys.size(), 0);
    if (keys.empty() || capacity_ == 0) return found;
    static_assert(sizeof(bool) == sizeof(uint8_t), "found travels as bytes");
    const DeviceScope scope(device_);
    const int64_t chunk = std::min<int64_t>(static_cast<int64_t>(keys.size()), chunk_);
    DeviceBuffer d_keys(static_cast<size_t>(chunk) * sizeof(uint64_t));
    DeviceBuffer d_found(static_cast<size_t>(chunk));
    for (int64_t first = 0; first < static_cast<int64_t>(keys.size()); first += chunk) {
      const int64_t count = std::min<int64_t>(chunk, static_cast<int64_t>(keys.size()) - first);
      EIDETIC_CUDA_CHECK(cudaMemcpyAsync(d_keys.as<uint64_t>(), keys.data() + first,
                                         static_cast<size_t>(count) * sizeof(uint64_t),
                                         cudaMemcpyHostToDevice, stream_));
      hashset_contains(table_.as<uint64_t>(), capacity_, d_keys.as<uint64_t>(), count,
                       d_found.as<bool>(), stream_);
      EIDETIC_CUDA_CHECK(cudaMemcpyAsync(found.data() + first, d_found.as<bool>(),
                                         static_cast<size_t>(count), cudaMemcpyDeviceToHost, stream_));
      EIDETIC_CUDA_CHECK(cudaStreamSynchronize(stream_));
    }
    return found;
  }

  std::string device() const override { return "cuda:" + std::to_string(device_); }

 private:
  int device_;
  int64_t chunk_;                  // windows or keys per pass
  cudaStream_t stream_ = nullptr;  // every copy and kernel of the set runs on it
  DeviceBuffer table_;             // (capacity_), empty slots 0
};

}  // namespace

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" / "no driver" error
    return 0;
  }
  return count;
}

int current_cuda_device() {
  int device = 0;
  EIDETIC_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

std::unique_ptr<NgramSet> make_cuda_ngram_set(int64_t n, int cuda_device, int64_t device_chunk) {
  return std::make_unique<CudaNgramSet>(n, cuda_device, device_chunk);
}

}  // namespace eidetic::kernels
