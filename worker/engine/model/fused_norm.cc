#include "worker/engine/model/fused_norm.h"

#include <torch/csrc/autograd/custom_function.h>

#include "worker/engine/env_switch.h"
#include "worker/engine/kernels/fused_ops.h"

namespace gspo::engine {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct GemmaRmsNormFunction : public torch::autograd::Function<GemmaRmsNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& scale, double eps) {
    at::Tensor out = at::empty_like(x);
    fused::AddRmsNorm(x, at::Tensor(), at::Tensor(), scale, out, /*scale_then_round=*/true, eps);
    ctx->save_for_backward({x});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["eps"] = eps;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor dy = grad_outputs[0].contiguous();
    at::Tensor dx = at::empty_like(x);
    fused::RmsNormBackward(x, dy, ctx->saved_data["scale"].toTensor(), dx, ctx->saved_data["eps"].toDouble());
    return {dx, at::Tensor(), at::Tensor()};
  }
};

bool FusedNormSwitchedOn() {
  static const bool on = SwitchedOn("GSPO_FUSED_NORM");
  return on;
}

}  // namespace

bool FusedGemmaNormApplies(const at::Tensor& x, const at::Tensor& scale) {
  return FusedNormSwitchedOn() && fused::Available(x) && x.dim() >= 1 && x.is_contiguous() && x.numel() > 0 &&
         scale.defined() && scale.scalar_type() == at::kFloat && scale.is_contiguous() && scale.is_cuda() &&
         scale.numel() == x.size(-1) && !scale.requires_grad();
}

at::Tensor FusedGemmaRmsNorm(const at::Tensor& x, const at::Tensor& scale, double eps) {
  return GemmaRmsNormFunction::apply(x, scale, eps);
}

}  // namespace gspo::engine
