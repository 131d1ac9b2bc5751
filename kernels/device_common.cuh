// kernels/device_common.cuh: device helpers shared by the .cu files (never included by C++).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace eidetic::kernels {

// Logits in any of the three formats, read as float.
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// The total order of (value, index) pairs behind every argmax: NaN beats numbers (as in
// torch.argmax), larger beats smaller, and between equals the smaller index wins. Any
// reduction tree over this order gives the answer of a left-to-right scan.
__device__ __forceinline__ bool better(float a, int64_t ia, float b, int64_t ib) {
  const bool a_nan = isnan(a);
  const bool b_nan = isnan(b);
  if (a_nan != b_nan) return a_nan;
  if (!a_nan && a != b) return a > b;
  return ia < ib;
}

}  // namespace eidetic::kernels
