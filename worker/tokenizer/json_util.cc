#include "worker/tokenizer/json_util.h"

#include "common/strings.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {

common::Status JsonContext::Error(std::string_view what) const {
  std::string message = source;
  if (!path.empty()) message.append(": ").append(path);
  message.append(": ").append(what);
  return common::InvalidArgumentError(std::move(message));
}

JsonContext JsonContext::Child(std::string_view key) const {
  return {source, path.empty() ? std::string(key) : path + "." + std::string(key)};
}

JsonContext JsonContext::Index(std::size_t index) const {
  return {source, path + "[" + std::to_string(index) + "]"};
}

const common::Json* FindField(const common::Json& object, std::string_view key) {
  const common::Json* value = object.Find(key);
  return value == nullptr || value->is_null() ? nullptr : value;
}

common::StatusOr<std::string> GetString(const common::Json& object, std::string_view key,
                                        const JsonContext& context, std::string fallback) {
  const common::Json* value = FindField(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_string()) return context.Child(key).Error("expected a string");
  return value->AsString();
}

common::StatusOr<bool> GetBool(const common::Json& object, std::string_view key,
                               const JsonContext& context, bool fallback) {
  const common::Json* value = FindField(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_bool()) return context.Child(key).Error("expected true or false");
  return value->AsBool();
}

common::StatusOr<std::int64_t> GetInt(const common::Json& object, std::string_view key,
                                      const JsonContext& context, std::int64_t fallback) {
  const common::Json* value = FindField(object, key);
  if (value == nullptr) return fallback;
  const std::optional<std::int64_t> number = value->is_number() ? value->AsInt64() : std::nullopt;
  if (!number.has_value()) return context.Child(key).Error("expected an integer");
  return *number;
}

common::StatusOr<char32_t> GetChar(const common::Json& object, std::string_view key,
                                   const JsonContext& context, char32_t fallback) {
  const common::Json* value = FindField(object, key);
  if (value == nullptr) return fallback;
  if (value->is_string() && !value->AsString().empty()) {
    const std::string& text = value->AsString();
    std::size_t pos = 0;
    const char32_t cp = NextChar(text, &pos);
    if (pos == text.size()) return cp;
  }
  return context.Child(key).Error("expected a string of one character");
}

common::StatusOr<std::string> GetType(const common::Json& object, const JsonContext& context) {
  if (!object.is_object()) return context.Error("expected an object");
  const common::Json* type = FindField(object, "type");
  if (type == nullptr) return context.Error("missing \"type\"");
  if (!type->is_string()) return context.Child("type").Error("expected a string");
  return type->AsString();
}

common::StatusOr<Pattern> GetPattern(const common::Json& object, const JsonContext& context) {
  const JsonContext field = context.Child("pattern");
  const common::Json* pattern = FindField(object, "pattern");
  if (pattern == nullptr) return context.Error("missing \"pattern\"");
  if (pattern->is_object() && pattern->size() == 1) {
    const common::Json* literal = pattern->Find("String");
    if (literal != nullptr && literal->is_string()) return Pattern::Literal(literal->AsString());
    const common::Json* regex = pattern->Find("Regex");
    if (regex != nullptr && regex->is_string()) {
      auto compiled = Regex::Compile(regex->AsString());
      if (!compiled.ok()) return field.Error(compiled.status().message());
      return Pattern::FromRegex(*std::move(compiled));
    }
  }
  return field.Error(R"(expected {"String": ...} or {"Regex": ...})");
}

}  // namespace gspo::tokenizer
