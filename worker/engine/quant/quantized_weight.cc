#include "worker/engine/quant/quantized_weight.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "worker/engine/kernels/fused_ops.h"

namespace gspo::engine {
namespace {

at::Tensor CodeBookOn(at::Device device) {
  const auto& book = Nf4CodeBook();
  return at::tensor(std::vector<float>(book.begin(), book.end()), at::kFloat).to(device);
}

// Midpoints between neighbouring levels: bucketize against them gives the nearest level.
at::Tensor Boundaries(at::Device device) {
  const at::Tensor book = CodeBookOn(device);
  return (book.narrow(0, 0, 15) + book.narrow(0, 1, 15)) / 2;
}

// x @ W^T with W rebuilt from its quantized form in forward and again in backward. The weight
// travels as its address: it is owned by the model's Linear, which outlives the graph.
struct DequantizingLinear : public torch::autograd::Function<DequantizingLinear> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const QuantizedWeight* weight) {
    ctx->saved_data["weight"] = reinterpret_cast<std::int64_t>(weight);
    return at::linear(x, weight->Dequantize(x.scalar_type()));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto* weight = reinterpret_cast<const QuantizedWeight*>(ctx->saved_data["weight"].toInt());
    const at::Tensor& grad = grads[0];
    return {at::matmul(grad, weight->Dequantize(grad.scalar_type())), at::Tensor()};
  }
};

}  // namespace

const std::array<float, 16>& Nf4CodeBook() {
  static const std::array<float, 16> book = {
      -1.0f,          -0.6961928010f, -0.5250730515f, -0.3949174881f, -0.2844413817f, -0.1847734302f,
      -0.0910500363f, 0.0f,           0.0795802996f,  0.1609302014f,  0.2461123019f,  0.3379152417f,
      0.4407098293f,  0.5626170039f,  0.7229568362f,  1.0f};
  return book;
}

QuantizedWeight QuantizedWeight::Quantize(const at::Tensor& weight, const QuantizeOptions& options) {
  TORCH_CHECK(weight.dim() == 2 && weight.is_floating_point(), "quantize: expected a 2-D floating weight, got ",
              weight.sizes(), " ", weight.scalar_type());
  c10::NoGradGuard no_grad;
  QuantizedWeight q;
  q.kind_ = options.kind;
  q.dtype_ = weight.scalar_type();
  q.out_ = weight.size(0);
  q.in_ = weight.size(1);
  const at::Tensor w = weight.detach().to(at::kFloat);
  if (options.kind == QuantKind::kInt8) {
    const at::Tensor scale = w.abs().amax(1).clamp_min(1e-12) / 127.0;  // [out]
    q.codes_ = at::round(w / scale.unsqueeze(1)).clamp(-127, 127).to(at::kChar);
    q.scales_ = scale;
    return q;
  }
  const std::int64_t n = w.numel(), blocks = (n + kNf4Block - 1) / kNf4Block;
  at::Tensor flat = w.reshape({-1});
  if (blocks * kNf4Block != n) flat = at::cat({flat, at::zeros({blocks * kNf4Block - n}, flat.options())});
  const at::Tensor grouped = flat.view({blocks, kNf4Block});
  at::Tensor absmax = grouped.abs().amax(1);  // [blocks]
  const at::Tensor normalised = grouped / absmax.clamp_min(1e-12).unsqueeze(1);
  const at::Tensor codes = at::bucketize(normalised, Boundaries(w.device())).to(at::kByte).view({-1, 2});
  q.codes_ = codes.select(1, 0).bitwise_or(codes.select(1, 1).bitwise_left_shift(4)).contiguous();
  if (!options.double_quant) {
    q.scales_ = absmax.contiguous();
    return q;
  }
  q.scale_mean_ = absmax.mean().item<double>();
  const std::int64_t groups = (blocks + kScaleBlock - 1) / kScaleBlock;
  at::Tensor centred = absmax - q.scale_mean_;
  if (groups * kScaleBlock != blocks) {
    centred = at::cat({centred, at::zeros({groups * kScaleBlock - blocks}, centred.options())});
  }
  const at::Tensor by_group = centred.view({groups, kScaleBlock});
  const at::Tensor group_scale = by_group.abs().amax(1).clamp_min(1e-12) / 127.0;
  q.scale_codes_ =
      at::round(by_group / group_scale.unsqueeze(1)).clamp(-127, 127).to(at::kChar).reshape({-1}).narrow(0, 0, blocks).contiguous();
  q.scale_scales_ = group_scale.contiguous();
  return q;
}

at::Tensor QuantizedWeight::Dequantize(at::ScalarType dtype) const {
  at::Tensor out = at::empty({out_, in_}, codes_.options().dtype(dtype));
  DequantizeInto(out);
  return out;
}

void QuantizedWeight::DequantizeInto(const at::Tensor& out) const {
  TORCH_CHECK(out.is_contiguous() && out.numel() == out_ * in_ && out.device() == codes_.device() &&
                  out.is_floating_point(),
              "dequantize: the output must be a contiguous floating tensor of ", out_, " x ", in_, " values on ",
              codes_.device(), ", got ", out.sizes(), " ", out.scalar_type(), " on ", out.device());
  c10::NoGradGuard no_grad;
  if (!fused::Available(out)) {
    out.view({out_, in_}).copy_(DequantizeReference(out.scalar_type()));
  } else if (kind_ == QuantKind::kInt8) {
    fused::DequantizeInt8(codes_, scales_, out);
  } else {
    fused::DequantizeNf4({codes_, scales_, scale_codes_, scale_scales_, scale_mean_, &Nf4CodeBook()}, out);
  }
}

at::Tensor QuantizedWeight::DequantizeReference(at::ScalarType dtype) const {
  c10::NoGradGuard no_grad;
  if (kind_ == QuantKind::kInt8) return (codes_.to(at::kFloat) * scales_.unsqueeze(1)).to(dtype);
  at::Tensor absmax;
  if (scale_codes_.defined()) {
    const std::int64_t blocks = scale_codes_.numel();
    absmax = scale_codes_.to(at::kFloat) * scale_scales_.repeat_interleave(kScaleBlock).narrow(0, 0, blocks) +
             scale_mean_;
  } else {
    absmax = scales_;
  }
  const at::Tensor low = codes_.bitwise_and(0x0F), high = codes_.bitwise_right_shift(4);
  const at::Tensor indices = at::stack({low, high}, 1).reshape({-1}).to(at::kLong);
  const at::Tensor values = CodeBookOn(codes_.device()).index_select(0, indices).view({-1, kNf4Block});
  return (values * absmax.unsqueeze(1)).reshape({-1}).narrow(0, 0, out_ * in_).view({out_, in_}).to(dtype);
}

std::int64_t QuantizedWeight::StorageBytes() const {
  std::int64_t bytes = 0;
  for (const at::Tensor* t : {&codes_, &scales_, &scale_codes_, &scale_scales_}) {
    if (t->defined()) bytes += t->numel() * static_cast<std::int64_t>(t->element_size());
  }
  return bytes;
}

at::Tensor QuantizedLinear(const at::Tensor& x, const QuantizedWeight& weight, const at::Tensor& bias) {
  if (!x.requires_grad() || !c10::GradMode::is_enabled()) {
    return at::linear(x, weight.Dequantize(x.scalar_type()), bias);
  }
  // The (frozen) bias is added outside: an undefined tensor cannot be a custom function's input.
  const at::Tensor y = DequantizingLinear::apply(x, &weight);
  return bias.defined() ? y + bias : y;
}

}  // namespace gspo::engine
