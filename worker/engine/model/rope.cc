#include "worker/engine/model/rope.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "worker/engine/env_switch.h"
#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/model/training_nodes.h"

namespace gspo::engine {

at::Tensor RopeInverseFrequencies(const RopeSpec& spec, std::int64_t head_dim) {
  // 1 / base^(2i / D), computed in float32 as the reference implementation does.
  at::Tensor exponent =
      at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(at::scalar_tensor(spec.base, at::kFloat), exponent);
  if (spec.scaling == "linear") return inv_freq / spec.factor;
  if (spec.scaling != "llama3") return inv_freq;
  // llama3: long wavelengths are slowed by `factor`, short ones kept, and the band between
  // interpolated smoothly.
  const double old_len = spec.original_max_positions;
  const double low_wavelen = old_len / spec.low_freq_factor;
  const double high_wavelen = old_len / spec.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_wavelen, inv_freq / spec.factor, inv_freq);
  at::Tensor smooth =
      (old_len / wavelen - spec.low_freq_factor) / (spec.high_freq_factor - spec.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / spec.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
  return at::where(medium, smoothed, scaled);
}

RotaryEmbedding::RotaryEmbedding(const RopeSpec& spec, std::int64_t head_dim, at::Device device)
    : inv_freq_(RopeInverseFrequencies(spec, head_dim).to(device)) {}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::CosSin(const at::Tensor& positions_bt,
                                                          at::ScalarType dtype) const {
  at::Tensor freqs = positions_bt.to(at::kFloat).unsqueeze(-1) * inv_freq_;  // [B,T,D/2]
  at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);              // [B,1,T,D]
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

namespace {

// [x1, x2] -> [-x2, x1] over the last dimension.
at::Tensor RotateHalf(const at::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// [y1, y2] -> [y2, -y1]: the adjoint of RotateHalf.
at::Tensor RotateHalfAdjoint(const at::Tensor& y) {
  const std::int64_t half = y.size(-1) / 2;
  return at::cat({y.narrow(-1, half, half), -y.narrow(-1, 0, half)}, -1);
}

at::Tensor RotaryOps(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos + RotateHalf(x) * sin;
}

// On CUDA the node's passes run as one kernel each (fused::Rotary: the operators' values to the
// bit, written contiguous [B,H,T,D] forward, so attention's reshapes need no copy, and densely
// in x's dimension order backward, so the projection's views need none); GSPO_ROTARY_KERNEL=0 runs the
// operators (the switch that measures what the kernels bring). Read at every call.
bool UseKernel(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (!SwitchedOn("GSPO_ROTARY_KERNEL") || !fused::Available(x) || x.dim() != 4) return false;
  for (const at::Tensor* table : {&cos, &sin}) {
    if (table->dim() != 4 || (table->size(0) != x.size(0) && table->size(0) != 1) || table->size(1) != 1 ||
        table->size(2) != x.size(2) || table->size(3) != x.size(3) || table->stride(3) != 1 ||
        table->scalar_type() != x.scalar_type() || table->device() != x.device()) {
      return false;
    }
  }
  return x.stride(3) == 1 && cos.strides() == sin.strides() && x.size(3) % 2 == 0;
}

// An empty tensor of `sizes` laid out densely in the order of `strides` (largest outermost): for
// a transposed view of a projection, or of a column range of a wider one, the plain rows behind
// it, so the gradient passes back through its views without a copy.
at::Tensor DenseInStrideOrder(const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides,
                              const at::TensorOptions& options) {
  std::vector<std::size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return strides[a] > strides[b]; });
  std::vector<std::int64_t> dense(sizes.size());
  std::int64_t step = 1;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    dense[*it] = step;
    step *= sizes[*it];
  }
  return at::empty_strided(sizes, dense, options);
}

// The rotation as one autograd node (training): the same operators forward, and
// dx = g cos + RotateHalfAdjoint(g sin) backward, instead of seven nodes.
struct RotaryFunction : public torch::autograd::Function<RotaryFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const RotaryTables& tables) {
    ctx->saved_data["cos"] = tables.cos;
    ctx->saved_data["sin"] = tables.sin;
    const bool kernel = UseKernel(x, tables.cos, tables.sin);
    ctx->saved_data["kernel"] = kernel;
    if (!kernel) return RotaryOps(x, tables.cos, tables.sin);
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->saved_data["x_strides"] = x.strides().vec();
    at::Tensor out = at::empty(x.sizes(), x.options());
    fused::Rotary(x, tables.cos, tables.sin, /*adjoint=*/false, out);
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const at::Tensor& g = grad_outputs[0];
    const at::Tensor cos = ctx->saved_data["cos"].toTensor(), sin = ctx->saved_data["sin"].toTensor();
    if (!ctx->saved_data["kernel"].toBool()) return {g * cos + RotateHalfAdjoint(g * sin), at::Tensor()};
    at::Tensor dx = DenseInStrideOrder(ctx->saved_data["x_sizes"].toIntVector(),
                                       ctx->saved_data["x_strides"].toIntVector(), g.options());
    fused::Rotary(g.stride(3) == 1 ? g : g.contiguous(), cos, sin, /*adjoint=*/true, dx);
    return {dx, at::Tensor()};
  }
};

}  // namespace

void RotateInto(const at::Tensor& x, const RotaryTables& tables, bool adjoint, const at::Tensor& out) {
  if (UseKernel(x, tables.cos, tables.sin) && out.stride(3) == 1 && out.device() == x.device()) {
    fused::Rotary(x, tables.cos, tables.sin, adjoint, out);
  } else {
    out.copy_(adjoint ? x * tables.cos + RotateHalfAdjoint(x * tables.sin) : RotaryOps(x, tables.cos, tables.sin));
  }
}

at::Tensor ApplyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (c10::GradMode::is_enabled() && x.requires_grad() && !cos.requires_grad() && !sin.requires_grad() &&
      TrainingNodesSwitchedOn()) {
    return RotaryFunction::apply(x, RotaryTables{cos, sin});
  }
  return RotaryOps(x, cos, sin);
}

}  // namespace gspo::engine
