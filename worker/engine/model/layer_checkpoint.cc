#include "worker/engine/model/layer_checkpoint.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <mutex>

namespace gspo::engine {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The layer function rides in the autograd context as a capsule.
// The layer function and its trainable tensors (the very handles it reads, so that gradients of
// the recomputation are taken with respect to them) ride in the autograd context as a capsule.
struct LayerHolder : torch::CustomClassHolder {
  LayerHolder(LayerFunction f, std::vector<at::Tensor> p) : layer(std::move(f)), params(std::move(p)) {}
  LayerFunction layer;
  std::vector<at::Tensor> params;
};

at::Tensor GeneratorState(const at::Device& device) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void SetGeneratorState(const at::Device& device, const at::Tensor& state) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

struct RecomputedLayer : public torch::autograd::Function<RecomputedLayer> {
  // Runs without gradients (custom functions' forward always does).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::TensorList params,
                            c10::intrusive_ptr<LayerHolder> holder) {
    ctx->saved_data["rng"] = GeneratorState(x.device());
    ctx->saved_data["layer"] = c10::IValue::make_capsule(holder);
    ctx->save_for_backward({x});
    return holder->layer(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto holder = c10::static_intrusive_pointer_cast<LayerHolder>(ctx->saved_data["layer"].toCapsule());
    const at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    const at::Device device = x.device();
    std::vector<at::Tensor> inputs = {x};
    inputs.insert(inputs.end(), holder->params.begin(), holder->params.end());
    const at::Tensor now = GeneratorState(device);
    SetGeneratorState(device, ctx->saved_data["rng"].toTensor());
    at::Tensor y;
    {
      at::AutoGradMode grad(true);
      y = holder->layer(x);
    }
    SetGeneratorState(device, now);
    variable_list grads = torch::autograd::grad({y}, inputs, {grad_outputs[0]}, /*retain_graph=*/false,
                                                /*create_graph=*/false, /*allow_unused=*/true);
    grads.push_back(at::Tensor());  // the layer function
    return grads;
  }
};

}  // namespace

at::Tensor CheckpointedLayer(LayerFunction layer, const at::Tensor& x, const std::vector<at::Tensor>& params) {
  auto holder = c10::make_intrusive<LayerHolder>(std::move(layer), params);
  return RecomputedLayer::apply(x, at::TensorList(params), holder);
}

}  // namespace gspo::engine
