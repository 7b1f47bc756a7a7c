// Choosing the next token from logits: greedy, or temperature with top-k and top-p truncation.
// The log-probability recorded for a sampled token is log_softmax(logits / T) over the full
// vocabulary (GSPO.md): truncation decides what can be drawn, not the probability used later.
//
// Shapes: logits [B,V]; tokens [B] int64; logprobs [B] float32.
// Stateless apart from the generator passed in; not thread-safe for a shared generator.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace gspo::engine {

struct SamplingParams {
  bool greedy = false;
  double temperature = 1.0;
  double top_p = 1.0;
  std::int64_t top_k = 0;  // 0: off
};

struct SampledTokens {
  at::Tensor tokens;    // [B] int64
  at::Tensor logprobs;  // [B] float32
};

// Draws from the truncated distribution with `generator` (a CPU generator; draws happen on the
// CPU so that a seed reproduces the same tokens on any device).
SampledTokens SampleNext(const at::Tensor& logits_bv, const SamplingParams& params,
                         at::Generator& generator);

// Sets logits outside the top-k / top-p set to -inf. [B,V] float32 in, same shape out.
at::Tensor TruncateLogits(const at::Tensor& scaled_logits_bv, std::int64_t top_k, double top_p);

}  // namespace gspo::engine
