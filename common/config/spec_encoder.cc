#include "common/config/spec_encoder.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <sstream>
#include <vector>

#include "common/config/spec_fields.h"

namespace gspo::config {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Indent(int depth) { return std::string(2 * depth, ' '); }

// Fields to write: all of them (unset ones as null), or only the set ones (list elements: a
// scenario is either {file} or inline fields, never both).
std::vector<const FieldDescriptor*> FieldsToWrite(const Message& message, bool only_set) {
  std::vector<const FieldDescriptor*> fields;
  if (only_set) {
    message.GetReflection()->ListFields(message, &fields);
  } else {
    for (int i = 0; i < message.GetDescriptor()->field_count(); ++i) {
      fields.push_back(message.GetDescriptor()->field(i));
    }
  }
  return fields;
}

std::string JsonQuote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A plain YAML scalar that reads back as this same string (not a bool, null or number).
bool IsSafePlain(const std::string& text) {
  if (text.empty()) return false;
  for (const char* word : {"true", "false", "True", "False", "TRUE", "FALSE", "null", "Null",
                           "NULL", "yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off"}) {
    if (text == word) return false;
  }
  if (!std::isalpha(static_cast<unsigned char>(text[0])) && text[0] != '_' && text[0] != '/' &&
      text[0] != '.') {
    return false;
  }
  for (unsigned char c : text) {
    if (!std::isalnum(c) && c != '_' && c != '-' && c != '.' && c != '/') return false;
  }
  return true;
}

std::string YamlQuote(const std::string& text) {
  return IsSafePlain(text) ? text : JsonQuote(text);  // a JSON string is a YAML double-quoted one
}

std::string ScalarText(const Message& message, const FieldDescriptor& field, int index, bool json) {
  const Reflection& refl = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return refl.GetBool(message, &field) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(refl.GetInt32(message, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(refl.GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return FormatNumber(refl.GetDouble(message, &field));
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string text = index >= 0 ? refl.GetRepeatedString(message, &field, index)
                                          : refl.GetString(message, &field);
      return json ? JsonQuote(text) : YamlQuote(text);
    }
    default:
      return "null";
  }
}

// Map entries as (quoted key, value text) pairs.
std::vector<std::pair<std::string, std::string>> MapEntries(const Message& message,
                                                            const FieldDescriptor& field,
                                                            bool json) {
  const Reflection& refl = *message.GetReflection();
  const FieldDescriptor& key_field = *field.message_type()->map_key();
  const FieldDescriptor& value_field = *field.message_type()->map_value();
  std::vector<std::pair<std::string, std::string>> entries;
  for (int k = 0; k < refl.FieldSize(message, &field); ++k) {
    const Message& entry = refl.GetRepeatedMessage(message, &field, k);
    const std::string key = entry.GetReflection()->GetString(entry, &key_field);
    entries.emplace_back(json ? JsonQuote(key) : YamlQuote(key),
                         ScalarText(entry, value_field, -1, json));
  }
  // Map iteration order is unspecified; sorted output is stable across runs and builds.
  std::sort(entries.begin(), entries.end());
  return entries;
}

void WriteYaml(const Message& message, int depth, bool only_set, std::string* out) {
  const Reflection& refl = *message.GetReflection();
  for (const FieldDescriptor* field : FieldsToWrite(message, only_set)) {
    *out += Indent(depth) + YamlKey(*field) + ":";
    if (field->is_map()) {
      const auto entries = MapEntries(message, *field, false);
      *out += entries.empty() ? " {}\n" : "\n";
      for (const auto& [key, value] : entries)
        *out += Indent(depth + 1) + key + ": " + value + "\n";
    } else if (field->is_repeated() && field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      *out += " [";
      for (int k = 0; k < refl.FieldSize(message, field); ++k) {
        *out += (k ? ", " : "") + ScalarText(message, *field, k, false);
      }
      *out += "]\n";
    } else if (field->is_repeated()) {
      const int n = refl.FieldSize(message, field);
      *out += n == 0 ? " []\n" : "\n";
      for (int k = 0; k < n; ++k) {
        // Write the element one level deeper, then turn its first indent into the list dash.
        std::string element;
        WriteYaml(refl.GetRepeatedMessage(message, field, k), depth + 2, true, &element);
        if (element.empty()) element = Indent(depth + 2) + "{}\n";
        element.replace(2 * (depth + 1), 2, "- ");
        *out += element;
      }
    } else if (!refl.HasField(message, field)) {
      *out += " null\n";
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      *out += "\n";
      WriteYaml(refl.GetMessage(message, field), depth + 1, false, out);
    } else {
      *out += " " + ScalarText(message, *field, -1, false) + "\n";
    }
  }
}

void WriteJson(const Message& message, int depth, bool only_set, std::string* out) {
  const Reflection& refl = *message.GetReflection();
  *out += "{";
  bool first = true;
  for (const FieldDescriptor* field : FieldsToWrite(message, only_set)) {
    *out += (first ? "\n" : ",\n") + Indent(depth + 1) + JsonQuote(YamlKey(*field)) + ": ";
    first = false;
    if (field->is_map()) {
      const auto entries = MapEntries(message, *field, true);
      *out += "{";
      for (std::size_t k = 0; k < entries.size(); ++k) {
        *out +=
            (k ? ",\n" : "\n") + Indent(depth + 2) + entries[k].first + ": " + entries[k].second;
      }
      *out += entries.empty() ? "}" : "\n" + Indent(depth + 1) + "}";
    } else if (field->is_repeated() && field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      *out += "[";
      for (int k = 0; k < refl.FieldSize(message, field); ++k) {
        *out += (k ? ", " : "") + ScalarText(message, *field, k, true);
      }
      *out += "]";
    } else if (field->is_repeated()) {
      const int n = refl.FieldSize(message, field);
      *out += "[";
      for (int k = 0; k < n; ++k) {
        *out += (k ? ",\n" : "\n") + Indent(depth + 2);
        WriteJson(refl.GetRepeatedMessage(message, field, k), depth + 2, true, out);
      }
      *out += n == 0 ? "]" : "\n" + Indent(depth + 1) + "]";
    } else if (!refl.HasField(message, field)) {
      *out += "null";
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      WriteJson(refl.GetMessage(message, field), depth + 1, false, out);
    } else {
      *out += ScalarText(message, *field, -1, true);
    }
  }
  *out += first ? "}" : "\n" + Indent(depth) + "}";
}

}  // namespace

std::string FormatNumber(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  std::string text(buf, end);
  // YAML 1.1 readers (PyYAML) take "1e-05" for a string; "1.0e-05" is a float everywhere.
  const std::size_t e = text.find('e');
  if (e != std::string::npos && text.find('.') == std::string::npos) text.insert(e, ".0");
  return text;
}

std::string EncodeYaml(const Message& message, const std::string& header) {
  std::string out;
  std::istringstream lines(header);
  for (std::string line; std::getline(lines, line);) {
    out += line.empty() ? "#\n" : "# " + line + "\n";
  }
  WriteYaml(message, 0, false, &out);
  return out;
}

std::string EncodeJson(const Message& message) {
  std::string out;
  WriteJson(message, 0, false, &out);
  return out + "\n";
}

}  // namespace gspo::config
