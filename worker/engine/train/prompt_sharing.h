// Learning on the G samples of a prompt without running the prompt G times: the rows of a
// micro-batch that belong to one group (rows r with equal r / group_size) start with the same
// tokens, so the learner runs that prefix once per group into a KvCache, copies the cache to
// the group's rows, and runs only the rest of each row over it. Gradients flow back through the
// copies into the one prefix pass, so the result is the full pass's up to float summation order.
//
// Applies when the layers are not checkpointed (a checkpointed layer recomputes without a
// cache) and the shared prefix has no trained token. Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "worker/engine/model/decoder_model.h"
#include "worker/engine/train/token_logprobs.h"

namespace gspo::engine {

struct PromptSharing {
  std::int64_t prefix = 0;  // leading positions run once per group; 0: nothing shared
  at::Tensor leaders;       // [L] int64: the first row of each group in the micro-batch
  at::Tensor group_of_row;  // [N] int64: each row's index into `leaders`
};

// What the micro-batch of rows [first_row, first_row + N) of a batch (ids, valid, mask [N,T] on
// one device) may share: the longest prefix on which every row equals its group's first row
// (ids and validity) and which ends before every row's first trained token. Below
// `min_prefix` positions, or with one row per group, nothing is shared. One host sync.
PromptSharing PlanPromptSharing(const at::Tensor& ids, const at::Tensor& valid, const at::Tensor& mask,
                                std::int64_t first_row, std::int64_t group_size, std::int64_t min_prefix = 16);

// ComputeTokenLogProbs over the full rows of `input` (input_ids, valid, use_adapters, training
// as for DecoderModel::Hidden without a cache), with the prefix run once per group.
TokenLogProbs SharedPromptLogProbs(const DecoderModel& model, const ForwardInput& input, const at::Tensor& mask,
                                   const PromptSharing& sharing, double temperature, std::int64_t chunk_rows);

}  // namespace gspo::engine
