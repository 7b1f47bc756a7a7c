#include "worker/engine/model/lora_linear.h"

#include <torch/csrc/autograd/custom_function.h>


namespace gspo::engine {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// [..., n] as [rows, n] (a view when it can be).
at::Tensor Rows(const at::Tensor& t) { return t.reshape({-1, t.size(-1)}); }

// The frozen base, passed outside the node's differentiable inputs (either may be undefined).
struct FrozenBase {
  at::Tensor weight, bias;
};

struct AdaptedLinearFunction : public torch::autograd::Function<AdaptedLinearFunction> {
  // `in` is x itself unless the adapter has its own input; only defined tensors may be inputs
  // of the node, hence `base` as a plain argument.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& in, const at::Tensor& a,
                            const at::Tensor& b, const FrozenBase& base, double scale) {
    const at::Tensor& weight = base.weight;
    const at::Tensor& bias = base.bias;
    const bool separate_input = !in.is_same(x);
    const at::Tensor x_rows = Rows(x);
    const at::Tensor in_rows = separate_input ? Rows(in) : x_rows;
    const at::Tensor a_cast = a.to(x.scalar_type()), b_cast = b.to(x.scalar_type());
    // Scaled here, on [N, r]: the backward's product for B's gradient then needs no scale pass.
    const at::Tensor down = at::mm(in_rows, a_cast.t()).mul_(scale);  // [N, r]
    // Written through a [N, out] view of the result: the node's output is not itself a view.
    std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
    shape.back() = b.size(0);
    at::Tensor y = at::empty(shape, x.options());
    at::Tensor y_rows = y.view({-1, shape.back()});
    if (weight.defined()) {
      if (bias.defined()) {
        at::addmm_out(y_rows, bias, x_rows, weight.t());
      } else {
        at::mm_out(y_rows, x_rows, weight.t());
      }
      y_rows.addmm_(down, b_cast.t());
    } else {
      at::mm_out(y_rows, down, b_cast.t());
    }
    ctx->save_for_backward({in_rows, down, weight, a_cast, b_cast});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["separate_input"] = separate_input;
    ctx->saved_data["a_dtype"] = static_cast<std::int64_t>(a.scalar_type());
    ctx->saved_data["b_dtype"] = static_cast<std::int64_t>(b.scalar_type());
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& in_rows = saved[0];
    const at::Tensor& down = saved[1];
    const at::Tensor& weight = saved[2];
    const at::Tensor& a_cast = saved[3];
    const at::Tensor& b_cast = saved[4];
    const double scale = ctx->saved_data["scale"].toDouble();
    const bool separate_input = ctx->saved_data["separate_input"].toBool();
    const at::Tensor& dy = grad_outputs[0];
    const at::Tensor dy_rows = Rows(dy);
    // dL/d(down) = dy B, with the forward's scale folded in for A's and the input's gradients.
    const at::Tensor dy_b = at::mm(dy_rows, b_cast).mul_(scale);  // [N, r]
    std::vector<std::int64_t> in_shape(dy.sizes().begin(), dy.sizes().end());
    in_shape.back() = in_rows.size(1);

    at::Tensor dx, din;
    const bool x_needs = ctx->needs_input_grad(0), in_needs = separate_input && ctx->needs_input_grad(1);
    if (weight.defined() && x_needs) {
      dx = at::mm(dy_rows, weight);
      if (!separate_input) dx.addmm_(dy_b, a_cast);
    } else if (!separate_input && x_needs) {
      dx = at::mm(dy_b, a_cast);
    }
    if (in_needs) din = at::mm(dy_b, a_cast).view(in_shape);
    if (dx.defined()) dx = dx.view(in_shape);
    at::Tensor da, db;
    const auto dtype_of = [&](const char* key) { return static_cast<at::ScalarType>(ctx->saved_data[key].toInt()); };
    if (ctx->needs_input_grad(2)) da = at::mm(dy_b.t(), in_rows).to(dtype_of("a_dtype"));  // [r, in]
    if (ctx->needs_input_grad(3)) db = at::mm(dy_rows.t(), down).to(dtype_of("b_dtype"));  // [out, r]
    return {dx, din, da, db, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor AdaptedLinear(const at::Tensor& x, const at::Tensor& in, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& a, const at::Tensor& b, double scale) {
  return AdaptedLinearFunction::apply(x, in.defined() ? in : x, a, b, FrozenBase{weight, bias}, scale);
}

}  // namespace gspo::engine
