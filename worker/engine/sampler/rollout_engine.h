// RolloutEngine: batched generation of G continuations per prompt with a KV cache.
//
//   prompts ─▶ left-padded batch prefill (one per prompt) ─▶ cache rows copied G times
//           ─▶ decode loop, static shapes: one step = the model on one token per row (a CUDA
//              graph replay on GPU) ─▶ sample on the device ─▶ token and its log-prob written
//              to device buffers; no host synchronisation per step
//           ─▶ every few steps the host reads which rows have emitted a stop id: when all have,
//              the loop ends; when a quarter of the batch has, those rows leave the batch and
//              the cache (compaction) and the step graph is recorded again for the smaller batch
//
// The recorded log-probability is the full-vocabulary temperature-scaled one the learner uses as
// pi_old (GSPO.md), whatever top-k / top-p truncation decided to draw from. Each row draws with
// its own seed (sampling.h), so a row's tokens do not depend on the rest of the batch.
// Shape legend: P prompts, G samples per prompt, B = P x G rows.
// Borrows the model; one Generate call at a time per engine (not thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/kv_cache.h"
#include "worker/engine/sampler/sampling.h"

namespace gspo::engine {

enum class FinishReason { kStop, kLength };

struct RolloutRequest {
  std::vector<std::vector<std::int64_t>> prompts;  // token ids, each non-empty
  std::int64_t samples_per_prompt = 1;             // G
  std::int64_t max_new_tokens = 16;
  SamplingParams sampling;
  std::vector<std::int64_t> stop_ids;  // the sampled stop id is kept in the output
  // Row r = (prompt r / G, sample r % G) draws with RowSeed(seed, prompt, sample), unless
  // row_seeds (P x G entries) names each row's seed.
  std::uint64_t seed = 0;
  std::vector<std::uint64_t> row_seeds;
  bool use_adapters = true;
};

struct Generation {
  std::int64_t prompt_index = 0;
  std::vector<std::int64_t> tokens;  // sampled ids, ending with the stop id when kStop
  std::vector<float> logprobs;       // one per token
  FinishReason finish = FinishReason::kLength;
};

struct RolloutTimings {
  double prefill_seconds = 0;
  std::int64_t prefill_tokens = 0;  // tokens prefilled (each prompt once, whatever G)
  double decode_seconds = 0;
  std::int64_t decode_steps = 0;   // model steps after the prefill
  std::int64_t graph_captures = 0;  // CUDA graphs recorded (one per batch size)
  std::int64_t row_steps = 0;      // sum over steps of the rows computed (compaction lowers it)
  std::int64_t kv_cache_bytes = 0;  // the largest KV cache of the calls (all P x G rows)
};

// A multi-turn rollout that keeps every row's KV cache between turns: Start generates the first
// turn as RolloutEngine::Generate does (finished rows leaving the batch keep their caches);
// Continue generates the next turn for the rows that go on, prefilling only what was appended
// to each conversation since (the row's last sampled token, the end of the assistant turn, the
// user's reply, the next assistant header), never the earlier context again. While a sliding-
// window layer's cache would wrap around, it prefills whole conversations instead (rows that
// stopped early leave foreign tokens behind until they leave the batch, which a ring cannot
// mark; full-length layers mark them empty).
// Borrows the model; not thread-safe.
class RolloutSession {
 public:
  explicit RolloutSession(const DecoderModel* model, bool keep_caches = true)
      : model_(model), keep_caches_(keep_caches) {}

  // The first turn: P x G rows as RolloutEngine::Generate.
  common::StatusOr<std::vector<Generation>> Start(const RolloutRequest& request, RolloutTimings* timings = nullptr);

  // The next turn of rows `rows` (increasing indices into the previous turn's generations);
  // conversations[i] is row rows[i]'s whole token sequence so far, which must begin with that
  // row's context and sampled tokens. Uses the request's sampling, stop ids, max_new_tokens,
  // use_adapters and seeds (row_seeds: one per continuing row; else RowSeed(seed, i, 0)); its
  // prompts are ignored. Generation i belongs to rows[i]; afterwards the session's rows are these.
  common::StatusOr<std::vector<Generation>> Continue(const std::vector<std::int64_t>& rows,
                                                     const std::vector<std::vector<std::int64_t>>& conversations,
                                                     const RolloutRequest& request,
                                                     RolloutTimings* timings = nullptr);

 private:
  void Remember(std::optional<KvCache> cache, std::int64_t column, const std::vector<Generation>& generations,
                std::vector<std::vector<std::int64_t>> contexts);

  const DecoderModel* model_;
  bool keep_caches_;
  std::optional<KvCache> cache_;                 // every row of the last turn, in row order
  std::int64_t column_ = 0;                      // the next free cache column
  std::vector<std::vector<std::int64_t>> seen_;  // per row: its context and sampled tokens
  std::vector<std::int64_t> fed_;                // per row: how many of those the cache holds
};

class RolloutEngine {
 public:
  explicit RolloutEngine(const DecoderModel* model) : model_(model) {}

  // P x G generations, prompt-major (all samples of prompt 0 first).
  common::StatusOr<std::vector<Generation>> Generate(const RolloutRequest& request,
                                                     RolloutTimings* timings = nullptr) const;

 private:
  const DecoderModel* model_;
};

}  // namespace gspo::engine
