// Log-probabilities of the tokens of a sequence under a model, computed only where a mask asks
// for them and in row chunks, so that no [N,T,V] float32 logits tensor is ever built.
//
// logp[n, t] = log_softmax(logits(hidden[n, t-1]) / temperature)[ids[n, t]] where mask[n, t],
// else 0 (position 0 has no prediction and must not be masked). This is the same full-vocabulary
// temperature-scaled probability the sampler records (GSPO.md).
// Shapes: hidden [N,T,E]; ids, mask [N,T]; result [N,T] float32. The mask may live on the host
// or on hidden's device; from the host, nothing here waits on the device (a learner's host can
// queue the next micro-batch's work while this one runs).
// recompute_logits: autograd keeps only the hidden rows and recomputes each chunk's logits in
// backward (the vocabulary projection checkpointed: one chunk's [chunk, V] activations at a time
// instead of all of them, for one more projection per chunk); the gradients are the same.
// Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include "worker/engine/model/decoder_model.h"

namespace gspo::engine {

struct TokenLogProbs {
  at::Tensor logp;     // [N,T] float32, differentiable through `hidden`
  at::Tensor entropy;  // [N,T] float32, no grad: entropy of the predicted distribution
};

TokenLogProbs ComputeTokenLogProbs(const DecoderModel& model, const at::Tensor& hidden,
                                   const at::Tensor& ids, const at::Tensor& mask,
                                   double temperature, std::int64_t chunk_rows = 512,
                                   bool recompute_logits = false);

}  // namespace gspo::engine
