#include "worker/engine/sampler/sampling.h"

#include <limits>

namespace gspo::engine {
namespace {

std::uint64_t Mix(std::uint64_t x) {  // SplitMix64's finalizer
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

double RowUniform(std::uint64_t row_seed, std::int64_t step) {
  const std::uint64_t bits = Mix(Mix(row_seed) ^ static_cast<std::uint64_t>(step));
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);  // top 53 bits
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
  return Mix(Mix(Mix(seed) ^ static_cast<std::uint64_t>(prompt)) ^ static_cast<std::uint64_t>(sample));
}

at::Tensor TruncateLogits(const at::Tensor& logits, std::int64_t top_k, double top_p) {
  at::Tensor out = logits;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (top_k > 0 && top_k < logits.size(-1)) {
    at::Tensor kth = std::get<0>(at::topk(out, top_k, -1)).narrow(-1, top_k - 1, 1);
    out = out.masked_fill(out < kth, neg_inf);
  }
  if (top_p < 1.0) {
    auto [sorted, order] = at::sort(out, -1, /*descending=*/true);
    at::Tensor probs = at::softmax(sorted, -1);
    // Drop a token once the mass before it already reaches top_p; the top token always stays.
    at::Tensor drop_sorted = (probs.cumsum(-1) - probs) >= top_p;
    at::Tensor drop = at::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    out = out.masked_fill(drop, neg_inf);
  }
  return out;
}

SampledTokens SampleNext(const at::Tensor& logits_bv, const SamplingParams& params,
                         const at::Tensor& uniforms_b) {
  at::Tensor logits = logits_bv.to(at::kFloat);
  if (params.greedy) {
    at::Tensor tokens = logits.argmax(-1);
    at::Tensor logprobs = at::log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
    return {tokens, logprobs};
  }
  at::Tensor scaled = logits / params.temperature;
  at::Tensor probs = at::softmax(TruncateLogits(scaled, params.top_k, params.top_p), -1);
  // Inverse CDF: the number of tokens whose cumulative mass is <= u * total is the drawn index;
  // tokens of zero probability never start a new interval, so they are never drawn. Rounding can
  // push the index past the last token with mass: clamp it there.
  at::Tensor cdf = probs.cumsum(-1);
  at::Tensor target = uniforms_b.to(cdf.device(), at::kFloat).unsqueeze(-1) * cdf.narrow(-1, cdf.size(-1) - 1, 1);
  at::Tensor index = (cdf <= target).sum(-1);
  at::Tensor last_with_mass = (probs > 0).to(at::kInt).cumsum(-1).argmax(-1);
  at::Tensor tokens = at::minimum(index, last_with_mass);
  at::Tensor logprobs = at::log_softmax(scaled, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
  return {tokens, logprobs};
}

}  // namespace gspo::engine
