// PolicyLearner: one GSPO learning phase over a rollout batch.
//
//   rewards ─▶ group advantages
//   for epoch in num_iterations:
//     for minibatch in minibatches:               (one optimizer update each)
//       for micro-batch of per_device_train_batch_size sequences:
//         forward (LoRA on) ─▶ token log-probs of assistant tokens ─▶ GSPO loss ─▶ backward
//       clip gradients ─▶ AdamW step
//
// Only the first minibatch of the first epoch is on-policy; later updates see a moved policy,
// which is where the clip acts (GSPO.md). pi_old is the sampler's recorded log-probs unless
// recompute_old_logprobs asks for a forward pass before learning.
//
// Data parallelism: with a communicator of W ranks, each rank holds its share of the step's
// groups (runner/group_shard.h), weights each sequence's loss by 1 / (W x its minibatch size),
// and the ranks sum their gradients (float32) before clipping, so every rank takes the optimizer
// step one rank would take on all the groups. Metrics are combined over the ranks.
// Borrows the model, adapters, optimizer and communicator; not thread-safe.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>

#include "common/status.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/dist/communicator.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/gspo_loss.h"

namespace gspo::engine {

// A rollout batch: N = groups x group_size sequences, right-padded to T.
struct TrainBatch {
  at::Tensor ids;             // [N,T] int64
  at::Tensor valid;           // [N,T] bool: real tokens
  at::Tensor assistant_mask;  // [N,T] bool: tokens the policy sampled (trained)
  at::Tensor old_logp;        // [N,T] float32: sampler log-probs (0 where not sampled)
  at::Tensor rewards;         // [N] float32
  std::int64_t group_size = 1;
};

struct LearnerConfig {
  GspoLossConfig loss;
  std::int64_t num_iterations = 1;
  std::int64_t minibatches = 1;
  std::int64_t micro_batch = 1;
  double max_grad_norm = 1.0;
  double temperature = 1.0;
  bool recompute_old_logprobs = false;
  bool gradient_checkpointing = false;  // recompute each layer in backward (layer_checkpoint.h)
  // Run each group's shared prompt once per micro-batch (prompt_sharing.h), packed with the
  // rows' completions into one pass; false (or GSPO_PROMPT_SHARING=0): every row in full.
  bool share_prompts = true;
};

struct LearnMetrics {
  double loss = 0;
  double clip_fraction = 0, clip_fraction_low = 0, clip_fraction_high = 0;
  double ratio_mean = 0, ratio_min = 0, ratio_max = 0;
  double kl = 0;             // k3 estimate to the adapters-off reference, when beta > 0
  double entropy = 0;        // mean over trained tokens (first epoch)
  double grad_norm = 0;      // mean over updates, before clipping
  double advantage_std = 0;
  std::int64_t zero_advantage_groups = 0;
  double logprob_mismatch = 0;  // mean |sampler - learner| on the first (on-policy) minibatch
  std::int64_t tokens_trained = 0;
  std::int64_t updates = 0;
};

class PolicyLearner {
 public:
  // `communicator` null: one rank.
  PolicyLearner(DecoderModel* model, LoraAdapters* adapters, AdamW* optimizer,
                LearnerConfig config, Communicator* communicator = nullptr);

  // Learns from `batch`; `lr_for_update(k)` gives the learning rate of the k-th update of this
  // phase (the caller owns the schedule). Leaves the adapters updated.
  common::StatusOr<LearnMetrics> Learn(const TrainBatch& batch,
                                       const std::function<double(std::int64_t)>& lr_for_update);

 private:
  DecoderModel* model_;
  LoraAdapters* adapters_;
  AdamW* optimizer_;
  LearnerConfig config_;
  Communicator* communicator_;
};

}  // namespace gspo::engine
