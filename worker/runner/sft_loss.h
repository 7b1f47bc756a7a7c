// The supervised fine-tuning loss: the negative log-likelihood of the assistant's tokens given
// everything before them; system and user turns (and padding) are context, never targets.
//
//   loss = (1 / #assistant tokens) * sum over assistant tokens t of -log p(ids[t] | ids[<t])
//
// with p the full-vocabulary softmax at temperature 1. Summed here and divided by the caller,
// so that the micro-batches of one optimizer step share one denominator (each token counts
// once, whatever its micro-batch).
// Shapes: N rows, T tokens, right-padded.
// Stateless; safe from any thread for different models.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "worker/engine/model/decoder_model.h"

namespace gspo::runner {

struct SftBatch {
  at::Tensor ids;             // [N,T] int64
  at::Tensor valid;           // [N,T] bool, false for padding
  at::Tensor assistant_mask;  // [N,T] bool, true for tokens the assistant wrote (targets)
};

struct SftNll {
  at::Tensor sum;           // scalar float32, differentiable through the model's trained weights
  std::int64_t tokens = 0;  // assistant tokens counted
};

// `training` turns on LoRA dropout; `checkpoint_layers` recomputes layers in backward.
SftNll AssistantNll(const engine::DecoderModel& model, const SftBatch& batch, bool training,
                    bool checkpoint_layers);

}  // namespace gspo::runner
