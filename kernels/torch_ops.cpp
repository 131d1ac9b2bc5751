// kernels/torch_ops.cpp: validation and dispatch for the kernels (see torch_ops.h).
#include "kernels/torch_ops.h"

#include <ATen/ATen.h>

#include <sstream>
#include <string>

#include "common/error.h"
#include "kernels/argmax.h"
#include "kernels/dequant.h"
#include "kernels/match.h"
#include "kernels/sample.h"
#include "kernels/token_logprob.h"

#if EIDETIC_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace eidetic::ops {
namespace {

std::string shape_of(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

[[noreturn]] void fail(const std::string& op, const std::string& message) {
  throw Error(op + ": " + message);
}

void check_device_supported(const std::string& op, const std::string& name, const at::Tensor& t) {
  if (t.is_cpu()) return;
  if (t.is_cuda()) {
#if EIDETIC_WITH_CUDA
    return;
#else
    fail(op, name + " is on CUDA but this build of Eidetic has no CUDA kernels");
#endif
  }
  fail(op, name + " must be on the CPU or a CUDA device, got " + t.device().str());
}

kernels::FloatKind float_kind(const std::string& op, const at::Tensor& logits) {
  switch (logits.scalar_type()) {
    case at::kFloat: return kernels::FloatKind::f32;
    case at::kHalf: return kernels::FloatKind::f16;
    case at::kBFloat16: return kernels::FloatKind::bf16;
    default:
      fail(op, std::string("logits must be float32, float16 or bfloat16, got ") +
                   c10::toString(logits.scalar_type()));
  }
}

// Token ids as int64 with a contiguous last dimension (int32 is widened; a copy only then).
at::Tensor as_token_ids(const std::string& op, const std::string& name, const at::Tensor& t) {
  if (!at::isIntegralType(t.scalar_type(), /*includeBool=*/false))
    fail(op, name + " must hold integer token ids, got " + c10::toString(t.scalar_type()));
  at::Tensor ids = t.scalar_type() == at::kLong ? t : t.to(at::kLong);
  if (ids.size(1) > 1 && ids.stride(1) != 1) ids = ids.contiguous();
  return ids;
}

}  // namespace

bool built_with_cuda() { return EIDETIC_WITH_CUDA != 0; }

at::Tensor argmax_rows(const at::Tensor& logits) {
  const std::string op = "argmax_rows";
  if (!logits.defined()) fail(op, "logits is undefined");
  if (logits.dim() != 2) fail(op, "logits must be 2-D (B, V), got shape " + shape_of(logits));
  const int64_t B = logits.size(0);
  const int64_t V = logits.size(1);
  if (V == 0) fail(op, "logits have an empty last dimension (V = 0)");
  const kernels::FloatKind kind = float_kind(op, logits);
  check_device_supported(op, "logits", logits);
  at::Tensor input = logits;
  if (V > 1 && input.stride(1) != 1) input = input.contiguous();
  const int64_t row_stride = B > 1 ? input.stride(0) : V;
  at::Tensor out = at::empty({B}, input.options().dtype(at::kLong));
  if (B == 0) return out;
  if (input.is_cuda()) {
#if EIDETIC_WITH_CUDA
    const c10::cuda::CUDAGuard guard(input.device());
    kernels::argmax_rows(input.const_data_ptr(), kind, B, V, row_stride,
                         out.mutable_data_ptr<int64_t>(),
                         at::cuda::getCurrentCUDAStream().stream());
#endif
  } else {
    kernels::argmax_rows_cpu(input.const_data_ptr(), kind, B, V, row_stride,
                             out.mutable_data_ptr<int64_t>());
  }
  return out;
}

TokenMatch match_tokens(const at::Tensor& generated, const at::Tensor& target) {
  const std::string op = "match_tokens";
  if (!generated.defined() || !target.defined()) fail(op, "an input is undefined");
  if (generated.dim() != 2)
    fail(op, "generated must be 2-D (B, N), got shape " + shape_of(generated));
  if (!generated.sizes().equals(target.sizes()))
    fail(op, "generated has shape " + shape_of(generated) + " but target has shape " +
                 shape_of(target));
  check_device_supported(op, "generated", generated);
  check_device_supported(op, "target", target);
  if (generated.device() != target.device())
    fail(op, "generated is on " + generated.device().str() + " but target is on " +
                 target.device().str());
  const at::Tensor g = as_token_ids(op, "generated", generated);
  const at::Tensor t = as_token_ids(op, "target", target);
  const int64_t B = g.size(0);
  const int64_t N = g.size(1);
  TokenMatch result{at::empty({B}, g.options().dtype(at::kLong)),
                    at::empty({B}, g.options().dtype(at::kBool))};
  if (B == 0) return result;
  const int64_t gs = B > 1 ? g.stride(0) : N;
  const int64_t ts = B > 1 ? t.stride(0) : N;
  if (g.is_cuda()) {
#if EIDETIC_WITH_CUDA
    const c10::cuda::CUDAGuard guard(g.device());
    kernels::match_tokens(g.const_data_ptr<int64_t>(), gs, t.const_data_ptr<int64_t>(), ts, B, N,
                          result.lcp.mutable_data_ptr<int64_t>(),
                          result.exact.mutable_data_ptr<bool>(),
                          at::cuda::getCurrentCUDAStream().stream());
#endif
  } else {
    kernels::match_tokens_cpu(g.const_data_ptr<int64_t>(), gs, t.const_data_ptr<int64_t>(), ts, B,
                              N, result.lcp.mutable_data_ptr<int64_t>(),
                              result.exact.mutable_data_ptr<bool>());
  }
  return result;
}

namespace {

// Shared checks of a (B, V) logits tensor; returns it with a contiguous last dimension.
at::Tensor checked_logits(const std::string& op, const at::Tensor& logits) {
  if (!logits.defined()) fail(op, "logits is undefined");
  if (logits.dim() != 2) fail(op, "logits must be 2-D (B, V), got shape " + shape_of(logits));
  if (logits.size(1) == 0) fail(op, "logits have an empty last dimension (V = 0)");
  float_kind(op, logits);
  check_device_supported(op, "logits", logits);
  return logits.size(1) > 1 && logits.stride(1) != 1 ? logits.contiguous() : logits;
}

at::Tensor checked_ids(const std::string& op, const std::string& name, const at::Tensor& ids, int64_t B,
                       const at::Tensor& logits) {
  if (!ids.defined() || ids.dim() != 1 || ids.size(0) != B)
    fail(op, name + " must be 1-D with " + std::to_string(B) + " entries");
  if (ids.device() != logits.device())
    fail(op, name + " is on " + ids.device().str() + " but logits are on " + logits.device().str());
  if (!at::isIntegralType(ids.scalar_type(), false)) fail(op, name + " must hold integers");
  return ids.to(at::kLong).contiguous();
}

}  // namespace

void sample_tokens_out(const at::Tensor& logits_in, const at::Tensor& streams_in, const at::Tensor& step_in,
                       const kernels::SampleParams& params, at::Tensor& tokens, at::Tensor& logprobs) {
  const std::string op = "sample_tokens";
  const at::Tensor logits = checked_logits(op, logits_in);
  const int64_t B = logits.size(0), V = logits.size(1);
  const at::Tensor streams = checked_ids(op, "streams", streams_in, B, logits);
  if (!step_in.defined() || step_in.numel() != 1 || step_in.device() != logits.device())
    fail(op, "step must be a one-element tensor on the logits' device");
  const at::Tensor step = step_in.to(at::kLong).contiguous();
  if (params.top_k < 0) fail(op, "top_k must be >= 0");
  if (!(params.top_p > 0.f)) fail(op, "top_p must be > 0");
  if (!tokens.defined() || !tokens.sizes().equals({B}) || tokens.scalar_type() != at::kLong ||
      tokens.device() != logits.device() || !tokens.is_contiguous())
    tokens = at::empty({B}, logits.options().dtype(at::kLong));
  if (!logprobs.defined() || !logprobs.sizes().equals({B}) || logprobs.scalar_type() != at::kFloat ||
      logprobs.device() != logits.device() || !logprobs.is_contiguous())
    logprobs = at::empty({B}, logits.options().dtype(at::kFloat));
  if (B == 0) return;
  const int64_t row_stride = B > 1 ? logits.stride(0) : V;
  const kernels::FloatKind kind = float_kind(op, logits);
  if (logits.is_cuda()) {
#if EIDETIC_WITH_CUDA
    const c10::cuda::CUDAGuard guard(logits.device());
    kernels::sample_tokens(logits.const_data_ptr(), kind, B, V, row_stride, streams.const_data_ptr<int64_t>(),
                           step.const_data_ptr<int64_t>(), params, tokens.mutable_data_ptr<int64_t>(),
                           logprobs.mutable_data_ptr<float>(), at::cuda::getCurrentCUDAStream().stream());
#endif
  } else {
    kernels::sample_tokens_cpu(logits.const_data_ptr(), kind, B, V, row_stride, streams.const_data_ptr<int64_t>(),
                               step.item<int64_t>(), params, tokens.mutable_data_ptr<int64_t>(),
                               logprobs.mutable_data_ptr<float>());
  }
}

Sampled sample_tokens(const at::Tensor& logits, const at::Tensor& streams, const at::Tensor& step,
                      const kernels::SampleParams& params) {
  Sampled out;
  sample_tokens_out(logits, streams, step, params, out.tokens, out.logprobs);
  return out;
}

TokenScores token_logprobs(const at::Tensor& logits_in, const at::Tensor& targets_in, bool want_entropy,
                           bool want_rank) {
  const std::string op = "token_logprobs";
  const at::Tensor logits = checked_logits(op, logits_in);
  const int64_t N = logits.size(0), V = logits.size(1);
  const at::Tensor targets = checked_ids(op, "targets", targets_in, N, logits);
  if (N > 0) {  // one host synchronization per call: scoring is not inside a captured graph
    const int64_t lo = targets.min().item<int64_t>(), hi = targets.max().item<int64_t>();
    if (lo < 0 || hi >= V)
      fail(op, "target id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary of " + std::to_string(V));
  }
  const auto fopts = logits.options().dtype(at::kFloat);
  TokenScores out;
  out.logprob = at::empty({N}, fopts);
  if (want_entropy) out.entropy = at::empty({N}, fopts);
  if (want_rank) out.rank = at::empty({N}, logits.options().dtype(at::kLong));
  if (N == 0) return out;
  const int64_t row_stride = N > 1 ? logits.stride(0) : V;
  const kernels::FloatKind kind = float_kind(op, logits);
  float* entropy = want_entropy ? out.entropy.mutable_data_ptr<float>() : nullptr;
  int64_t* rank = want_rank ? out.rank.mutable_data_ptr<int64_t>() : nullptr;
  if (logits.is_cuda()) {
#if EIDETIC_WITH_CUDA
    const c10::cuda::CUDAGuard guard(logits.device());
    kernels::token_logprobs(logits.const_data_ptr(), kind, N, V, row_stride, targets.const_data_ptr<int64_t>(),
                            out.logprob.mutable_data_ptr<float>(), entropy, rank,
                            at::cuda::getCurrentCUDAStream().stream());
#endif
  } else {
    kernels::token_logprobs_cpu(logits.const_data_ptr(), kind, N, V, row_stride, targets.const_data_ptr<int64_t>(),
                                out.logprob.mutable_data_ptr<float>(), entropy, rank);
  }
  return out;
}

// The blocks are read as a flat run of bytes: any shape is accepted (a (rows, row_bytes) view of
// a tensor's data as well as 1-D), as long as it is contiguous and its numel is a whole number
// of blocks. The result is 1-D; the caller gives it the tensor's shape.
at::Tensor dequantize(const at::Tensor& blocks, kernels::GgmlType type) {
  const std::string op = "dequantize";
  const int32_t id = static_cast<int32_t>(type);
  const kernels::GgmlTypeInfo* info = kernels::ggml_type_info(id);
  if (info == nullptr) {
    const char* name = kernels::ggml_type_name(id);
    fail(op, "ggml type " + std::to_string(id) + (name ? std::string(" (") + name + ")" : std::string()) +
                 " cannot be dequantized");
  }
  if (!blocks.defined()) fail(op, "blocks is undefined");
  if (blocks.scalar_type() != at::kByte)
    fail(op, std::string("blocks must be uint8 bytes, got ") + c10::toString(blocks.scalar_type()));
  if (!blocks.is_contiguous()) {
    std::ostringstream strides;
    strides << blocks.strides();
    fail(op, "blocks must be contiguous, got shape " + shape_of(blocks) + " with strides " + strides.str());
  }
  check_device_supported(op, "blocks", blocks);
  const int64_t bytes = blocks.numel();
  if (bytes % info->block_bytes != 0)
    fail(op, "blocks holds " + std::to_string(bytes) + " bytes, not a whole number of " + info->name + " blocks of " +
                 std::to_string(info->block_bytes) + " bytes");
  const int64_t n_blocks = bytes / info->block_bytes;
  at::Tensor out = at::empty({n_blocks * info->block_elems}, blocks.options().dtype(at::kFloat));
  if (n_blocks == 0) return out;
  if (blocks.is_cuda()) {
#if EIDETIC_WITH_CUDA
    const c10::cuda::CUDAGuard guard(blocks.device());
    kernels::dequantize(type, blocks.const_data_ptr<uint8_t>(), n_blocks, out.mutable_data_ptr<float>(),
                        at::cuda::getCurrentCUDAStream().stream());
#endif
  } else {
    kernels::dequantize_cpu(type, blocks.const_data_ptr<uint8_t>(), n_blocks, out.mutable_data_ptr<float>());
  }
  return out;
}

}  // namespace eidetic::ops
