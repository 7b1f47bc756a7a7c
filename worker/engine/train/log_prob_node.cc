#include "worker/engine/train/log_prob_node.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

#include "worker/engine/env_switch.h"
#include "worker/engine/kernels/fused_ops.h"

namespace gspo::engine {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A copy in float32, or float64 for float64 models, that never aliases `t` (to() returns `t`
// itself when nothing changes).
at::Tensor FloatCopy(const at::Tensor& t) {
  return t.to(t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat, /*non_blocking=*/false, /*copy=*/true);
}

// Rows at a time for the entropy (EntropyOfRows).
constexpr std::int64_t kEntropyRows = 128;

// On CUDA (bf16 or float32) the forward's and the backward's passes over the logits run as one
// kernel each (kernels/logprob_kernels.h); GSPO_LOGPROB_KERNEL=0 runs the operators instead (the
// switch that measures what the kernels bring). Read at every call.
bool UseKernels(const at::Tensor& rows) {
  return SwitchedOn("GSPO_LOGPROB_KERNEL") && fused::Available(rows);
}

struct LogProbFunction : public torch::autograd::Function<LogProbFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rows, const at::Tensor& targets,
                               const VocabularyHead& head, double temperature, bool with_entropy) {
    at::Tensor logits = at::mm(rows, head.weight.t());  // [N, V], the model dtype
    ctx->saved_data["weight"] = head.weight;
    ctx->saved_data["softcap"] = head.softcap ? *head.softcap : 0.0;
    ctx->saved_data["temperature"] = temperature;
    if (UseKernels(rows)) {
      const auto floats = rows.options().dtype(at::kFloat);
      at::Tensor logp = at::empty({rows.size(0)}, floats), log_sum_exp = at::empty({rows.size(0)}, floats);
      at::Tensor entropy = at::empty({with_entropy ? rows.size(0) : 0}, floats);
      fused::LogProbForward(logits, targets, head.softcap ? *head.softcap : 0.0, temperature, logp, log_sum_exp,
                            with_entropy ? entropy : at::Tensor());
      ctx->save_for_backward({logits, targets, log_sum_exp});  // logits now hold the kept values
      ctx->saved_data["kernels"] = true;
      ctx->mark_non_differentiable({entropy});
      return {logp, entropy};
    }
    ctx->saved_data["kernels"] = false;
    at::Tensor kept = logits;                           // what backward needs to rebuild the capped logits
    if (head.softcap) {
      kept = logits.div_(*head.softcap).tanh_();  // each step rounded, as tanh(logits / cap) * cap rounds
      logits = kept.mul(*head.softcap);
    }
    at::Tensor scaled = FloatCopy(logits).div_(temperature);
    logits = at::Tensor();
    const at::Tensor log_probs = at::log_softmax(scaled, -1);
    const at::Tensor index = targets.unsqueeze(1);
    at::Tensor logp = log_probs.gather(1, index).squeeze(1);
    // z - log_softmax(z) is the row's log-sum-exp at every column; the target's will do.
    const at::Tensor log_sum_exp = scaled.gather(1, index).squeeze(1) - logp;
    scaled = at::Tensor();
    at::Tensor entropy =
        with_entropy ? EntropyOfRows(log_probs, kEntropyRows) : at::empty({0}, log_probs.options());
    ctx->save_for_backward({kept, targets, log_sum_exp});
    ctx->mark_non_differentiable({entropy});
    return {logp, entropy};
  }

  // d logp / d z = onehot(target) - softmax(z) with z = capped / T, and d capped / d logits =
  // 1 - tanh^2 under the cap: one float32 [N, V] buffer carries them all, then one product.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& kept = saved[0];
    const at::Tensor& targets = saved[1];
    const at::Tensor& log_sum_exp = saved[2];
    const at::Tensor weight = ctx->saved_data["weight"].toTensor();
    const double softcap = ctx->saved_data["softcap"].toDouble();
    const double temperature = ctx->saved_data["temperature"].toDouble();
    if (ctx->saved_data["kernels"].toBool()) {
      at::Tensor grad_logits = at::empty_like(kept);
      fused::LogProbBackward(kept, targets, log_sum_exp, grad_outputs[0].to(at::kFloat).contiguous(), softcap,
                             temperature, grad_logits);
      return {at::mm(grad_logits, weight), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
    const at::Tensor g = grad_outputs[0].unsqueeze(1);  // [N, 1] float32
    at::Tensor grad = FloatCopy(softcap > 0 ? kept.mul(softcap) : kept);
    grad.div_(temperature).sub_(log_sum_exp.unsqueeze(1)).exp_();  // softmax(z)
    grad.mul_(-g).scatter_add_(1, targets.unsqueeze(1), g).div_(temperature);
    if (softcap > 0) {
      at::Tensor slope = FloatCopy(kept);
      grad.mul_(slope.mul_(slope).neg_().add_(1));
    }
    return {at::mm(grad.to(weight.scalar_type()), weight), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor EntropyOfRows(const at::Tensor& log_probs, std::int64_t rows_at_a_time) {
  c10::NoGradGuard no_grad;
  const std::int64_t rows = log_probs.size(0);
  at::Tensor entropy = at::empty({rows}, log_probs.options());
  for (std::int64_t start = 0; start < rows; start += rows_at_a_time) {
    const at::Tensor part = log_probs.narrow(0, start, std::min(rows_at_a_time, rows - start));
    entropy.narrow(0, start, part.size(0)).copy_(-(part.exp() * part).sum(-1));
  }
  return entropy;
}

HeadLogProbs LogProbNode(const at::Tensor& rows, const at::Tensor& targets, const VocabularyHead& head,
                         double temperature, bool with_entropy) {
  const variable_list both = LogProbFunction::apply(rows, targets, head, temperature, with_entropy);
  return {both[0], both[1]};
}

}  // namespace gspo::engine
