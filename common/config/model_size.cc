#include "common/config/model_size.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>

#include "common/files.h"
#include "common/model_dir.h"

namespace gspo::config {
namespace {

double Number(const YAML::Node& config, const char* key, double fallback) {
  const YAML::Node node = config[key];
  if (!node || !node.IsScalar()) return fallback;
  try {
    return node.as<double>();
  } catch (const YAML::Exception&) {
    return fallback;
  }
}

}  // namespace

std::optional<double> ParameterCountFromName(const std::string& name) {
  // The last "<number>b" that starts a name segment: "-9b-", "_27B", "Qwen2.5-0.5B".
  const std::string base = common::BaseName(name);
  std::optional<double> found;
  for (std::size_t i = 0; i < base.size(); ++i) {
    const bool segment_start = i == 0 || base[i - 1] == '-' || base[i - 1] == '_';
    if (!segment_start || !std::isdigit(static_cast<unsigned char>(base[i]))) continue;
    std::size_t j = i;
    while (j < base.size() &&
           (std::isdigit(static_cast<unsigned char>(base[j])) || base[j] == '.')) {
      ++j;
    }
    if (j >= base.size() || (base[j] != 'b' && base[j] != 'B')) continue;
    const bool segment_end = j + 1 == base.size() || base[j + 1] == '-' || base[j + 1] == '_';
    if (!segment_end) continue;
    found = std::strtod(base.substr(i, j - i).c_str(), nullptr);
  }
  return found;
}

std::optional<double> ParameterCountFromConfigJson(const std::string& json_text) {
  YAML::Node root;
  try {
    root = YAML::Load(json_text);  // JSON is YAML
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
  if (!root.IsMap()) return std::nullopt;
  // Multimodal Gemma 3 keeps the decoder under text_config.
  const YAML::Node config =
      root["text_config"] && root["text_config"].IsMap() ? root["text_config"] : root;
  const double hidden = Number(config, "hidden_size", 0);
  const double layers = Number(config, "num_hidden_layers", 0);
  const double vocab = Number(config, "vocab_size", 0);
  const double intermediate = Number(config, "intermediate_size", 0);
  if (hidden <= 0 || layers <= 0 || vocab <= 0 || intermediate <= 0) return std::nullopt;
  const double heads = Number(config, "num_attention_heads", 1);
  const double kv_heads = Number(config, "num_key_value_heads", heads);
  const double head_dim = Number(config, "head_dim", hidden / heads);
  const bool tied = !config["tie_word_embeddings"] ||
                    config["tie_word_embeddings"].as<std::string>("true") != "false";
  const double attention = hidden * head_dim * (2 * heads + 2 * kv_heads);
  const double mlp = 3 * hidden * intermediate;
  const double embeddings = vocab * hidden * (tied ? 1 : 2);
  return (embeddings + layers * (attention + mlp)) / 1e9;
}

std::optional<ModelSizeEstimate> EstimateModelSize(const std::string& name_or_path) {
  if (auto dir = common::FindModelDirectory(name_or_path)) {
    const std::string config_path = common::JoinPath(*dir, "config.json");
    auto text = common::ReadFileToString(config_path, 1 << 20);
    if (text.ok()) {
      if (auto billions = ParameterCountFromConfigJson(*text)) {
        return ModelSizeEstimate{*billions, "config.json at " + *dir};
      }
    }
  }
  if (auto billions = ParameterCountFromName(name_or_path)) {
    return ModelSizeEstimate{*billions, "the name '" + name_or_path + "'"};
  }
  return std::nullopt;
}

}  // namespace gspo::config
