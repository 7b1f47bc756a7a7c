#include "worker/engine/sampler/sampling.h"

#include <limits>

namespace gspo::engine {

at::Tensor TruncateLogits(const at::Tensor& logits, std::int64_t top_k, double top_p) {
  at::Tensor out = logits;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (top_k > 0 && top_k < logits.size(-1)) {
    at::Tensor kth = std::get<0>(at::topk(out, top_k, -1)).narrow(-1, top_k - 1, 1);
    out = out.masked_fill(out < kth, neg_inf);
  }
  if (top_p < 1.0) {
    auto [sorted, order] = at::sort(out, -1, /*descending=*/true);
    at::Tensor cumulative = at::softmax(sorted, -1).cumsum(-1);
    // Drop a token once the mass before it already reaches top_p; the top token always stays.
    at::Tensor drop_sorted = (cumulative - at::softmax(sorted, -1)) >= top_p;
    at::Tensor drop = at::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    out = out.masked_fill(drop, neg_inf);
  }
  return out;
}

SampledTokens SampleNext(const at::Tensor& logits_bv, const SamplingParams& params,
                         at::Generator& generator) {
  at::Tensor logits = logits_bv.to(at::kFloat);
  if (params.greedy) {
    at::Tensor tokens = logits.argmax(-1);
    at::Tensor logprobs = at::log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
    return {tokens, logprobs};
  }
  at::Tensor scaled = logits / params.temperature;
  at::Tensor truncated = TruncateLogits(scaled, params.top_k, params.top_p);
  at::Tensor probs = at::softmax(truncated, -1).to(at::kCPU);
  at::Tensor tokens = at::multinomial(probs, 1, false, generator).squeeze(-1).to(logits.device());
  at::Tensor logprobs = at::log_softmax(scaled, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
  return {tokens, logprobs};
}

}  // namespace gspo::engine
