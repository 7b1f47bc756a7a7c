// The GSPO objective (../shared/design/GSPO.md, arXiv 2507.18071): group-normalised advantages,
// the length-normalised sequence importance ratio with an asymmetric clip, the GSPO-token
// variant, and the optional k3 KL penalty to the reference policy.
//
// Shapes: N sequences of T tokens; logp / old_logp / ref_logp / mask [N,T]; advantages [N]
// (sequence level) or [N,T] (GSPO-token with per-token advantages); rewards [N].
// Pure functions; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace gspo::engine {

struct GroupAdvantages {
  at::Tensor advantages;  // [N] float32: (r - mean_group) / (std_group + eps), population std
  std::int64_t zero_advantage_groups = 0;  // groups whose rewards are all equal
};

// `rewards` [N] holds N / group_size consecutive groups.
GroupAdvantages ComputeGroupAdvantages(const at::Tensor& rewards, std::int64_t group_size,
                                       double eps = 1e-6);

struct GspoLossConfig {
  double clip_range_left = 3e-4;   // s is clipped below at 1 - clip_range_left
  double clip_range_right = 4e-4;  // and above at 1 + clip_range_right
  double beta = 0.0;               // weight of the KL penalty
  bool token_level = false;        // GSPO-token
  double log_ratio_clamp = 20.0;   // |log s| bound before exp
};

struct GspoLossInputs {
  at::Tensor logp;        // current policy, requires grad
  at::Tensor old_logp;    // the sampling policy (pi_old), no grad
  at::Tensor ref_logp;    // reference policy, needed when beta > 0
  at::Tensor mask;        // 1 for assistant (trained) tokens
  at::Tensor advantages;  // [N] or [N,T]
};

struct GspoLossMetrics {
  double clip_fraction = 0;       // sequences clipped on the side that matters
  double clip_fraction_low = 0;   // A < 0 and s < 1 - left
  double clip_fraction_high = 0;  // A > 0 and s > 1 + right
  double ratio_mean = 0, ratio_min = 0, ratio_max = 0;
  double kl = 0;
};

struct GspoLossOutput {
  at::Tensor loss;  // scalar: -J (+ beta * KL), averaged over the N sequences
  GspoLossMetrics metrics;  // read from metric_values unless the caller deferred it
  // The metrics on the loss's device, float64 [6]: kl, clip_fraction_low, clip_fraction_high,
  // ratio_mean, ratio_min, ratio_max. A learner keeps these and reads a whole phase's with one
  // synchronisation instead of six per micro-batch, so the host can queue work ahead.
  at::Tensor metric_values;
};

// One device-to-host copy of metric_values.
GspoLossMetrics ReadGspoLossMetrics(const at::Tensor& metric_values);

// read_metrics false leaves `metrics` zero (metric_values is always set) and never waits on the device.
GspoLossOutput ComputeGspoLoss(const GspoLossInputs& inputs, const GspoLossConfig& config, bool read_metrics = true);

}  // namespace gspo::engine
