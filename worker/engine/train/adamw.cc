#include "worker/engine/train/adamw.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>

namespace gspo::engine {

AdamW::AdamW(std::vector<at::Tensor> params, AdamWConfig config)
    : params_(std::move(params)), config_(config) {
  for (const at::Tensor& p : params_) {
    exp_avg_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
    exp_avg_sq_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
  }
}

void AdamW::Step(double lr) {
  c10::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1 - std::pow(config_.beta1, static_cast<double>(steps_));
  const double bias2 = 1 - std::pow(config_.beta2, static_cast<double>(steps_));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor p = params_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    p.mul_(1 - lr * config_.weight_decay);
    exp_avg_[i].mul_(config_.beta1).add_(g, 1 - config_.beta1);
    exp_avg_sq_[i].mul_(config_.beta2).addcmul_(g, g, 1 - config_.beta2);
    at::Tensor denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bias2)).add_(config_.eps);
    p.addcdiv_(exp_avg_[i], denom, -lr / bias1);
  }
}

void AdamW::ZeroGrad() {
  for (at::Tensor& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

std::map<std::string, at::Tensor> AdamW::State() const {
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
  for (std::size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(state.at("exp_avg." + std::to_string(i)));
    exp_avg_sq_[i].copy_(state.at("exp_avg_sq." + std::to_string(i)));
  }
  steps_ = state.at("step").item<std::int64_t>();
}

double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm) {
  c10::NoGradGuard no_grad;
  double total_sq = 0;
  for (const at::Tensor& p : params) {
    if (p.grad().defined()) total_sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  }
  const double norm = std::sqrt(total_sq);
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const at::Tensor& p : params) {
      if (p.grad().defined()) p.grad().mul_(scale);
    }
  }
  return norm;
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
