#include "worker/engine/sampler/sampling.h"

#include <limits>
#include <tuple>

#include "common/seed_mix.h"

namespace gspo::engine {

using common::SplitMix64;

double RowUniform(std::uint64_t row_seed, std::int64_t step) {
  const std::uint64_t bits = SplitMix64(SplitMix64(row_seed) ^ static_cast<std::uint64_t>(step));
  return common::UnitInterval(bits);
}

at::Tensor RowUniforms(const std::vector<std::uint64_t>& row_seeds, std::int64_t steps) {
  at::Tensor out = at::empty({static_cast<std::int64_t>(row_seeds.size()), steps}, at::kFloat);
  float* data = out.data_ptr<float>();
  for (std::size_t r = 0; r < row_seeds.size(); ++r) {
    for (std::int64_t s = 0; s < steps; ++s) {
      data[r * steps + s] = static_cast<float>(RowUniform(row_seeds[r], s));
    }
  }
  return out;
}

std::uint64_t RowSeed(std::uint64_t seed, std::int64_t prompt, std::int64_t sample) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ static_cast<std::uint64_t>(prompt)) ^ static_cast<std::uint64_t>(sample));
}

SampledTokens SampleNext(const at::Tensor& logits_bv, const SamplingParams& params,
                         const at::Tensor& uniforms_b) {
  at::Tensor logits = logits_bv.to(at::kFloat);
  if (params.greedy) {
    at::Tensor tokens = logits.argmax(-1);
    at::Tensor logprobs = at::log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
    return {tokens, logprobs};
  }
  const std::int64_t vocab = logits.size(-1);
  // The same log_softmax the learner computes, so the recorded log-probs match it exactly.
  at::Tensor log_probs = at::log_softmax(logits / params.temperature, -1);
  at::Tensor u = uniforms_b.to(logits.device(), at::kFloat).unsqueeze(-1);
  const bool top_k = params.top_k > 0 && params.top_k < vocab;
  if (!top_k && params.top_p >= 1.0) {
    // The whole vocabulary, in vocabulary order.
    at::Tensor cdf = at::exp(log_probs).cumsum(-1);
    at::Tensor index = (cdf <= u * cdf.narrow(-1, vocab - 1, 1)).sum(-1, /*keepdim=*/true);
    at::Tensor tokens = index.clamp_max(vocab - 1);
    return {tokens.squeeze(-1), log_probs.gather(-1, tokens).squeeze(-1)};
  }
  // Truncation keeps a prefix of the tokens in descending order, so sample in that order: the
  // top-k (or every token, sorted, for top-p alone), their cumulative mass, the kept prefix, and
  // the inverse CDF inside it.
  at::Tensor sorted, order;
  if (top_k) {
    std::tie(sorted, order) = at::topk(log_probs, params.top_k, -1);
  } else {
    std::tie(sorted, order) = at::sort(log_probs, -1, /*descending=*/true);
  }
  at::Tensor probs = at::exp(sorted);  // full-vocabulary probabilities
  at::Tensor cumulative = probs.cumsum(-1);
  at::Tensor kept = at::ones({logits.size(0), 1}, order.options()) * sorted.size(-1);
  if (params.top_p < 1.0) {
    // Within the top-k, the mass renormalised to them decides, as the reference warpers do.
    at::Tensor mass = top_k ? cumulative / cumulative.narrow(-1, sorted.size(-1) - 1, 1) : cumulative;
    at::Tensor mass_before = mass - (top_k ? probs / cumulative.narrow(-1, sorted.size(-1) - 1, 1) : probs);
    // A token stays while the mass before it is below top_p; the top token always stays.
    kept = (mass_before < params.top_p).sum(-1, /*keepdim=*/true).clamp_min(1);
  }
  at::Tensor total = cumulative.gather(-1, kept - 1);
  at::Tensor index = at::minimum((cumulative <= u * total).sum(-1, /*keepdim=*/true), kept - 1);
  at::Tensor tokens = order.gather(-1, index);
  at::Tensor logprobs = sorted.gather(-1, index);
  return {tokens.squeeze(-1), logprobs.squeeze(-1)};
}

}  // namespace gspo::engine
