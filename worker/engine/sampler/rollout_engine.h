// RolloutEngine: batched generation of G continuations per prompt with a KV cache.
//
//   prompts ─▶ left-padded batch prefill (one per prompt) ─▶ cache rows copied G times
//           ─▶ decode loop: logits ─▶ sample ─▶ record log_softmax(logits / T)[token]
//              rows that emit a stop id or reach max_new_tokens finish; finished rows are
//              dropped from the batch (and the cache) so they stop costing compute
//
// The recorded log-probability is the full-vocabulary temperature-scaled one the learner uses as
// pi_old (GSPO.md), whatever top-k / top-p truncation decided to draw from.
// Shape legend: P prompts, G samples per prompt, B = P x G rows.
// Borrows the model; one Generate call at a time per engine (not thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/sampler/sampling.h"

namespace gspo::engine {

enum class FinishReason { kStop, kLength };

struct RolloutRequest {
  std::vector<std::vector<std::int64_t>> prompts;  // token ids, each non-empty
  std::int64_t samples_per_prompt = 1;             // G
  std::int64_t max_new_tokens = 16;
  SamplingParams sampling;
  std::vector<std::int64_t> stop_ids;  // the sampled stop id is kept in the output
  std::uint64_t seed = 0;
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
  double decode_seconds = 0;
  std::int64_t decode_steps = 0;
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
