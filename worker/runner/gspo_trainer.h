// GspoTrainer: the training loop behind `gspo train` (and, later, each worker rank).
//
//   for step in [resume step, num_outer_iterations):
//     EpisodeCollector (episode_collector.h): this rank's groups, G samples each, rewards
//     ─▶ TrainBatch (ids, assistant mask, sampled log-probs)
//     PolicyLearner::Learn ─▶ metrics.jsonl ─▶ checkpoint every save_steps
//   final/adapter (PEFT) and final/merged
//
// With a communicator of several ranks (colocated data parallelism) each rank runs the loop on
// its share of every step's groups (group_shard.h); the groups' seeds come from their step-wide
// index, so a group's episodes do not depend on the rank that runs it. The learner sums the
// ranks' gradients; the metrics are combined, and rank 0 alone writes metrics, samples,
// checkpoints and exports.
// resources.mode: disaggregated runs in DisaggregatedTrainer (disaggregated_trainer.h) instead.
// Borrows the model, tokenizer, chat format, episode source and communicator. Not thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "worker/engine/dist/communicator.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/runner/episode_source.h"
#include "worker/runner/metrics_writer.h"
#include "worker/runner/train_options.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::runner {

class GspoTrainer {
 public:
  GspoTrainer(TrainOptions options, engine::DecoderModel* model,
              const tokenizer::Tokenizer* tokenizer, const tokenizer::ChatFormat* format,
              EpisodeSource* episodes, engine::Communicator* communicator = nullptr)
      : options_(std::move(options)), model_(model), tokenizer_(tokenizer), format_(format),
        episodes_(episodes), communicator_(communicator) {}

  // Trains to options.steps, resuming first when asked; `progress` draws a progress line on a
  // terminal. A failed step leaves the last checkpoint as it was.
  common::Status Run(bool progress);

 private:
  TrainOptions options_;
  engine::DecoderModel* model_;
  const tokenizer::Tokenizer* tokenizer_;
  const tokenizer::ChatFormat* format_;
  EpisodeSource* episodes_;
  engine::Communicator* communicator_;      // null: one rank
  std::vector<std::int64_t> global_groups_;  // step-wide index of each group this rank runs
};

}  // namespace gspo::runner
