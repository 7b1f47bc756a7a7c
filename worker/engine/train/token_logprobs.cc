#include "worker/engine/train/token_logprobs.h"

#include <c10/core/GradMode.h>

namespace gspo::engine {

TokenLogProbs ComputeTokenLogProbs(const DecoderModel& model, const at::Tensor& hidden,
                                   const at::Tensor& ids, const at::Tensor& mask,
                                   double temperature, std::int64_t chunk_rows) {
  const std::int64_t n = ids.size(0), t = ids.size(1);
  at::Tensor target_mask = mask.to(at::kBool).to(hidden.device());
  TORCH_CHECK(!target_mask.select(1, 0).any().item<bool>(), "position 0 cannot be predicted");
  // Hidden state t-1 predicts token t: gather the rows whose next token is wanted.
  at::Tensor predict_mask = at::zeros_like(target_mask);
  predict_mask.narrow(1, 0, t - 1).copy_(target_mask.narrow(1, 1, t - 1));
  at::Tensor rows = hidden.reshape({n * t, -1}).index({predict_mask.reshape({-1})});  // [M,E]
  at::Tensor targets = ids.to(hidden.device()).reshape({-1}).index({target_mask.reshape({-1})});
  std::vector<at::Tensor> logp_chunks, entropy_chunks;
  for (std::int64_t start = 0; start < rows.size(0); start += chunk_rows) {
    const std::int64_t len = std::min(chunk_rows, rows.size(0) - start);
    at::Tensor logits = model.Logits(rows.narrow(0, start, len)).to(at::kFloat) / temperature;
    at::Tensor log_probs = at::log_softmax(logits, -1);  // [len,V]
    logp_chunks.push_back(log_probs.gather(1, targets.narrow(0, start, len).unsqueeze(1)).squeeze(1));
    c10::NoGradGuard no_grad;
    entropy_chunks.push_back(-(log_probs.exp() * log_probs).sum(-1));
  }
  const auto opts = hidden.options().dtype(at::kFloat);
  TokenLogProbs out;
  out.logp = at::zeros({n * t}, opts);
  out.entropy = at::zeros({n * t}, opts);
  if (!logp_chunks.empty()) {
    at::Tensor index = target_mask.reshape({-1}).nonzero().squeeze(1);
    out.logp = out.logp.index_put({index}, at::cat(logp_chunks));
    c10::NoGradGuard no_grad;
    out.entropy.index_put_({index}, at::cat(entropy_chunks));
  }
  out.logp = out.logp.view({n, t});
  out.entropy = out.entropy.view({n, t});
  return out;
}

}  // namespace gspo::engine
