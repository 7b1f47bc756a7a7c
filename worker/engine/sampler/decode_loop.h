// The decode loop of a rollout turn (rollout_engine.h): one-token steps with static shapes
// (a CUDA graph replay on GPU), sampling on the device, stop checks every few steps and
// compaction of finished rows. Used by RolloutSession for first turns and continuations.
// Borrows the model and the cache; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/kv_cache.h"
#include "worker/engine/sampler/rollout_engine.h"

namespace gspo::engine {

// `cache` holds the rows' context up to `column` (exclusive); `logits` [B,V] predict each
// row's first token. With keep_caches, rows leaving the batch (compaction) keep their caches,
// and the result holds every row's cache in batch order for the next turn, with the slots a
// stopped row wrote while the batch decoded on marked empty; the buffers move there, leaving
// `cache` empty.
struct DecodeStart {
  KvCache* cache;
  at::Tensor logits;                       // [B,V], raw (uncapped) when fused_sampling
  std::vector<std::int64_t> next_position;  // per row: the position of its first sampled token
  std::int64_t column = 0;
  std::vector<std::uint64_t> seeds;         // per row
  bool fused_sampling = false;
  bool keep_caches = false;
};

struct DecodeEnd {
  std::vector<Generation> generations;  // batch order
  std::optional<KvCache> cache;         // with keep_caches: every row, batch order
  std::int64_t column = 0;              // the next free cache column
};

DecodeEnd DecodeRows(const DecoderModel& model, const RolloutRequest& request, DecodeStart s,
                     RolloutTimings* timings);

}  // namespace gspo::engine
