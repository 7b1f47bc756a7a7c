#include "worker/engine/train/policy_learner.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "worker/engine/env_switch.h"
#include "worker/engine/train/prompt_sharing.h"
#include "worker/engine/train/token_logprobs.h"

namespace gspo::engine {
namespace {

// Turns one rank's sums (metrics before their final division) into the sums over all ranks;
// every rank gets the same. Ranks hold equally many sequences, so the advantage std is that of
// the whole step.
common::Status CombineOverRanks(Communicator& communicator, const at::Tensor& advantages,
                                LearnMetrics* m, std::int64_t* loss_terms, double* entropy_sum,
                                double* mismatch_sum, double* mismatch_tokens) {
  const at::Tensor a = advantages.to(at::kDouble);
  const std::vector<double> mine = {
      m->loss, m->clip_fraction, m->clip_fraction_low, m->clip_fraction_high, m->ratio_mean,
      static_cast<double>(*loss_terms), *entropy_sum, static_cast<double>(m->tokens_trained),
      *mismatch_sum, *mismatch_tokens, static_cast<double>(m->zero_advantage_groups),
      a.sum().item<double>(), (a * a).sum().item<double>(), static_cast<double>(a.numel()),
      m->ratio_min, m->ratio_max, m->kl};
  GSPO_ASSIGN_OR_RETURN(std::vector<std::vector<double>> all, communicator.AllGather(mine));
  std::vector<double> sum(mine.size(), 0.0);
  for (const std::vector<double>& rank : all) {
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += rank[i];
  }
  m->loss = sum[0];
  m->clip_fraction = sum[1];
  m->clip_fraction_low = sum[2];
  m->clip_fraction_high = sum[3];
  m->ratio_mean = sum[4];
  *loss_terms = static_cast<std::int64_t>(sum[5]);
  *entropy_sum = sum[6];
  m->tokens_trained = static_cast<std::int64_t>(sum[7]);
  *mismatch_sum = sum[8];
  *mismatch_tokens = sum[9];
  m->zero_advantage_groups = static_cast<std::int64_t>(sum[10]);
  m->kl = sum[16];
  const double mean = sum[11] / sum[13];
  m->advantage_std = std::sqrt(std::max(0.0, sum[12] / sum[13] - mean * mean));
  for (const std::vector<double>& rank : all) {
    m->ratio_min = std::min(m->ratio_min, rank[14]);
    m->ratio_max = std::max(m->ratio_max, rank[15]);
  }
  return common::Status::Ok();
}

}  // namespace

PolicyLearner::PolicyLearner(DecoderModel* model, LoraAdapters* adapters, AdamW* optimizer,
                             LearnerConfig config, Communicator* communicator)
    : model_(model), adapters_(adapters), optimizer_(optimizer), config_(config),
      communicator_(communicator) {}

common::StatusOr<LearnMetrics> PolicyLearner::Learn(
    const TrainBatch& batch, const std::function<double(std::int64_t)>& lr_for_update) {
  const std::int64_t n = batch.ids.size(0);
  if (n % config_.minibatches != 0) {
    return common::InvalidArgumentError(std::to_string(n) + " sequences do not split into " +
                                        std::to_string(config_.minibatches) + " minibatches");
  }
  const std::int64_t per_minibatch = n / config_.minibatches;
  const int world = communicator_ == nullptr ? 1 : communicator_->world_size();
  const at::Device device = model_->device();
  at::Tensor ids = batch.ids.to(device);
  at::Tensor valid = batch.valid.to(device);
  at::Tensor mask = batch.assistant_mask.to(device).logical_and(valid);
  // The same on the host: the log-probabilities find their positions there without waiting.
  const at::Tensor host_mask =
      batch.assistant_mask.to(at::kCPU, at::kBool).logical_and(batch.valid.to(at::kCPU, at::kBool));
  at::Tensor old_logp = batch.old_logp.to(device, at::kFloat);

  GroupAdvantages adv = ComputeGroupAdvantages(batch.rewards, batch.group_size);
  at::Tensor advantages = adv.advantages.to(device);
  LearnMetrics metrics;
  metrics.zero_advantage_groups = adv.zero_advantage_groups;
  metrics.advantage_std = adv.advantages.std(/*unbiased=*/false).item<double>();

  // Planned on the host, once per micro-batch: every epoch (and the pi_old pass) sees the same rows.
  std::map<std::pair<std::int64_t, std::int64_t>, SharedPrefix> sharing_plans;  // by (first row, rows)
  // GSPO_PROMPT_SHARING=0 runs every row in full whatever the config says (to measure the sharing).
  const bool share_prompts = config_.share_prompts && SwitchedOn("GSPO_PROMPT_SHARING");
  const at::Tensor host_ids = share_prompts ? batch.ids.to(at::kCPU) : at::Tensor();
  const at::Tensor host_valid = share_prompts ? batch.valid.to(at::kCPU, at::kBool) : at::Tensor();
  // `use_adapters` false: the base model, the reference policy of the KL penalty.
  const auto forward_logp = [&](std::int64_t start, std::int64_t len, bool grad, bool use_adapters = true) {
    c10::AutoGradMode mode(grad);
    ForwardInput input{ids.narrow(0, start, len), {}, valid.narrow(0, start, len), use_adapters, grad};
    input.checkpoint_layers = grad && config_.gradient_checkpointing;
    const at::Tensor micro_mask = host_mask.narrow(0, start, len);
    // Gradient checkpointing also checkpoints the vocabulary projection, in chunks of 128 rows
    // (a [128, V] float32 block is 131 MB at Gemma's 256k vocabulary): memory over speed.
    const std::int64_t chunk_rows = input.checkpoint_layers ? 128 : 512;
    if (share_prompts) {
      auto planned = sharing_plans.find({start, len});
      if (planned == sharing_plans.end()) {
        const SharedPrefix plan = PlanPromptSharing(host_ids.narrow(0, start, len), host_valid.narrow(0, start, len),
                                                    micro_mask, start, batch.group_size);
        planned = sharing_plans.emplace(std::make_pair(start, len), plan).first;
      }
      if (planned->second.prefix > 0) {
        return SharedPromptLogProbs(*model_, input, micro_mask, planned->second, config_.temperature, chunk_rows,
                                    input.checkpoint_layers);
      }
    }
    return ComputeTokenLogProbs(*model_, model_->Hidden(input), input.input_ids, micro_mask, config_.temperature,
                                chunk_rows, input.checkpoint_layers);
  };
  // Log-probs of every row without gradient, micro-batch by micro-batch, into `into` [N,T].
  const auto fill_logp = [&](at::Tensor& into, bool use_adapters) {
    for (std::int64_t start = 0; start < n; start += config_.micro_batch) {
      const std::int64_t len = std::min(config_.micro_batch, n - start);
      into.narrow(0, start, len).copy_(forward_logp(start, len, false, use_adapters).logp);
    }
  };
  if (config_.recompute_old_logprobs) fill_logp(old_logp, /*use_adapters=*/true);
  // The reference policy does not move during the phase: its log-probs are taken once.
  at::Tensor ref_logp;
  if (config_.loss.beta > 0) {
    ref_logp = at::zeros_like(old_logp);
    fill_logp(ref_logp, /*use_adapters=*/false);
  }

  std::vector<at::Tensor> params = adapters_->Parameters();
  double mismatch_sum = 0, mismatch_tokens = 0, entropy_sum = 0;
  std::int64_t loss_terms = 0;
  // Per micro-batch, on the device (float64 [11]): the loss, its six metrics (ComputeGspoLoss's
  // metric_values), then the first epoch's entropy sum, tokens, and (first minibatch) the
  // |logp - old_logp| sum and its tokens, zeros elsewhere. Read once after the phase, with each
  // update's gradient norm: the host never waits on the device mid-phase, and queues work ahead.
  std::vector<at::Tensor> micro_values;
  std::vector<at::Tensor> grad_norms;  // per update, on the device
  const auto doubles = mask.options().dtype(at::kDouble);
  for (std::int64_t epoch = 0; epoch < config_.num_iterations; ++epoch) {
    for (std::int64_t mb = 0; mb < config_.minibatches; ++mb) {
      optimizer_->ZeroGrad();
      for (std::int64_t off = 0; off < per_minibatch; off += config_.micro_batch) {
        const std::int64_t start = mb * per_minibatch + off;
        const std::int64_t len = std::min(config_.micro_batch, per_minibatch - off);
        TokenLogProbs current = forward_logp(start, len, true);
        at::Tensor micro_mask = mask.narrow(0, start, len);
        GspoLossOutput out = ComputeGspoLoss(
            {current.logp, old_logp.narrow(0, start, len),
             ref_logp.defined() ? ref_logp.narrow(0, start, len) : at::Tensor(), micro_mask,
             advantages.narrow(0, start, len)},
            config_.loss, /*read_metrics=*/false);
        // The loss is a mean over the minibatch's sequences, on all ranks together: weight each
        // micro-batch by its share (the ranks' gradients are summed).
        (out.loss * (static_cast<double>(len) / (per_minibatch * world))).backward();
        at::Tensor first_epoch = at::zeros({4}, doubles);
        if (epoch == 0) {
          c10::NoGradGuard no_grad;
          const at::Tensor m = micro_mask.to(at::kFloat);
          const at::Tensor tokens = m.sum();
          at::Tensor parts[4] = {(current.entropy * m).sum(), tokens, at::zeros({}, m.options()),
                                 at::zeros({}, m.options())};
          if (mb == 0) {
            parts[2] = ((current.logp.detach() - old_logp.narrow(0, start, len)).abs() * m).sum();
            parts[3] = tokens;
          }
          first_epoch = at::stack(parts).to(at::kDouble);
        }
        micro_values.push_back(
            at::cat({out.loss.detach().to(at::kDouble).reshape({1}), out.metric_values, first_epoch}));
      }
      if (world > 1) GSPO_RETURN_IF_ERROR(AllReduceGradients(*communicator_, params));
      // Read with the other metrics at the end: the update queues behind the backward pass.
      const at::Tensor norm = ClipGradNormOnDevice(params, config_.max_grad_norm);
      if (norm.defined()) grad_norms.push_back(norm);
      optimizer_->Step(lr_for_update(metrics.updates));
      ++metrics.updates;
    }
  }
  if (!micro_values.empty()) {
    const at::Tensor host = at::stack(micro_values).to(at::kCPU);
    const auto v = host.accessor<double, 2>();
    for (std::int64_t i = 0; i < host.size(0); ++i) {
      metrics.loss += v[i][0];
      metrics.kl += v[i][1];
      metrics.clip_fraction_low += v[i][2];
      metrics.clip_fraction_high += v[i][3];
      metrics.clip_fraction += v[i][2] + v[i][3];
      metrics.ratio_mean += v[i][4];
      metrics.ratio_min = i == 0 ? v[i][5] : std::min(metrics.ratio_min, v[i][5]);
      metrics.ratio_max = std::max(metrics.ratio_max, v[i][6]);
      entropy_sum += v[i][7];
      metrics.tokens_trained += static_cast<std::int64_t>(std::llround(v[i][8]));
      mismatch_sum += v[i][9];
      mismatch_tokens += v[i][10];
    }
    loss_terms = host.size(0);
  }
  if (world > 1) {
    GSPO_RETURN_IF_ERROR(CombineOverRanks(*communicator_, adv.advantages, &metrics, &loss_terms,
                                          &entropy_sum, &mismatch_sum, &mismatch_tokens));
  }
  const double terms = std::max<std::int64_t>(1, loss_terms);
  metrics.loss /= terms;
  metrics.clip_fraction /= terms;
  metrics.clip_fraction_low /= terms;
  metrics.clip_fraction_high /= terms;
  metrics.ratio_mean /= terms;
  metrics.kl /= terms;
  if (!grad_norms.empty()) metrics.grad_norm = at::stack(grad_norms).sum().item<double>();
  metrics.grad_norm /= std::max<std::int64_t>(1, metrics.updates);
  metrics.entropy = entropy_sum / std::max<double>(1, metrics.tokens_trained);
  metrics.logprob_mismatch = mismatch_sum / std::max(1.0, mismatch_tokens);
  return metrics;
}

}  // namespace gspo::engine
