#include "worker/engine/model/mlp_node.h"

#include <torch/csrc/autograd/custom_function.h>

#include <vector>

#include "worker/engine/env_switch.h"
#include "worker/engine/kernels/fused_ops.h"

namespace gspo::engine {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// d act(gate) / d gate applied to `grad`.
at::Tensor ActivationBackward(const at::Tensor& grad, const at::Tensor& gate, Activation activation) {
  switch (activation) {
    case Activation::kGeluTanh: return at::gelu_backward(grad, gate, "tanh");
    case Activation::kGelu: return at::gelu_backward(grad, gate);
    case Activation::kSilu: return at::silu_backward(grad, gate);
  }
  return {};
}

// On CUDA the activation and its backward each run as one kernel over [gate, up]
// (fused::GatedActivation, fused::GatedActivationBackward) instead of three to five strided
// passes; GSPO_MLP_KERNEL=0 runs the operators (the switch that measures what they bring).
bool UseKernels(const at::Tensor& like) { return SwitchedOn("GSPO_MLP_KERNEL") && fused::Available(like); }

struct FrozenMlp {
  at::Tensor gate_up_weight, down_weight;
  Activation activation;
};

struct GatedMlpFunction : public torch::autograd::Function<GatedMlpFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const FrozenMlp& mlp) {
    const std::int64_t features = mlp.down_weight.size(1);
    const at::Tensor gate_up = at::mm(x.reshape({-1, x.size(-1)}), mlp.gate_up_weight.t());  // [N, 2F]
    at::Tensor h;
    if (UseKernels(gate_up)) {
      h = at::empty({gate_up.size(0), features}, gate_up.options());
      fused::GatedActivation(gate_up, mlp.activation, h);
    } else {
      h = ApplyActivation(gate_up.narrow(1, 0, features), mlp.activation).mul_(gate_up.narrow(1, features, features));
    }
    const at::Tensor y = at::mm(h, mlp.down_weight.t());
    ctx->save_for_backward({gate_up});
    ctx->saved_data["gate_up_weight"] = mlp.gate_up_weight;
    ctx->saved_data["down_weight"] = mlp.down_weight;
    ctx->saved_data["activation"] = static_cast<std::int64_t>(mlp.activation);
    std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
    shape.back() = y.size(1);
    return y.view(shape);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor gate_up = ctx->get_saved_variables()[0];
    const at::Tensor gate_up_weight = ctx->saved_data["gate_up_weight"].toTensor();
    const at::Tensor down_weight = ctx->saved_data["down_weight"].toTensor();
    const auto activation = static_cast<Activation>(ctx->saved_data["activation"].toInt());
    const std::int64_t features = down_weight.size(1);
    const at::Tensor& dy = grad_outputs[0];
    const at::Tensor dh = at::mm(dy.reshape({-1, dy.size(-1)}), down_weight);  // [N, F]
    at::Tensor dgate_up = at::empty_like(gate_up);
    if (UseKernels(gate_up)) {
      fused::GatedActivationBackward(gate_up, dh, activation, dgate_up);
    } else {
      const at::Tensor gate = gate_up.narrow(1, 0, features), up = gate_up.narrow(1, features, features);
      at::Tensor dup = dgate_up.narrow(1, features, features);
      at::mul_out(dup, dh, ApplyActivation(gate, activation));
      dgate_up.narrow(1, 0, features).copy_(ActivationBackward(dh * up, gate, activation));
    }
    std::vector<std::int64_t> shape(dy.sizes().begin(), dy.sizes().end());
    shape.back() = gate_up_weight.size(1);
    return {at::mm(dgate_up, gate_up_weight).view(shape), at::Tensor()};
  }
};

}  // namespace

at::Tensor ApplyActivation(const at::Tensor& gate, Activation activation) {
  switch (activation) {
    case Activation::kGeluTanh: return at::gelu(gate, "tanh");
    case Activation::kGelu: return at::gelu(gate);
    case Activation::kSilu: return at::silu(gate);
  }
  return {};
}

at::Tensor GatedMlpNode(const at::Tensor& x, const at::Tensor& gate_up_weight, const at::Tensor& down_weight,
                        Activation activation) {
  return GatedMlpFunction::apply(x, FrozenMlp{gate_up_weight, down_weight, activation});
}

}  // namespace gspo::engine
