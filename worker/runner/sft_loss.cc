#include "worker/runner/sft_loss.h"

#include "worker/engine/train/token_logprobs.h"

namespace gspo::runner {

SftNll AssistantNll(const engine::DecoderModel& model, const SftBatch& batch, bool training,
                    bool checkpoint_layers) {
  engine::ForwardInput input;
  input.input_ids = batch.ids.to(model.device());
  input.valid = batch.valid.to(model.device());
  input.training = training;
  input.checkpoint_layers = checkpoint_layers;
  const at::Tensor mask = batch.assistant_mask.to(model.device());
  const at::Tensor hidden = model.Hidden(input);
  // Token 0 has no prediction: a conversation never starts with an assistant token, and
  // ComputeTokenLogProbs requires it unmasked.
  const engine::TokenLogProbs scored =
      engine::ComputeTokenLogProbs(model, hidden, input.input_ids, mask, /*temperature=*/1.0);
  SftNll out;
  out.sum = -(scored.logp * mask.to(at::kFloat)).sum();
  out.tokens = mask.sum().item<std::int64_t>();
  return out;
}

}  // namespace gspo::runner
