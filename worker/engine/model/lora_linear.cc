#include "worker/engine/model/lora_linear.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>


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

// The frozen side of a stacked node: the parts' weights stacked row-wise (and their biases),
// each part's output width and adapter scale.
struct StackedBase {
  at::Tensor weight, bias;
  std::vector<std::int64_t> widths;
  std::vector<double> scales;
};

struct StackedAdaptedLinearFunction : public torch::autograd::Function<StackedAdaptedLinearFunction> {
  // adapters: A_0, B_0, A_1, B_1, ... (float32 parameters).
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, at::TensorList adapters,
                               const StackedBase& base) {
    const std::size_t parts = base.widths.size();
    const at::ScalarType dtype = x.scalar_type();
    const at::Tensor x_rows = Rows(x);
    std::vector<at::Tensor> a_parts, b_casts;
    for (std::size_t i = 0; i < parts; ++i) {
      a_parts.push_back(adapters[2 * i]);
      b_casts.push_back(adapters[2 * i + 1].to(dtype));
    }
    const at::Tensor a_cast = at::cat(a_parts).to(dtype);  // [sum r, in]
    // [N, sum r], each part's columns scaled by its scale (one pass when they share one).
    const at::Tensor down = at::mm(x_rows, a_cast.t());
    const bool one_scale = std::all_of(base.scales.begin(), base.scales.end(),
                                       [&](double v) { return v == base.scales.front(); });
    std::int64_t rank_at = 0;
    for (std::size_t i = 0; i < parts; ++i) {
      const std::int64_t rank = a_parts[i].size(0);
      if (!one_scale) down.narrow(1, rank_at, rank).mul_(base.scales[i]);
      rank_at += rank;
    }
    if (one_scale) down.mul_(base.scales.front());
    const at::Tensor y = base.bias.defined() ? at::addmm(base.bias, x_rows, base.weight.t())
                                             : at::mm(x_rows, base.weight.t());  // [N, sum out]
    variable_list outputs;
    std::int64_t out_at = 0;
    rank_at = 0;
    for (std::size_t i = 0; i < parts; ++i) {
      const std::int64_t width = base.widths[i], rank = a_parts[i].size(0);
      at::Tensor part = y.narrow(1, out_at, width);
      part.addmm_(down.narrow(1, rank_at, rank), b_casts[i].t());
      std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
      shape.back() = width;
      outputs.push_back(part.view(shape));  // a column range of y: no copy
      out_at += width;
      rank_at += rank;
    }
    std::vector<at::Tensor> saved = {x_rows, down, a_cast};
    saved.insert(saved.end(), b_casts.begin(), b_casts.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["weight"] = base.weight;
    ctx->saved_data["widths"] = base.widths;
    ctx->saved_data["scales"] = base.scales;
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->saved_data["param_dtype"] = static_cast<std::int64_t>(adapters[0].scalar_type());
    // A part whose output no loss reads gets no gradient for its A and B (not zeros), as with
    // one node per part.
    ctx->set_materialize_grads(false);
    return outputs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x_rows = saved[0], &down = saved[1], &a_cast = saved[2];
    const at::Tensor weight = ctx->saved_data["weight"].toTensor();
    const std::vector<std::int64_t> widths = ctx->saved_data["widths"].toIntVector();
    const std::vector<double> scales = ctx->saved_data["scales"].toDoubleVector();
    const std::size_t parts = widths.size();
    // dL/d(down) = dy_i B_i per part, scaled, side by side: [N, sum r].
    at::Tensor dy_b = at::zeros_like(down);
    at::Tensor dx;
    std::vector<at::Tensor> da_db(2 * parts);
    std::int64_t out_at = 0, rank_at = 0;
    for (std::size_t i = 0; i < parts; ++i) {
      const at::Tensor& b_cast = saved[3 + i];
      const std::int64_t rank = b_cast.size(1);
      const at::Tensor& dy = grad_outputs[i];
      if (dy.defined()) {
        const at::Tensor dy_rows = Rows(dy);
        at::Tensor part = dy_b.narrow(1, rank_at, rank);
        at::mm_out(part, dy_rows, b_cast).mul_(scales[i]);
        const at::Tensor w = weight.narrow(0, out_at, widths[i]);
        if (dx.defined()) {
          dx.addmm_(dy_rows, w);
        } else {
          dx = at::mm(dy_rows, w);
        }
        if (ctx->needs_input_grad(2 + 2 * i)) {
          da_db[2 * i + 1] = at::mm(dy_rows.t(), down.narrow(1, rank_at, rank));  // [out_i, r_i]
        }
      }
      out_at += widths[i];
      rank_at += rank;
    }
    if (!dx.defined()) dx = at::zeros({x_rows.size(0), x_rows.size(1)}, x_rows.options());
    dx.addmm_(dy_b, a_cast);
    const at::Tensor da = at::mm(dy_b.t(), x_rows);  // [sum r, in]
    const auto param_dtype = static_cast<at::ScalarType>(ctx->saved_data["param_dtype"].toInt());
    rank_at = 0;
    variable_list grads = {ctx->needs_input_grad(0) ? dx.view(ctx->saved_data["x_sizes"].toIntVector()) : at::Tensor()};
    for (std::size_t i = 0; i < parts; ++i) {
      const std::int64_t rank = saved[3 + i].size(1);
      const bool reached = grad_outputs[i].defined() && ctx->needs_input_grad(1 + 2 * i);
      grads.push_back(reached ? da.narrow(0, rank_at, rank).to(param_dtype) : at::Tensor());
      grads.push_back(da_db[2 * i + 1].defined() ? da_db[2 * i + 1].to(param_dtype) : at::Tensor());
      rank_at += rank;
    }
    grads.push_back(at::Tensor());
    return grads;
  }
};

}  // namespace

at::Tensor AdaptedLinear(const at::Tensor& x, const at::Tensor& in, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& a, const at::Tensor& b, double scale) {
  return AdaptedLinearFunction::apply(x, in.defined() ? in : x, a, b, FrozenBase{weight, bias}, scale);
}

}  // namespace gspo::engine

namespace gspo::engine {

std::vector<at::Tensor> StackedAdaptedLinear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                             const std::vector<std::int64_t>& widths,
                                             const std::vector<AdapterWeights>& adapters) {
  TORCH_CHECK(!widths.empty() && widths.size() == adapters.size(), "stacked projections: one adapter per part");
  std::int64_t total = 0;
  std::vector<at::Tensor> params;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    const AdapterWeights& adapter = adapters[i];
    TORCH_CHECK(adapter.a.dim() == 2 && adapter.b.dim() == 2 && adapter.b.size(0) == widths[i] &&
                    adapter.b.size(1) == adapter.a.size(0) && adapter.a.size(1) == x.size(-1) &&
                    adapter.a.scalar_type() == adapters[0].a.scalar_type() &&
                    adapter.b.scalar_type() == adapters[0].a.scalar_type(),
                "stacked projections: part ", i, " has A ", adapter.a.sizes(), " and B ", adapter.b.sizes(),
                " for ", widths[i], " outputs of ", x.size(-1), " inputs (one dtype for all)");
    params.push_back(adapter.a);
    params.push_back(adapter.b);
    total += widths[i];
  }
  TORCH_CHECK(weight.dim() == 2 && weight.size(0) == total && weight.size(1) == x.size(-1),
              "stacked projections: weight ", weight.sizes(), " for parts of ", total, " rows");
  std::vector<double> scales;
  for (const AdapterWeights& adapter : adapters) scales.push_back(adapter.scale);
  return StackedAdaptedLinearFunction::apply(x, at::TensorList(params), StackedBase{weight, bias, widths, scales});
}

}  // namespace gspo::engine
