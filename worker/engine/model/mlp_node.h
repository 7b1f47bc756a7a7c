// The gated MLP of a decoder layer without adapters on it, as one autograd node for training:
//
//   [gate, up] = x W_gu^T (one product over the stacked weights);  y = (act(gate) * up) W_down^T
//
// The composed operators run two products for gate and up, and autograd walks about a dozen
// nodes backward (products, views, the activation, the product of the halves, the sum of two
// input gradients). Here backward is dh = dy W_down, the two halves' gradients written into one
// [N, 2F] buffer, and dx = that W_gu: two products and three elementwise passes (on CUDA one
// kernel each way for the activation: kernels/fused_ops.h; GSPO_MLP_KERNEL=0 turns them off). The
// weights are frozen; the node keeps [gate, up] for backward. Stateless; thread-safe.
#pragma once

#include <ATen/ATen.h>

#include "worker/engine/model/model_config.h"

namespace gspo::engine {

// x [..., E]; gate_up_weight [2F, E] (gate rows first); down_weight [E, F].
at::Tensor GatedMlpNode(const at::Tensor& x, const at::Tensor& gate_up_weight, const at::Tensor& down_weight,
                        Activation activation);

// act(gate) with the activations DecoderModel supports.
at::Tensor ApplyActivation(const at::Tensor& gate, Activation activation);

}  // namespace gspo::engine
