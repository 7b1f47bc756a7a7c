#include "worker/engine/train/adamw.h"

#include <c10/core/GradMode.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <algorithm>
#include <cmath>

namespace gspo::engine {

namespace {

// The update of one parameter from its gradient and moments, wherever the moments are: the
// offloaded and the resident path share it, so that they give the same bits.
void Update(at::Tensor& p, const at::Tensor& g, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
            const AdamWConfig& c, double lr, double bias1, double bias2) {
  p.mul_(1 - lr * c.weight_decay);
  exp_avg.mul_(c.beta1).add_(g, 1 - c.beta1);
  exp_avg_sq.mul_(c.beta2).addcmul_(g, g, 1 - c.beta2);
  at::Tensor denom = (exp_avg_sq.sqrt() / std::sqrt(bias2)).add_(c.eps);
  p.addcdiv_(exp_avg, denom, -lr / bias1);
}

c10::Stream CurrentStream(const at::Device& device) {
  return c10::impl::VirtualGuardImpl(device.type()).getStream(device);
}

}  // namespace

AdamW::AdamW(std::vector<at::Tensor> params, AdamWConfig config)
    : params_(std::move(params)), config_(config) {
  struct Key {
    at::Device device;
    at::ScalarType dtype;
    std::int64_t max_numel;
  };
  std::vector<Key> keys;
  for (const at::Tensor& p : params_) {
    if (!config_.offload_state || p.device().is_cpu()) {
      exp_avg_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
      exp_avg_sq_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
      scratch_of_.push_back(-1);
      continue;
    }
    // Pinned, so that the copies are asynchronous DMA transfers.
    const auto host = at::TensorOptions().dtype(p.scalar_type()).pinned_memory(p.is_cuda());
    exp_avg_.push_back(at::zeros(p.sizes(), host));
    exp_avg_sq_.push_back(at::zeros(p.sizes(), host));
    int k = 0;
    while (k < static_cast<int>(keys.size()) &&
           (keys[k].device != p.device() || keys[k].dtype != p.scalar_type())) {
      ++k;
    }
    if (k == static_cast<int>(keys.size())) keys.push_back({p.device(), p.scalar_type(), 0});
    keys[k].max_numel = std::max(keys[k].max_numel, p.numel());
    scratch_of_.push_back(k);
  }
  for (const Key& key : keys) {
    const auto device = at::TensorOptions().device(key.device).dtype(key.dtype);
    scratch_.push_back({at::empty({key.max_numel}, device), at::empty({key.max_numel}, device)});
  }
}

void AdamW::Step(double lr) {
  c10::NoGradGuard no_grad;
  // Copies queued on another stream than this Step's are not ordered before it; those on the
  // same stream are, and stay pending for State() (this Step may copy nothing back).
  for (const c10::Stream& stream : pending_copies_) {
    if (CurrentStream(stream.device()) != stream) {
      WaitForCopies();
      break;
    }
  }
  ++steps_;
  const double bias1 = 1 - std::pow(config_.beta1, static_cast<double>(steps_));
  const double bias2 = 1 - std::pow(config_.beta2, static_cast<double>(steps_));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor p = params_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (scratch_of_[i] < 0) {
      Update(p, g, exp_avg_[i], exp_avg_sq_[i], config_, lr, bias1, bias2);
      continue;
    }
    // Host -> scratch, update, scratch -> host, in stream order: the next parameter's copy into
    // the scratch waits for this one's copy out, and no host thread waits at all.
    const Scratch& scratch = scratch_[scratch_of_[i]];
    at::Tensor exp_avg = scratch.exp_avg.narrow(0, 0, p.numel()).view(p.sizes());
    at::Tensor exp_avg_sq = scratch.exp_avg_sq.narrow(0, 0, p.numel()).view(p.sizes());
    exp_avg.copy_(exp_avg_[i], /*non_blocking=*/true);
    exp_avg_sq.copy_(exp_avg_sq_[i], /*non_blocking=*/true);
    Update(p, g, exp_avg, exp_avg_sq, config_, lr, bias1, bias2);
    exp_avg_[i].copy_(exp_avg, /*non_blocking=*/true);
    exp_avg_sq_[i].copy_(exp_avg_sq, /*non_blocking=*/true);
    const c10::Stream stream = CurrentStream(p.device());
    const auto& pending = pending_copies_;
    if (std::find(pending.begin(), pending.end(), stream) == pending.end()) {
      pending_copies_.push_back(stream);
    }
  }
}

void AdamW::WaitForCopies() const {
  for (const c10::Stream& stream : pending_copies_) stream.synchronize();
  pending_copies_.clear();
}

void AdamW::ZeroGrad() {
  for (at::Tensor& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

std::map<std::string, at::Tensor> AdamW::State() const {
  WaitForCopies();
  std::map<std::string, at::Tensor> state;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    state["exp_avg." + std::to_string(i)] = exp_avg_[i];
    state["exp_avg_sq." + std::to_string(i)] = exp_avg_sq_[i];
  }
  state["step"] = at::scalar_tensor(steps_, at::kLong);
  return state;
}

void AdamW::LoadState(const std::map<std::string, at::Tensor>& state) {
  c10::NoGradGuard no_grad;
  WaitForCopies();  // a pending copy back would overwrite what is loaded
  const auto load = [&](at::Tensor& into, const std::string& name) {
    const at::Tensor& from = state.at(name);
    TORCH_CHECK(from.sizes() == into.sizes(), name, ": shape ", from.sizes(), ", expected ",
                into.sizes());
    into.copy_(from);
  };
  for (std::size_t i = 0; i < params_.size(); ++i) {
    load(exp_avg_[i], "exp_avg." + std::to_string(i));
    load(exp_avg_sq_[i], "exp_avg_sq." + std::to_string(i));
  }
  steps_ = state.at("step").item<std::int64_t>();
}

at::Tensor ClipGradNormOnDevice(const std::vector<at::Tensor>& params, double max_norm) {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> grads, norms;
  for (const at::Tensor& p : params) {
    if (!p.grad().defined()) continue;
    grads.push_back(p.grad());
    norms.push_back(at::linalg_vector_norm(p.grad(), 2, c10::nullopt, false, at::kDouble));
    if (norms.back().device() != norms.front().device()) norms.back() = norms.back().to(norms.front().device());
  }
  if (grads.empty()) return {};
  const at::Tensor total = at::stack(norms).pow(2).sum().sqrt();
  if (max_norm > 0) {
    const at::Tensor factor = at::where(total > max_norm, max_norm / (total + 1e-6), at::ones_like(total));
    for (at::Tensor& g : grads) g.mul_(factor.device() == g.device() ? factor : factor.to(g.device()));
  }
  return total;
}

double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm) {
  const at::Tensor norm = ClipGradNormOnDevice(params, max_norm);
  return norm.defined() ? norm.item<double>() : 0.0;
}

double ScheduledLearningRate(const std::string& schedule, double base_lr, std::int64_t step,
                             std::int64_t warmup, std::int64_t total) {
  if (step < warmup) return base_lr * static_cast<double>(step) / static_cast<double>(std::max<std::int64_t>(1, warmup));
  if (schedule == "constant") return base_lr;
  const double progress = static_cast<double>(step - warmup) /
                          static_cast<double>(std::max<std::int64_t>(1, total - warmup));
  if (schedule == "linear") return base_lr * std::max(0.0, 1.0 - progress);
  return base_lr * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));  // cosine
}

}  // namespace gspo::engine
