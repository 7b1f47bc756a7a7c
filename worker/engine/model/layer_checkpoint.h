// Gradient checkpointing of one decoder layer: the forward pass keeps only the layer's input
// (not its attention scores, MLP activations, ...); backward runs the layer again with gradients
// on and back-propagates through that recomputation. Memory falls from every layer's
// activations to one layer's, for about one extra forward pass of compute.
//
// Dropout draws repeat exactly: the device's random generator state is saved before the forward
// pass and restored around the recomputation.
// Stateless apart from what each call records in the autograd graph; the layer function and the
// tensors it captures must not change between the forward and the backward pass.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <vector>

namespace gspo::engine {

using LayerFunction = std::function<at::Tensor(const at::Tensor&)>;

// layer(x), recorded for recomputation. `params` are the trainable tensors the layer reads (its
// LoRA A and B): their gradients are produced by the recomputation.
at::Tensor CheckpointedLayer(LayerFunction layer, const at::Tensor& x, const std::vector<at::Tensor>& params);

}  // namespace gspo::engine
