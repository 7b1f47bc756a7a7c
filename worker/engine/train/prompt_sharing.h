// Learning on the G samples of a prompt without running the prompt G times: the rows of a
// micro-batch that belong to one group (rows r with equal r / group_size) start with the same
// tokens, so the learner runs that prefix once per group, packed with every row's remaining
// positions into one pass (DecoderModel::SharedPrefixHidden). Gradients of the prefix sum over
// the group's rows, so the result is the full pass's up to float summation order.
//
// Applies when the shared prefix has no trained token. Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "worker/engine/model/decoder_model.h"
#include "worker/engine/train/token_logprobs.h"

namespace gspo::engine {

// What the micro-batch of rows [first_row, first_row + N) of a batch (ids, valid, mask [N,T] on
// one device) may share: the longest prefix on which every row equals its group's first row
// (ids and validity) and which ends before every row's first trained token. Below
// `min_prefix` positions, or with one row per group, nothing is shared (prefix 0). The plan's
// tensors are on the inputs' device; planned from host tensors, nothing waits on a GPU.
SharedPrefix PlanPromptSharing(const at::Tensor& ids, const at::Tensor& valid, const at::Tensor& mask,
                               std::int64_t first_row, std::int64_t group_size, std::int64_t min_prefix = 16);

// ComputeTokenLogProbs over the full rows of `input` (input_ids, valid, use_adapters, training,
// checkpoint_layers as for DecoderModel::Hidden without a cache), with the prefix run once per
// group. `mask` may live on the host (then nothing here waits on the device).
TokenLogProbs SharedPromptLogProbs(const DecoderModel& model, const ForwardInput& input, const at::Tensor& mask,
                                   const SharedPrefix& sharing, double temperature, std::int64_t chunk_rows,
                                   bool recompute_logits = false);

}  // namespace gspo::engine
