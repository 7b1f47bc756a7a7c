#include "worker/engine/train/gspo_loss.h"

#include <c10/core/GradMode.h>

namespace gspo::engine {

GroupAdvantages ComputeGroupAdvantages(const at::Tensor& rewards, std::int64_t group_size,
                                       double eps) {
  TORCH_CHECK(rewards.dim() == 1 && group_size > 0 && rewards.size(0) % group_size == 0,
              "rewards must be [N] with N a multiple of the group size");
  at::Tensor r = rewards.to(at::kDouble).view({-1, group_size});  // [groups, G]
  at::Tensor mean = r.mean(1, true);
  at::Tensor std = (r - mean).pow(2).mean(1, true).sqrt();  // population std
  GroupAdvantages out;
  out.advantages = ((r - mean) / (std + eps)).view({-1}).to(at::kFloat);
  out.zero_advantage_groups = (r.amax(1) == r.amin(1)).sum().item<std::int64_t>();
  return out;
}

GspoLossOutput ComputeGspoLoss(const GspoLossInputs& in, const GspoLossConfig& config, bool read_metrics) {
  at::Tensor mask = in.mask.to(in.logp.scalar_type());
  at::Tensor lengths = mask.sum(1).clamp_min(1);  // |y_i|
  at::Tensor delta = (in.logp - in.old_logp) * mask;
  // log s_i: length-normalised, clamped before exp so that a drifted policy cannot overflow.
  at::Tensor log_ratio = (delta.sum(1) / lengths).clamp(-config.log_ratio_clamp, config.log_ratio_clamp);
  at::Tensor ratio = log_ratio.exp();  // [N]
  const double lo = 1 - config.clip_range_left, hi = 1 + config.clip_range_right;

  at::Tensor objective;  // [N]
  if (!config.token_level) {
    at::Tensor adv = in.advantages.to(ratio.scalar_type());
    objective = at::minimum(ratio * adv, ratio.clamp(lo, hi) * adv);
  } else {
    // s_it = sg[s_i] * pi(y_it) / sg[pi(y_it)]: the value of s_i, the gradient of each token.
    at::Tensor token_ratio = ratio.detach().unsqueeze(1) * (in.logp - in.logp.detach()).exp();
    at::Tensor adv = in.advantages.dim() == 1 ? in.advantages.unsqueeze(1) : in.advantages;
    adv = adv.to(token_ratio.scalar_type());
    at::Tensor per_token = at::minimum(token_ratio * adv, token_ratio.clamp(lo, hi) * adv);
    objective = (per_token * mask).sum(1) / lengths;
  }
  at::Tensor loss = -objective.mean();

  GspoLossOutput out;
  at::Tensor kl;
  if (config.beta > 0) {
    // k3 estimator per token, averaged over each sequence's assistant tokens, then sequences.
    at::Tensor d = in.ref_logp - in.logp;
    at::Tensor kl_seq = ((d.exp() - d - 1) * mask).sum(1) / lengths;
    kl = kl_seq.mean();
    loss = loss + config.beta * kl;
  }
  out.loss = loss;

  c10::NoGradGuard no_grad;
  const at::Tensor r = ratio.detach();
  at::Tensor adv_seq = in.advantages.dim() == 1 ? in.advantages : (in.advantages * mask).sum(1);
  at::Tensor high = (adv_seq > 0).logical_and(r > hi);
  at::Tensor low = (adv_seq < 0).logical_and(r < lo);
  const double n = static_cast<double>(r.size(0));
  const auto as_double = [](const at::Tensor& t) { return t.to(at::kDouble); };
  out.metric_values = at::stack({kl.defined() ? as_double(kl.detach()) : at::zeros({}, r.options().dtype(at::kDouble)),
                                 as_double(low.sum()) / n, as_double(high.sum()) / n, as_double(r.mean()),
                                 as_double(r.min()), as_double(r.max())});
  if (read_metrics) out.metrics = ReadGspoLossMetrics(out.metric_values);
  return out;
}

GspoLossMetrics ReadGspoLossMetrics(const at::Tensor& metric_values) {
  const at::Tensor host = metric_values.to(at::kCPU, at::kDouble);
  const double* v = host.data_ptr<double>();
  GspoLossMetrics m;
  m.kl = v[0];
  m.clip_fraction_low = v[1];
  m.clip_fraction_high = v[2];
  m.clip_fraction = v[1] + v[2];
  m.ratio_mean = v[3];
  m.ratio_min = v[4];
  m.ratio_max = v[5];
  return m;
}

}  // namespace gspo::engine
