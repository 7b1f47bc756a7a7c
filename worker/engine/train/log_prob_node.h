// The learner's log-probabilities of chosen tokens through the vocabulary projection, as one
// autograd node (model/training_nodes.h switches it with the others):
//   logp[i] = log_softmax(softcap(rows[i] W^T) / T)[targets[i]]
// with the entropy of each distribution alongside (no gradient). The forward rounds where the
// composed operators round (the product and the soft-cap in the model dtype, the rest in
// float32; float64 models stay in float64), so its values are theirs to the bit; it keeps only the soft-cap's tanh (model dtype)
// and each row's log-sum-exp for backward, not the float32 log-softmax the composed graph keeps,
// and the backward writes d logp / d logits in one float32 buffer. W is frozen: no gradient
// reaches it. On CUDA both passes over the logits are one kernel each (kernels/logprob_kernels.h:
// equal to float32 rounding, not to the bit; GSPO_LOGPROB_KERNEL=0 runs the operators instead).
// Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <optional>

namespace gspo::engine {

struct VocabularyHead {
  at::Tensor weight;  // [V, E], the model dtype
  std::optional<double> softcap;
};

struct HeadLogProbs {
  at::Tensor logp;     // [N] float32 (float64 for float64 rows), differentiable through `rows`
  at::Tensor entropy;  // [N], no gradient
};

// -sum exp(lp) lp per row of log_probs [N, V] (no gradient), `rows_at_a_time` rows per step so
// that the exp and product temporaries stay small next to log_probs.
at::Tensor EntropyOfRows(const at::Tensor& log_probs, std::int64_t rows_at_a_time);

// rows [N, E] (the model dtype), targets [N] int64 on the same device. Without `with_entropy`
// the entropy comes back empty.
HeadLogProbs LogProbNode(const at::Tensor& rows, const at::Tensor& targets, const VocabularyHead& head,
                         double temperature, bool with_entropy = true);

}  // namespace gspo::engine
