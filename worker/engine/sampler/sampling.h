// Choosing the next token from logits: greedy, or temperature with top-k and top-p truncation.
// The log-probability recorded for a sampled token is log_softmax(logits / T) over the full
// vocabulary (GSPO.md): truncation decides what can be drawn, not the probability used later.
//
// Randomness is counter-based: each row has its own seed, and the uniform that draws its token
// at step s is a pure function of (row seed, s). A row's samples therefore do not depend on the
// batch it shares, on compaction, or on the device: the draw itself is one inverse-CDF lookup
// per row, done where the logits are.
//
// Shapes: logits [B,V]; uniforms [B] float32; tokens [B] int64; logprobs [B] float32.
// Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

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

// The uniform in [0, 1) that draws step `step` of the row seeded `row_seed`.
double RowUniform(std::uint64_t row_seed, std::int64_t step);
// RowUniform for every row and steps 0..steps-1: [rows, steps] float32 on the CPU.
at::Tensor RowUniforms(const std::vector<std::uint64_t>& row_seeds, std::int64_t steps);
// The seed of sample `sample` of prompt `prompt` in a request seeded `seed`.
std::uint64_t RowSeed(std::uint64_t seed, std::int64_t prompt, std::int64_t sample);

// Draws one token per row from the truncated distribution: the first token whose cumulative
// probability exceeds uniforms[b] (ignored when greedy). Runs on the logits' device without
// synchronising with the host.
SampledTokens SampleNext(const at::Tensor& logits_bv, const SamplingParams& params,
                         const at::Tensor& uniforms_b);

}  // namespace gspo::engine
