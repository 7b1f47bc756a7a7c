// A LoRA-adapted projection as one autograd node:
//
//   y = x W^T + bias + scale * (in A^T) B^T        (in: x, or dropout(x) in training)
//
// Written as LibTorch ops each step records, it is ~7 operators forward (two casts of A and B,
// three products, a scale and an add) and about twice that many autograd nodes backward, each
// of which the host dispatches; per decoder layer and micro-batch that is the largest share of
// a learning phase's operators. Here the forward is a cast of A and B, x A^T scaled (an [N, r]
// product), and the base product with the adapter's added in place (addmm); backward is five
// products, no elementwise pass over [N, out]. Numerically it is the same function: gradients
// agree with the composed ops to rounding (tests/unit/lora_linear_test.cc).
//
// W and bias are frozen (no gradient); A and B are float32 parameters and get float32
// gradients; x (and `in`) get gradients in their dtype. Linear takes it unless
// GSPO_TRAINING_NODES=0 (model/training_nodes.h). Stateless; thread-safe.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace gspo::engine {

// x [..., in] -> [..., out]. `weight` [out, in] may be undefined: the result is then the adapter
// term alone (a quantized base adds its own product). `in`: the adapter's input, x itself when
// undefined. `a` [r, in], `b` [out, r].
at::Tensor AdaptedLinear(const at::Tensor& x, const at::Tensor& in, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& a, const at::Tensor& b, double scale);

// Projections of one input with adapters on each (q, k and v) as one node: one product over
// their stacked frozen weights and one over their stacked A matrices, each B added on its own
// columns of the result; backward one product per part for x and B, one for all A's. The host
// dispatches about half the operators and a third of the nodes of three AdaptedLinear calls,
// for the same function. weight [sum widths, in] (the parts' rows in order), bias [sum widths]
// or undefined; A_i [r_i, in] and B_i [widths[i], r_i] of one dtype. Returns each part
// [..., widths[i]]: column ranges of one result (views, not contiguous).
struct AdapterWeights {
  at::Tensor a, b;
  double scale = 1.0;
};
std::vector<at::Tensor> StackedAdaptedLinear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                             const std::vector<std::int64_t>& widths,
                                             const std::vector<AdapterWeights>& adapters);

}  // namespace gspo::engine
