// EpisodeCollector: one step's episodes for a list of prompt groups, as the GSPO trainers
// (colocated and disaggregated) run them.
//
//   openings ─▶ prompt ids (EpisodeBuilder)               one per group
//   turn 1: RolloutEngine, G samples per prompt (one prefill per prompt)
//   turns 2..: user replies (EpisodeSource::UserReplies, one batch) ─▶ ids appended ─▶ one
//              more sample per branch still running
//   rewards (EpisodeSession::Score)
//
// The turns run in batches of whole groups, one batch after the other, so that the KV caches fit
// (generation.max_rollout_rows; GroupsPerBatch). A row's draws come from its own seed, so the
// batches change what is computed together, not the seeds.
//
// A group's seeds come from its step-wide index, so its episodes do not depend on the rank (or
// the role) that runs it.
// Borrows the options, model, tokenizer, chat format and episode source. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/sampler/rollout_engine.h"
#include "worker/runner/episode_source.h"
#include "worker/runner/metrics_writer.h"
#include "worker/runner/train_options.h"
#include "worker/tokenizer/chat_episode.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::runner {

// One conversation of a group.
struct Branch {
  std::unique_ptr<tokenizer::EpisodeBuilder> builder;
  std::unique_ptr<EpisodeSession> session;
  std::vector<float> logp;  // per id of builder->ids(); 0 where not sampled
  bool active = true;
  int turns = 0;
};

struct Rollout {
  std::vector<Branch> branches;  // groups x G, group-major
  std::string first_scenario;    // of group 0, for samples.jsonl
  std::vector<EpisodeScore> scores;
  std::int64_t tokens_generated = 0;
  std::int64_t kv_cache_bytes = 0;  // the largest KV cache of the step's turns
  std::int64_t tokens_prefilled = 0;
};

class EpisodeCollector {
 public:
  EpisodeCollector(const TrainOptions* options, engine::DecoderModel* model,
                   const tokenizer::Tokenizer* tokenizer, const tokenizer::ChatFormat* format,
                   EpisodeSource* episodes)
      : options_(*options), model_(model), tokenizer_(tokenizer), format_(format),
        episodes_(episodes) {}

  // The episodes of `global_groups` (step-wide group indices) at `step`, with the current
  // adapters; appends seconds_rollout, seconds_environment, seconds_reward and rollout_batches
  // to `metrics`.
  common::StatusOr<Rollout> Collect(std::int64_t step, const std::vector<std::int64_t>& global_groups,
                                    StepMetrics* metrics);

  // Groups per rollout batch (at least 1): generation.max_rollout_rows / G, or with 0 as many
  // as half the GPU's free memory holds KV caches for (each row with room for a whole prompt
  // and completion); all `groups` on the CPU.
  std::int64_t GroupsPerBatch(std::int64_t groups) const;

 private:
  // Every turn of rows [begin, end) of the rollout (whole groups) in one rollout session;
  // `request` holds their prompts and first seeds.
  common::Status RunTurns(std::int64_t step, const std::vector<std::int64_t>& global_groups,
                          const std::vector<std::int64_t>& max_turns, std::int64_t begin, std::int64_t end,
                          engine::RolloutRequest request, Rollout* rollout, double* seconds_rollout,
                          double* seconds_env);

  const TrainOptions& options_;
  engine::DecoderModel* model_;
  const tokenizer::Tokenizer* tokenizer_;
  const tokenizer::ChatFormat* format_;
  EpisodeSource* episodes_;
};

}  // namespace gspo::runner
