// AdamW over the LoRA parameters (decoupled weight decay, bias-corrected moments), with the
// update rule of torch.optim.AdamW, gradient-norm clipping, and the learning-rate schedules of
// Hugging Face's get_*_schedule_with_warmup.
//
// Moment buffers (exp_avg, exp_avg_sq; each the parameter's shape and dtype) live on the
// parameter's device, or with `offload_state` in pinned host memory: Step then copies each
// parameter's moments into a device scratch pair sized for the largest parameter, applies the
// same ops in the same order, and copies them back, all on the current stream (no host wait).
// The results are bit-identical; the device keeps 2 x the largest parameter instead of
// 2 x all of them, at the cost of 16 bytes per float32 parameter over the bus per update. For
// parameters on the CPU the option is a no-op: their state is already in host memory.
//
// Owns its moment buffers; not thread-safe.
#pragma once

#include <ATen/ATen.h>
#include <c10/core/Stream.h>

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
  bool offload_state = false;  // moments in pinned host memory (accelerator parameters only)
};

class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, AdamWConfig config);

  // One update with learning rate `lr` from the parameters' .grad(); parameters without a
  // gradient are left alone.
  void Step(double lr);
  void ZeroGrad();
  std::int64_t steps() const { return steps_; }

  // Moment buffers and the step count, for checkpoints. The tensors alias the live buffers
  // (on the host when offloaded, after waiting for the last Step's copies): read them before
  // the next Step. LoadState copies into the buffers wherever they live.
  std::map<std::string, at::Tensor> State() const;
  void LoadState(const std::map<std::string, at::Tensor>& state);

  // Whether parameter i's moments live in host memory while the parameter does not.
  bool offloaded(std::size_t i) const { return scratch_of_[i] >= 0; }

 private:
  // Blocks until the device-to-host copies of the last Step have landed.
  void WaitForCopies() const;

  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  // Offload only: flat device buffers for the moments of one parameter at a time, one pair per
  // (device, dtype) among the offloaded parameters, each as long as the largest of them.
  struct Scratch {
    at::Tensor exp_avg, exp_avg_sq;
  };
  std::vector<Scratch> scratch_;
  std::vector<int> scratch_of_;  // per parameter: its index in scratch_, -1 when not offloaded
  // The streams the last Step's copies back to the host were queued on.
  mutable std::vector<c10::Stream> pending_copies_;
  AdamWConfig config_;
  std::int64_t steps_ = 0;
};

// Scales the gradients so that their global L2 norm is at most `max_norm` (no-op when
// max_norm <= 0); returns the norm before clipping as a 0-dim float64 tensor on the gradients'
// device (undefined when none has a gradient). Each gradient's norm is taken in float64; the
// clip factor is applied on the device, so the host never waits (it queues the optimizer's
// update behind the backward pass instead of waiting for the backward pass to finish).
at::Tensor ClipGradNormOnDevice(const std::vector<at::Tensor>& params, double max_norm);
// The same, with the norm read on the host (one wait; 0 when no parameter has a gradient).
double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm);

// Learning rate at optimizer step `step` (0-based) of `total`: linear warmup from 0 over
// `warmup` steps, then constant, linear decay to 0, or half a cosine to 0.
double ScheduledLearningRate(const std::string& schedule, double base_lr, std::int64_t step,
                             std::int64_t warmup, std::int64_t total);

}  // namespace gspo::engine
