// kernels/cuda_check.h: the single checking macro for CUDA runtime and cuBLAS calls.
//
// Include only from .cu files and from CUDA-enabled translation units. Every kernel launch is
// followed by EIDETIC_CUDA_CHECK_LAUNCH(), so that a bad launch configuration is reported at
// the launch that caused it, with its file and line, and not at some later synchronization.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

#include "common/error.h"

namespace eidetic::kernels {

[[noreturn]] inline void throw_cuda_failure(const char* what, const char* expr, const char* file,
                                            int line) {
  throw ::eidetic::Error(std::string("CUDA failure: ") + what + " in `" + expr + "` at " + file +
                         ":" + std::to_string(line));
}

inline void check_cuda(cudaError_t status, const char* expr, const char* file, int line) {
  if (status != cudaSuccess) throw_cuda_failure(cudaGetErrorString(status), expr, file, line);
}

inline void check_cuda(cublasStatus_t status, const char* expr, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw_cuda_failure(cublasGetStatusString(status), expr, file, line);
}

}  // namespace eidetic::kernels

#define EIDETIC_CUDA_CHECK(expr) ::eidetic::kernels::check_cuda((expr), #expr, __FILE__, __LINE__)
#define EIDETIC_CUDA_CHECK_LAUNCH() EIDETIC_CUDA_CHECK(cudaGetLastError())
