// The learner's log-probabilities through a soft-capped vocabulary (train/log_prob_node.h) as
// two kernels on raw device pointers: the forward in one pass over each row of logits, the
// backward in one pass over them again, where the LibTorch operators make a dozen. Each rounds
// to T (bf16 or float) where those operators round; sums run in float32 in another order than
// log_softmax's, so values agree with theirs to float32 rounding, not to the bit. Every function
// returns the launch's cudaError_t, never throws.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "worker/engine/kernels/decode_kernels.h"

namespace gspo::engine::kernels {

struct LogProbArgs {
  void* logits = nullptr;            // [N,V] T, contiguous rows
  const std::int64_t* targets = nullptr;  // [N]
  std::int64_t rows = 0, vocab = 0;
  float softcap = 0.f;      // <= 0: none
  float temperature = 1.f;  // > 0
};

// Per row i, with z = round_T(cap * round_T(tanh(round_T(logits / cap)))) / temperature (z =
// logits / temperature without a cap): logits[i] are replaced by round_T(tanh(round_T(logits /
// cap))) (the values backward needs; untouched without a cap), and
//   log_sum_exp[i] = log sum_j exp(z_j), logp[i] = z_target - log_sum_exp[i],
//   entropy[i] = -sum_j p_j log p_j (skipped when entropy is null).
cudaError_t LogProbForward(DType dtype, const LogProbArgs& args, float* logp, float* log_sum_exp, float* entropy,
                           cudaStream_t stream);

// grad_logits [N,V] T = d (sum_i grad_logp[i] logp[i]) / d logits, from the forward's output in
// args.logits (kept: the tanh values under a cap) and its log_sum_exp.
cudaError_t LogProbBackward(DType dtype, const LogProbArgs& args, const float* log_sum_exp, const float* grad_logp,
                            void* grad_logits, cudaStream_t stream);

}  // namespace gspo::engine::kernels
