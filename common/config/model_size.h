// Estimates a model's parameter count without loading it, to pick the guide's size preset.
//
// From config.json when the model directory is on this machine (local directory, or a repo id
// in the local Hugging Face cache); otherwise from a size in the name ("gemma-2-9b-it" -> 9B,
// "Qwen2.5-0.5B-Instruct" -> 0.5B). Never touches the network.
// Stateless; safe from any thread.
#pragma once

#include <optional>
#include <string>

namespace gspo::config {

struct ModelSizeEstimate {
  double billions = 0;
  std::string basis;  // "config.json at DIR" or "the name 'gemma-2-9b-it'"
};

std::optional<ModelSizeEstimate> EstimateModelSize(const std::string& name_or_path);

// The size written in a model name, in billions ("gemma-2-27b" -> 27), if any.
std::optional<double> ParameterCountFromName(const std::string& name);

// Parameters of a decoder described by a Hugging Face config.json text, in billions.
std::optional<double> ParameterCountFromConfigJson(const std::string& json_text);

}  // namespace gspo::config
