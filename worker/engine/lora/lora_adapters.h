// LoraAdapters: low-rank adapters attached to a DecoderModel's projections, PEFT-compatible.
//
// A is initialised as PEFT does (kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in),
// 1/sqrt(in))), B as zeros, so a fresh adapter leaves the model unchanged; scale alpha / r, or
// alpha / sqrt(r) with rsLoRA. The trained parameters are A and B in float32; the base weights
// stay frozen.
// Owns the adapters (shared with the model's Linear layers). Not thread-safe while training.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/decoder_model.h"

namespace gspo::engine {

struct LoraConfig {
  std::int64_t r = 16;
  double alpha = 32;
  double dropout = 0;
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj"};
  bool use_rslora = false;
  std::uint64_t seed = 0;
};

class LoraAdapters {
 public:
  // Attaches one adapter to every target projection of every layer of `model`.
  static common::StatusOr<std::unique_ptr<LoraAdapters>> Attach(DecoderModel* model,
                                                                const LoraConfig& config);

  const LoraConfig& config() const { return config_; }
  // A and B of every adapter, in a fixed order.
  std::vector<at::Tensor> Parameters() const;
  // "<prefix>layers.<i>.<self_attn|mlp>.<module>.lora_A.weight" -> tensor (Hugging Face names).
  std::map<std::string, at::Tensor> NamedParameters() const;
  // Copies values into the adapters; every adapter tensor must be present with its shape.
  common::Status LoadNamedParameters(const std::map<std::string, at::Tensor>& tensors,
                                     const std::string& source);

  // Base weights with the adapters folded in: W + scale * B A, under the base weight's name.
  std::map<std::string, at::Tensor> MergedWeights() const;
  // The same one weight at a time: the base weight names that have an adapter, and one merge.
  std::vector<std::string> AdaptedWeightNames() const;
  at::Tensor MergedWeight(const std::string& weight_name) const;

  // PEFT layout: adapter_config.json + adapter_model.safetensors with keys
  // "base_model.model.<name>" (e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight).
  common::Status SavePeft(const std::string& dir, const std::string& base_model) const;

 private:
  struct Entry {
    std::string name;  // "model.layers.0.self_attn.q_proj"
    std::shared_ptr<LoraAdapter> adapter;
    const Linear* linear;
  };
  LoraAdapters(LoraConfig config) : config_(std::move(config)) {}

  LoraConfig config_;
  std::vector<Entry> entries_;
};

}  // namespace gspo::engine
