#include "worker/engine/lora/lora_adapters.h"

#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "common/files.h"
#include "common/json.h"
#include "worker/engine/model/safetensors_torch.h"
#include "worker/engine/model/weight_names.h"

namespace gspo::engine {
namespace {

const char* BlockOf(const std::string& module) {
  return module == "gate_proj" || module == "up_proj" || module == "down_proj" ? "mlp" : "self_attn";
}

}  // namespace

common::StatusOr<std::unique_ptr<LoraAdapters>> LoraAdapters::Attach(DecoderModel* model,
                                                                     const LoraConfig& config) {
  if (config.r <= 0) return common::InvalidArgumentError("lora_r must be positive");
  std::unique_ptr<LoraAdapters> adapters(new LoraAdapters(config));
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(config.seed);
  const double scale = config.use_rslora ? config.alpha / std::sqrt(static_cast<double>(config.r))
                                         : config.alpha / static_cast<double>(config.r);
  const auto opts = at::TensorOptions().dtype(at::kFloat).device(model->device());
  c10::NoGradGuard no_grad;
  for (std::int64_t layer = 0; layer < model->config().num_layers; ++layer) {
    for (const std::string& module : config.target_modules) {
      Linear* linear = model->MutableProjection(layer, module);
      if (linear == nullptr) {
        return common::InvalidArgumentError("unknown LoRA target module '" + module + "'");
      }
      const std::int64_t out = linear->out_features(), in = linear->in_features();
      auto adapter = std::make_shared<LoraAdapter>();
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));
      adapter->a = at::empty({config.r, in}, at::kFloat).uniform_(-bound, bound, generator).to(opts);
      adapter->b = at::zeros({out, config.r}, opts);
      adapter->a.set_requires_grad(true);
      adapter->b.set_requires_grad(true);
      adapter->scale = scale;
      adapter->dropout = config.dropout;
      linear->lora = adapter;
      const std::string name = LayerWeightName(model->config(), layer,
                                               std::string(BlockOf(module)) + "." + module);
      adapters->entries_.push_back({name, adapter, linear});
    }
  }
  model->ReserveAdapterRows();  // the decode step's base products also compute x A^T
  return adapters;
}

std::vector<at::Tensor> LoraAdapters::Parameters() const {
  std::vector<at::Tensor> params;
  for (const Entry& e : entries_) {
    params.push_back(e.adapter->a);
    params.push_back(e.adapter->b);
  }
  return params;
}

std::map<std::string, at::Tensor> LoraAdapters::NamedParameters() const {
  std::map<std::string, at::Tensor> named;
  for (const Entry& e : entries_) {
    named[e.name + ".lora_A.weight"] = e.adapter->a;
    named[e.name + ".lora_B.weight"] = e.adapter->b;
  }
  return named;
}

common::Status LoraAdapters::LoadNamedParameters(const std::map<std::string, at::Tensor>& tensors,
                                                 const std::string& source) {
  c10::NoGradGuard no_grad;
  for (const auto& [name, param] : NamedParameters()) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      return common::InvalidArgumentError(source + ": missing adapter tensor '" + name + "'");
    }
    if (it->second.sizes() != param.sizes()) {
      return common::InvalidArgumentError(source + ": adapter tensor '" + name +
                                          "' does not match lora_r and the model's shapes");
    }
    at::Tensor target = param;  // shares storage with the adapter
    target.copy_(it->second);
  }
  return common::Status::Ok();
}

std::map<std::string, at::Tensor> LoraAdapters::MergedWeights() const {
  std::map<std::string, at::Tensor> merged;
  for (const std::string& name : AdaptedWeightNames()) merged[name] = MergedWeight(name);
  return merged;
}

std::vector<std::string> LoraAdapters::AdaptedWeightNames() const {
  std::vector<std::string> names;
  for (const Entry& e : entries_) names.push_back(e.name + ".weight");
  return names;
}

at::Tensor LoraAdapters::MergedWeight(const std::string& weight_name) const {
  c10::NoGradGuard no_grad;
  for (const Entry& e : entries_) {
    if (e.name + ".weight" != weight_name) continue;
    const at::Tensor w = e.linear->DenseWeight();
    const at::Tensor delta = at::matmul(e.adapter->b, e.adapter->a) * e.adapter->scale;
    return (w.to(at::kFloat) + delta).to(w.scalar_type());
  }
  throw std::out_of_range("no adapter on " + weight_name);
}

common::Status LoraAdapters::SavePeft(const std::string& dir, const std::string& base_model) const {
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(dir));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, param] : NamedParameters()) {
    tensors.emplace_back("base_model.model." + name, param.detach().to(at::kCPU));
  }
  GSPO_RETURN_IF_ERROR(SaveTensors(common::JoinPath(dir, "adapter_model.safetensors"), tensors,
                                   {{"format", "pt"}}));
  std::vector<common::Json> modules;
  for (const std::string& m : config_.target_modules) modules.push_back(common::Json::String(m));
  const common::Json config = common::Json::Object({
      {"peft_type", common::Json::String("LORA")},
      {"task_type", common::Json::String("CAUSAL_LM")},
      {"base_model_name_or_path", common::Json::String(base_model)},
      {"r", common::Json::Integer(config_.r)},
      {"lora_alpha", common::Json::Number(config_.alpha)},
      {"lora_dropout", common::Json::Number(config_.dropout)},
      {"target_modules", common::Json::Array(modules)},
      {"use_rslora", common::Json::Bool(config_.use_rslora)},
      {"bias", common::Json::String("none")},
      {"fan_in_fan_out", common::Json::Bool(false)},
      {"inference_mode", common::Json::Bool(true)},
      {"init_lora_weights", common::Json::Bool(true)},
  });
  return common::WriteFileAtomically(common::JoinPath(dir, "adapter_config.json"),
                                     common::WriteJson(config) + "\n");
}

}  // namespace gspo::engine
