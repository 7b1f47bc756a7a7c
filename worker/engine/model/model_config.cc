#include "worker/engine/model/model_config.h"

#include <cmath>

#include "common/files.h"
#include "common/json.h"
#include "worker/engine/model/architectures.h"

namespace gspo::engine {
namespace {

common::StatusOr<Activation> ParseActivation(const ConfigReader& reader, std::string_view key,
                                             const std::string& name) {
  if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast" ||
      name == "gelu_tanh") {
    return Activation::kGeluTanh;
  }
  if (name == "gelu") return Activation::kGelu;
  if (name == "silu" || name == "swish") return Activation::kSilu;
  return reader.Error(
      key, "unsupported activation '" + name + "'; expected gelu_pytorch_tanh, gelu or silu");
}

common::Status ReadShared(const ConfigReader& reader, ModelConfig* c) {
  GSPO_ASSIGN_OR_RETURN(c->vocab_size, reader.Int("vocab_size"));
  GSPO_ASSIGN_OR_RETURN(c->hidden_size, reader.Int("hidden_size"));
  GSPO_ASSIGN_OR_RETURN(c->intermediate_size, reader.Int("intermediate_size"));
  GSPO_ASSIGN_OR_RETURN(c->num_layers, reader.Int("num_hidden_layers"));
  GSPO_ASSIGN_OR_RETURN(c->num_heads, reader.Int("num_attention_heads"));
  GSPO_ASSIGN_OR_RETURN(c->num_kv_heads, reader.IntOr("num_key_value_heads", c->num_heads));
  GSPO_ASSIGN_OR_RETURN(c->head_dim, reader.IntOr("head_dim", c->hidden_size / c->num_heads));
  GSPO_ASSIGN_OR_RETURN(c->max_position_embeddings, reader.IntOr("max_position_embeddings", 8192));
  GSPO_ASSIGN_OR_RETURN(c->rms_norm_eps, reader.NumberOr("rms_norm_eps", 1e-6));
  if (c->num_kv_heads <= 0 || c->num_heads % c->num_kv_heads != 0) {
    return reader.Error("num_key_value_heads",
                        "expected a positive divisor of num_attention_heads (" +
                            std::to_string(c->num_heads) + "), got " +
                            std::to_string(c->num_kv_heads));
  }
  if (c->head_dim <= 0 || c->head_dim % 2 != 0) {
    return reader.Error("head_dim", "expected a positive even number (rotary pairs), got " +
                                        std::to_string(c->head_dim));
  }
  const char* act_key = reader.Has("hidden_activation") ? "hidden_activation" : "hidden_act";
  GSPO_ASSIGN_OR_RETURN(std::string act, reader.StringOr(act_key, "silu"));
  GSPO_ASSIGN_OR_RETURN(c->activation, ParseActivation(reader, act_key, act));
  c->attention_scale = 1.0 / std::sqrt(static_cast<double>(c->head_dim));
  return common::Status::Ok();
}

}  // namespace

common::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text,
                                               const std::string& source) {
  GSPO_ASSIGN_OR_RETURN(common::Json root, common::ParseJson(json_text, source));
  if (!root.is_object()) {
    return common::InvalidArgumentError(source + ": expected a JSON object at the top level");
  }
  ModelConfig config;
  ConfigReader top(root, source);
  GSPO_ASSIGN_OR_RETURN(config.model_type, top.StringOr("model_type", ""));
  const common::Json* text = &root;
  std::string text_source = source;
  if (config.model_type == "gemma3") {
    // A multimodal Gemma 3 checkpoint: the decoder is described by text_config and its weights
    // sit under language_model.
    text = root.Find("text_config");
    if (text == nullptr || !text->is_object()) {
      return top.Error("text_config", "a gemma3 config needs a text_config object");
    }
    text_source = source + ": text_config";
    config.model_type = "gemma3_text";
    config.weight_prefix = "language_model.model.";
    config.lm_head_name = "language_model.lm_head.weight";
  }
  const std::string& type = config.model_type;
  if (type != "gemma2" && type != "gemma3_text" && type != "qwen2" && type != "qwen3" &&
      type != "llama") {
    return top.Error("model_type", "unsupported '" + type +
                                       "'; expected one of gemma2, gemma3, gemma3_text, qwen2, "
                                       "qwen3, llama");
  }
  ConfigReader reader(*text, text_source);
  GSPO_RETURN_IF_ERROR(ReadShared(reader, &config));
  if (type == "gemma2") {
    GSPO_RETURN_IF_ERROR(ConfigureGemma2(reader, &config));
  } else if (type == "gemma3_text") {
    GSPO_RETURN_IF_ERROR(ConfigureGemma3(reader, &config));
  } else if (type == "qwen2" || type == "qwen3") {
    GSPO_RETURN_IF_ERROR(ConfigureQwen(reader, &config));
  } else {
    GSPO_RETURN_IF_ERROR(ConfigureLlama(reader, &config));
  }
  if (static_cast<std::int64_t>(config.layers.size()) != config.num_layers) {
    return reader.Error(
        "layer_types", "expected " + std::to_string(config.num_layers) + " entries, one per layer");
  }
  return config;
}

common::StatusOr<ModelConfig> LoadModelConfig(const std::string& model_dir) {
  const std::string path = common::JoinPath(model_dir, "config.json");
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, 4 << 20));
  return ParseModelConfig(text, path);
}

}  // namespace gspo::engine
