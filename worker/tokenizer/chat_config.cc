// ChatFormat::FromDirectory / FromConfigFiles: which chat family a model directory speaks, what
// its template adds (chat_format.h: ChatTemplateTraits), and the eos ids of its
// generation_config.json.
#include <optional>
#include <string>
#include <utility>

#include "common/files.h"
#include "common/json.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/chat_text.h"

namespace gspo::tokenizer {
namespace {

using common::InvalidArgumentError;
using common::Json;
using common::StatusOr;

constexpr std::size_t kMaxConfigBytes = 64 << 20;  // tokenizer_config.json may list every token

struct Marker {
  std::string_view token;
  ChatFamily family;
};
constexpr Marker kMarkers[] = {{"<start_of_turn>", ChatFamily::kGemma},
                               {"<|im_start|>", ChatFamily::kChatMl},
                               {"<|start_header_id|>", ChatFamily::kLlama3}};

// The family whose marker occurs first in `text`, if any does.
std::optional<ChatFamily> FamilyFromTemplate(std::string_view text) {
  std::optional<ChatFamily> family;
  std::size_t best = std::string_view::npos;
  for (const Marker& marker : kMarkers) {
    const std::size_t at = text.find(marker.token);
    if (at < best) {
      best = at;
      family = marker.family;
    }
  }
  return family;
}

// A token given as "text" or as {"content": "text", ...}; empty for null or anything else.
std::string TokenText(const Json* value) {
  if (value == nullptr) return "";
  if (value->is_string()) return value->AsString();
  if (const Json* content = value->Find("content"); content != nullptr && content->is_string()) {
    return content->AsString();
  }
  return "";
}

// The special tokens tokenizer_config.json declares (added_tokens_decoder and
// additional_special_tokens) decide the family when one marker is among them.
std::optional<ChatFamily> FamilyFromSpecialTokens(const Json& config) {
  std::string tokens;
  if (const Json* added = config.Find("added_tokens_decoder"); added && added->is_object()) {
    for (const auto& member : added->members()) tokens += TokenText(&member.second) + "\n";
  }
  if (const Json* extra = config.Find("additional_special_tokens"); extra && extra->is_array()) {
    for (const Json& token : extra->elements()) tokens += TokenText(&token) + "\n";
  }
  return FamilyFromTemplate(tokens);
}

std::optional<ChatFamily> FamilyFromTokenizerClass(const std::string& name) {
  if (name.rfind("Gemma", 0) == 0) return ChatFamily::kGemma;
  if (name.rfind("Qwen2Tokenizer", 0) == 0) return ChatFamily::kChatMl;
  return std::nullopt;
}

// model_type of config.json (or of its text_config). "llama" is Llama 3 only with the Llama 3
// vocabulary (128256 ids): Llama 2 shares the model type but not the chat format.
std::optional<ChatFamily> FamilyFromModelConfig(const Json& config) {
  const Json* type = config.Find("model_type");
  if (const Json* text = config.Find("text_config"); (!type || !type->is_string()) && text) {
    type = text->Find("model_type");
  }
  if (type == nullptr || !type->is_string()) return std::nullopt;
  const std::string& name = type->AsString();
  if (name.rfind("gemma", 0) == 0) return ChatFamily::kGemma;
  if (name.rfind("qwen2", 0) == 0 || name.rfind("qwen3", 0) == 0) return ChatFamily::kChatMl;
  if (name == "llama") {
    const Json* vocab = config.Find("vocab_size");
    if (vocab && vocab->AsInt64().value_or(0) >= 128000) return ChatFamily::kLlama3;
  }
  return std::nullopt;
}

// tokenizer_config.json's chat_template: a string, or a list of {"name", "template"} of which the
// one named "default" (else the first) is used, as transformers does.
std::string TemplateFromConfig(const Json& config) {
  const Json* value = config.Find("chat_template");
  if (value == nullptr) return "";
  if (value->is_string()) return value->AsString();
  if (!value->is_array()) return "";
  std::string first;
  for (const Json& entry : value->elements()) {
    const Json* text = entry.Find("template");
    if (text == nullptr || !text->is_string()) continue;
    if (const Json* name = entry.Find("name"); name && name->AsString() == "default") {
      return text->AsString();
    }
    if (first.empty()) first = text->AsString();
  }
  return first;
}

// A ChatML template's built-in system message: the body of a string literal
// '<|im_start|>system\n...<|im_end|>' with fixed text (Qwen 2 / 2.5); "" when there is none.
std::string DefaultChatMlSystem(std::string_view text) {
  constexpr std::string_view kOpen = "<|im_start|>system\\n";
  constexpr std::string_view kClose = "<|im_end|>";
  for (std::size_t at = text.find(kOpen); at != std::string_view::npos;
       at = text.find(kOpen, at + 1)) {
    const std::size_t body = at + kOpen.size();
    const std::size_t close = text.find(kClose, body);
    if (close == std::string_view::npos) break;
    const std::string_view literal = text.substr(body, close - body);
    if (!literal.empty() && literal.find_first_of("'\"{}+") == std::string_view::npos) {
      return chat_text::UnescapeJinjaLiteral(literal);
    }
  }
  return "";
}

StatusOr<std::optional<Json>> ParseOptional(std::string_view text, const std::string& name) {
  if (text.empty()) return std::optional<Json>();
  GSPO_ASSIGN_OR_RETURN(Json json, common::ParseJson(text, name));
  if (!json.is_object()) return InvalidArgumentError(name + ": expected a JSON object");
  return std::optional<Json>(std::move(json));
}

// generation_config.json's eos_token_id: an integer, a list of integers, or null.
StatusOr<std::vector<std::int32_t>> EosIds(const Json& config, const std::string& name) {
  const Json* value = config.Find("eos_token_id");
  if (value == nullptr || value->is_null()) return std::vector<std::int32_t>();
  std::vector<Json> items = value->is_array() ? value->elements() : std::vector<Json>{*value};
  std::vector<std::int32_t> ids;
  for (const Json& item : items) {
    const std::optional<std::int64_t> id = item.AsInt64();
    if (!item.is_number() || !id || *id < 0 || *id > INT32_MAX) {
      return InvalidArgumentError(name +
                                  ": eos_token_id: expected a non-negative integer or a "
                                  "list of them, got " +
                                  common::WriteJson(*value));
    }
    ids.push_back(static_cast<std::int32_t>(*id));
  }
  return ids;
}

StatusOr<std::string> ReadIfPresent(const std::string& path) {
  if (!common::PathExists(path)) return std::string();
  return common::ReadFileToString(path, kMaxConfigBytes);
}

}  // namespace

StatusOr<ChatFormat> ChatFormat::FromConfigFiles(const ConfigFiles& files, const std::string& dir) {
  const std::string tokenizer_config_name = common::JoinPath(dir, "tokenizer_config.json");
  const std::string config_name = common::JoinPath(dir, "config.json");
  const std::string generation_name = common::JoinPath(dir, "generation_config.json");
  GSPO_ASSIGN_OR_RETURN(auto tokenizer_config,
                        ParseOptional(files.tokenizer_config, tokenizer_config_name));
  GSPO_ASSIGN_OR_RETURN(auto config, ParseOptional(files.config, config_name));
  GSPO_ASSIGN_OR_RETURN(auto generation, ParseOptional(files.generation_config, generation_name));
  if (!tokenizer_config && !config && files.chat_template_jinja.empty()) {
    return common::NotFoundError(dir +
                                 ": no tokenizer_config.json, chat_template.jinja or "
                                 "config.json to pick a chat format from");
  }

  std::string template_text(files.chat_template_jinja);
  if (template_text.empty() && tokenizer_config)
    template_text = TemplateFromConfig(*tokenizer_config);
  std::optional<ChatFamily> family;
  if (!template_text.empty()) {
    family = FamilyFromTemplate(template_text);
    if (!family) {
      return InvalidArgumentError(dir +
                                  ": unknown chat format: the chat template uses none of "
                                  "<start_of_turn> (Gemma), <|im_start|> (ChatML, Qwen), "
                                  "<|start_header_id|> (Llama 3)");
    }
  }
  if (!family && tokenizer_config) family = FamilyFromSpecialTokens(*tokenizer_config);
  if (!family && tokenizer_config) {
    if (const Json* name = tokenizer_config->Find("tokenizer_class")) {
      family = FamilyFromTokenizerClass(name->AsString());
    }
  }
  if (!family && config) family = FamilyFromModelConfig(*config);
  if (!family) {
    return InvalidArgumentError(dir +
                                ": unknown chat format: neither tokenizer_config.json "
                                "(chat template, special tokens, tokenizer_class) nor config.json "
                                "(model_type) names Gemma, ChatML (Qwen) or Llama 3");
  }

  ChatTemplateTraits traits = ForFamily(*family).traits();
  if (tokenizer_config && *family != ChatFamily::kChatMl) {
    const std::string bos = TokenText(tokenizer_config->Find("bos_token"));
    if (!bos.empty()) traits.bos_token = bos;
  }
  if (*family == ChatFamily::kChatMl) {
    traits.reasoning = template_text.find("<think>") != std::string::npos;
    traits.default_system = DefaultChatMlSystem(template_text);
  }
  if (*family == ChatFamily::kLlama3) {
    traits.knowledge_date_header =
        template_text.find("Cutting Knowledge Date") != std::string::npos;
  }
  std::vector<std::int32_t> eos_ids;
  if (generation) {
    GSPO_ASSIGN_OR_RETURN(eos_ids, EosIds(*generation, generation_name));
  }
  return ChatFormat(*family, std::move(traits), std::move(eos_ids));
}

StatusOr<ChatFormat> ChatFormat::FromDirectory(const std::string& dir) {
  if (!common::IsDirectory(dir)) return common::NotFoundError(dir + ": no such directory");
  GSPO_ASSIGN_OR_RETURN(std::string tokenizer_config,
                        ReadIfPresent(common::JoinPath(dir, "tokenizer_config.json")));
  GSPO_ASSIGN_OR_RETURN(std::string jinja,
                        ReadIfPresent(common::JoinPath(dir, "chat_template.jinja")));
  GSPO_ASSIGN_OR_RETURN(std::string config, ReadIfPresent(common::JoinPath(dir, "config.json")));
  GSPO_ASSIGN_OR_RETURN(std::string generation,
                        ReadIfPresent(common::JoinPath(dir, "generation_config.json")));
  return FromConfigFiles({tokenizer_config, jinja, config, generation}, dir);
}

}  // namespace gspo::tokenizer
