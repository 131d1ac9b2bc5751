// CPU twin of kernels/match.cu: walk each row until the first disagreement.
#include "kernels/match.h"

namespace eidetic::kernels {

void match_tokens_cpu(const int64_t* generated, int64_t generated_stride, const int64_t* target,
                      int64_t target_stride, int64_t B, int64_t N, int64_t* lcp, bool* exact) {
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* g = generated + b * generated_stride;
    const int64_t* t = target + b * target_stride;
    int64_t n = 0;
    while (n < N && g[n] == t[n]) ++n;
    lcp[b] = n;
    exact[b] = n == N;
  }
}

}  // namespace eidetic::kernels
