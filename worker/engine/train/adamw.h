// AdamW over the LoRA parameters (decoupled weight decay, bias-corrected moments), with the
// update rule of torch.optim.AdamW, gradient-norm clipping, and the learning-rate schedules of
// Hugging Face's get_*_schedule_with_warmup.
// Owns its moment buffers; not thread-safe.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gspo::engine {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, AdamWConfig config);

  // One update with learning rate `lr` from the parameters' .grad(); parameters without a
  // gradient are left alone.
  void Step(double lr);
  void ZeroGrad();
  std::int64_t steps() const { return steps_; }

  // Moment buffers and the step count, for checkpoints.
  std::map<std::string, at::Tensor> State() const;
  void LoadState(const std::map<std::string, at::Tensor>& state);

 private:
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  AdamWConfig config_;
  std::int64_t steps_ = 0;
};

// Scales the gradients so that their global L2 norm is at most `max_norm` (no-op when
// max_norm <= 0); returns the norm before clipping.
double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm);

// Learning rate at optimizer step `step` (0-based) of `total`: linear warmup from 0 over
// `warmup` steps, then constant, linear decay to 0, or half a cosine to 0.
double ScheduledLearningRate(const std::string& schedule, double base_lr, std::int64_t step,
                             std::int64_t warmup, std::int64_t total);

}  // namespace gspo::engine
