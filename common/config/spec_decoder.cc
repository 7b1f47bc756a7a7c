#include "common/config/spec_decoder.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "common/config/yaml_source.h"
#include "common/strings.h"

namespace gspo::config {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool IsPlain(const YAML::Node& node) { return node.Tag() == "?"; }

// The closest key by edit distance; else the one key that contains the word ("dropout" ->
// "lora_dropout"), since users often drop a section prefix.
std::optional<std::string> SuggestKey(const std::string& word,
                                      const std::vector<std::string>& keys) {
  if (auto close = common::ClosestMatch(word, keys)) return close;
  std::optional<std::string> containing;
  for (const std::string& key : keys) {
    if (word.size() < 3 || key.find(word) == std::string::npos) continue;
    if (containing) return std::nullopt;
    containing = key;
  }
  return containing;
}

std::string TypeName(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      return "an integer";
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return "a number";
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    default:
      return "a mapping";
  }
}

template <typename Int>
bool ParseInteger(std::string text, Int* out, bool* out_of_range) {
  if (!text.empty() && text[0] == '+') text.erase(0, 1);
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  *out_of_range = ec == std::errc::result_out_of_range;
  return !text.empty() && ptr == end && (ec == std::errc() || *out_of_range);
}

bool ParseNumber(std::string text, double* out) {
  if (!text.empty() && text[0] == '+') text.erase(0, 1);
  if (text.empty() ||
      !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-' || text[0] == '.')) {
    return false;  // from_chars would also take "inf" and "nan"
  }
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ptr == end && ec == std::errc() && std::isfinite(*out);
}

}  // namespace

std::string DescribeYamlValue(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return (IsPlain(node) ? "" : "the quoted string ") + common::QuoteForMessage(node.Scalar());
    default:
      return "null";
  }
}

SpecDecoder::SpecDecoder(std::string source_name, std::string fixed_where, SourceMap* sources,
                         std::vector<ConfigError>* errors)
    : source_name_(std::move(source_name)),
      fixed_where_(std::move(fixed_where)),
      sources_(sources),
      errors_(errors) {}

void SpecDecoder::Decode(const YAML::Node& root, Message* message) {
  if (!root.IsMap()) {
    Error(root, "",
          "expected a mapping of job fields at the top level, got " + DescribeYamlValue(root));
    return;
  }
  DecodeMessage(root, message, "");
}

std::string SpecDecoder::Where(const YAML::Node& node) const {
  if (!fixed_where_.empty()) return fixed_where_;
  return FormatMark(source_name_, node.Mark());
}

void SpecDecoder::Error(const YAML::Node& node, const std::string& path,
                        const std::string& message) {
  errors_->push_back({Where(node), path, message});
}

void SpecDecoder::DecodeMessage(const YAML::Node& node, Message* message, const std::string& path) {
  const auto& type = *message->GetDescriptor();
  std::map<std::string, int> first_line;
  for (const auto& pair : node) {
    const YAML::Node& key = pair.first;
    if (!key.IsScalar()) {
      Error(key, path, "expected a key name, got " + DescribeYamlValue(key));
      continue;
    }
    const std::string name = key.Scalar();
    const std::string child = path.empty() ? name : path + "." + name;
    auto [seen, inserted] = first_line.emplace(name, key.Mark().line + 1);
    if (!inserted) {
      Error(key, child, "duplicate key (first set on line " + std::to_string(seen->second) + ")");
      continue;
    }
    const FieldDescriptor* field = FindFieldByYamlKey(type, name);
    if (field == nullptr) {
      const std::vector<std::string> keys = YamlKeys(type);
      if (auto close = SuggestKey(name, keys)) {
        Error(key, child, "unknown key; did you mean '" + *close + "'?");
      } else {
        Error(key, child, "unknown key; expected one of: " + common::Join(keys, ", "));
      }
      continue;
    }
    DecodeField(pair.second, message, *field, child);
  }
}

void SpecDecoder::DecodeField(const YAML::Node& value, Message* message, const Field& field,
                              const std::string& path) {
  if (value.IsNull()) return;  // `key: null` / `key:` leaves the field to presets and defaults
  if (field.is_map()) return DecodeMap(value, message, field, path);
  if (field.is_repeated()) return DecodeList(value, message, field, path);
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (!value.IsMap()) {
      Error(value, path, "expected a mapping, got " + DescribeYamlValue(value));
      return;
    }
    DecodeMessage(value, message->GetReflection()->MutableMessage(message, &field), path);
    return;
  }
  if (DecodeScalar(value, message, field, path)) sources_->Set(path, Where(value));
}

void SpecDecoder::DecodeMap(const YAML::Node& value, Message* message, const Field& field,
                            const std::string& path) {
  if (!value.IsMap()) {
    Error(value, path, "expected a mapping, got " + DescribeYamlValue(value));
    return;
  }
  const Reflection& refl = *message->GetReflection();
  const FieldDescriptor& key_field = *field.message_type()->map_key();
  const FieldDescriptor& value_field = *field.message_type()->map_value();
  std::map<std::string, int> first_line;
  for (const auto& pair : value) {
    if (!pair.first.IsScalar()) {
      Error(pair.first, path, "expected a key name, got " + DescribeYamlValue(pair.first));
      continue;
    }
    const std::string child = path + "." + pair.first.Scalar();
    auto [seen, inserted] = first_line.emplace(pair.first.Scalar(), pair.first.Mark().line + 1);
    if (!inserted) {
      Error(pair.first, child,
            "duplicate key (first set on line " + std::to_string(seen->second) + ")");
      continue;
    }
    if (pair.second.IsNull()) {
      Error(pair.second, child, "expected " + TypeName(value_field) + ", got null");
      continue;
    }
    Message* entry = refl.AddMessage(message, &field);
    entry->GetReflection()->SetString(entry, &key_field, pair.first.Scalar());
    if (!DecodeScalar(pair.second, entry, value_field, child)) {
      refl.RemoveLast(message, &field);
      continue;
    }
    sources_->Set(child, Where(pair.second));
  }
  sources_->Set(path, Where(value));
}

void SpecDecoder::DecodeList(const YAML::Node& value, Message* message, const Field& field,
                             const std::string& path) {
  const bool of_messages = field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  if (!value.IsSequence()) {
    Error(value, path,
          std::string("expected a list") + (of_messages ? "" : " of strings") + ", got " +
              DescribeYamlValue(value));
    return;
  }
  const Reflection& refl = *message->GetReflection();
  refl.ClearField(message, &field);
  for (std::size_t i = 0; i < value.size(); ++i) {
    const YAML::Node item = value[i];
    const std::string child = path + "[" + std::to_string(i) + "]";
    if (!of_messages) {
      if (!item.IsScalar()) {
        Error(item, child, "expected a string, got " + DescribeYamlValue(item));
        continue;
      }
      refl.AddString(message, &field, item.Scalar());
      sources_->Set(child, Where(item));
      continue;
    }
    Message* element = refl.AddMessage(message, &field);
    const FieldDescriptor* shorthand = element->GetDescriptor()->FindFieldByName("file");
    if (item.IsScalar() && shorthand != nullptr) {
      // `- packs/sales.yaml` is short for `- {file: packs/sales.yaml}`.
      element->GetReflection()->SetString(element, shorthand, item.Scalar());
      sources_->Set(child + ".file", Where(item));
    } else if (item.IsMap()) {
      sources_->Set(child, Where(item));
      DecodeMessage(item, element, child);
    } else {
      Error(item, child, "expected a mapping, got " + DescribeYamlValue(item));
    }
  }
  sources_->Set(path, Where(value));
}

bool SpecDecoder::DecodeScalar(const YAML::Node& value, Message* message, const Field& field,
                               const std::string& path) {
  if (!value.IsScalar()) {
    Error(value, path, "expected " + TypeName(field) + ", got " + DescribeYamlValue(value));
    return false;
  }
  const std::string& text = value.Scalar();
  const Reflection& refl = *message->GetReflection();
  const auto type_error = [&]() {
    Error(value, path, "expected " + TypeName(field) + ", got " + DescribeYamlValue(value));
    return false;
  };
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      repeated ? refl.AddString(message, &field, text) : refl.SetString(message, &field, text);
      return true;
    case FieldDescriptor::CPPTYPE_BOOL: {
      if (!IsPlain(value)) return type_error();
      if (text == "true" || text == "True" || text == "TRUE") {
        refl.SetBool(message, &field, true);
      } else if (text == "false" || text == "False" || text == "FALSE") {
        refl.SetBool(message, &field, false);
      } else {
        return type_error();
      }
      return true;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      std::int32_t v = 0;
      bool overflow = false;
      if (!IsPlain(value) || !ParseInteger(text, &v, &overflow)) return type_error();
      if (overflow) {
        Error(value, path, "integer " + common::QuoteForMessage(text) + " is out of range");
        return false;
      }
      refl.SetInt32(message, &field, v);
      return true;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      std::int64_t v = 0;
      bool overflow = false;
      if (!IsPlain(value) || !ParseInteger(text, &v, &overflow)) return type_error();
      if (overflow) {
        Error(value, path, "integer " + common::QuoteForMessage(text) + " is out of range");
        return false;
      }
      refl.SetInt64(message, &field, v);
      return true;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = 0;
      if (!IsPlain(value) || !ParseNumber(text, &v)) return type_error();
      refl.SetDouble(message, &field, v);
      return true;
    }
    default:
      return type_error();
  }
}

}  // namespace gspo::config
