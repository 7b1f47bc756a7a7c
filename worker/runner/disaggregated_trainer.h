// DisaggregatedTrainer: the training loop of resources.mode: disaggregated. World ranks
// [0, R) only generate (rollout ranks); ranks [R, W) only learn (learner ranks, data-parallel
// among themselves as in colocated mode); rank R is the lead learner, which writes.
//
//   rollout rank r                            learner ranks (lead: rank R)
//   ──────────────                            ────────────────────────────
//   policy v0 ◀──────────── sync ──────────── lead: adapters after resuming (version v0)
//   for step k:
//     wait for policy >= k - max_staleness
//     episodes of its P/R groups (version v)
//     packet ───────────── world ───────────▶ packets of step k (every rollout rank's)
//                                             learn from this learner's share (GroupShard over
//                                               the learner ranks; gradients summed over them)
//                                             receive packets up to step k + max_staleness
//   policy k+1 ◀─────────── sync ──────────── lead: adapters after step k (float32)
//                                             lead: metrics.jsonl, samples, checkpoints
//
// With max_staleness 1 the rollout ranks generate step k+1 with policy k while the learners learn
// step k (each sample at most one version old: GSPO's ratio corrects against the recorded
// pi_old). With 0 they wait for policy k: no overlap, and the run equals a colocated one on the
// same groups and seeds. The order of the blocking calls is the same on both sides (a learner
// receives step k+S before it sends policy k+1), so neither waits on the other in a cycle.
//
// Communicators (borrowed): `world` (every rank; the trajectories), `learners` (learner ranks
// only; gradients and learn metrics), `sync` (the rollout ranks and the lead learner, numbered as
// their world ranks, so the lead learner is sync rank R; the weights).
// Borrows the model, tokenizer, chat format and episode source. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/status.h"
#include "worker/engine/dist/communicator.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/runner/episode_source.h"
#include "worker/runner/train_options.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::runner {

struct DisaggregatedRanks {
  engine::Communicator* world = nullptr;     // every rank
  engine::Communicator* learners = nullptr;  // learner ranks; null on rollout ranks
  engine::Communicator* sync = nullptr;      // rollout ranks + lead learner; null elsewhere
  int rollout_ranks = 1;
};

class DisaggregatedTrainer {
 public:
  DisaggregatedTrainer(TrainOptions options, engine::DecoderModel* model,
                       const tokenizer::Tokenizer* tokenizer, const tokenizer::ChatFormat* format,
                       EpisodeSource* episodes, DisaggregatedRanks ranks)
      : options_(std::move(options)), model_(model), tokenizer_(tokenizer), format_(format),
        episodes_(episodes), ranks_(ranks) {}

  // Runs this rank's role to options.steps. kInvalidArgument for communicators that do not fit
  // the role of this rank.
  common::Status Run(bool progress);

 private:
  common::Status RunRollout();              // disaggregated_rollout.cc
  common::Status RunLearner(bool progress);  // disaggregated_learner.cc

  TrainOptions options_;
  engine::DecoderModel* model_;
  const tokenizer::Tokenizer* tokenizer_;
  const tokenizer::ChatFormat* format_;
  EpisodeSource* episodes_;
  DisaggregatedRanks ranks_;
};

// The communicators of one rank of a disaggregated job (one store, three groups): Gloo for CPU
// ranks, NCCL for GPU ranks. `join` creates the world and the given subgroups
// (engine::CreateGlooCommunicators or engine::CreateNcclCommunicators with this rank's options).
struct DisaggregatedGroups {
  std::unique_ptr<engine::Communicator> world, learners, sync;
  int rollout_ranks = 1;
  DisaggregatedRanks Ranks() const { return {world.get(), learners.get(), sync.get(), rollout_ranks}; }
};
using JoinGroups = std::function<common::StatusOr<engine::CommunicatorGroups>(const std::vector<engine::Subgroup>&)>;
common::StatusOr<DisaggregatedGroups> JoinDisaggregated(int world_size, int rollout_ranks, const JoinGroups& join);

// kInvalidArgument (exit code 2) unless a disaggregated job of `world_size` ranks can run: at
// least 2 ranks started together (gspo train --nproc N), and prompts_per_step split into
// minibatches of whole groups shared evenly by the learner ranks.
common::Status CheckDisaggregatedRanks(const TrainOptions& options, int world_size);

// The policy hand-over: `root`'s adapters (float32, one flat buffer ending with the version)
// onto every rank of `sync`; returns the version received (root: its own).
common::StatusOr<std::int64_t> SyncPolicy(engine::Communicator& sync, int root,
                                          engine::LoraAdapters& adapters, std::int64_t version);

}  // namespace gspo::runner
