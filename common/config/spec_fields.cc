#include "common/config/spec_fields.h"

namespace gspo::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

void CollectAllPaths(const Descriptor& type, const std::string& prefix,
                     std::vector<std::string>* out) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const std::string path = Join(prefix, YamlKey(field));
    out->push_back(path);
    if (field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field.is_map()) continue;
    CollectAllPaths(*field.message_type(), field.is_repeated() ? path + "[]" : path, out);
  }
}

void CollectSetPaths(const Message& message, const std::string& prefix,
                     std::vector<std::string>* out) {
  const Reflection& refl = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  refl.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string path = Join(prefix, YamlKey(*field));
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
      CollectSetPaths(refl.GetMessage(message, field), path, out);
    } else {
      out->push_back(path);
    }
  }
}

void Merge(const Message& layer, const SourceMap& sources, const std::string& prefix,
           Message* dst) {
  const Reflection& src_refl = *layer.GetReflection();
  const Reflection& dst_refl = *dst->GetReflection();
  const Descriptor& type = *layer.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* field = type.field(i);
    const std::string path = Join(prefix, YamlKey(*field));
    if (field->is_repeated()) {
      if (src_refl.FieldSize(layer, field) == 0 && !sources.Contains(path)) continue;
      dst_refl.ClearField(dst, field);
      for (int k = 0; k < src_refl.FieldSize(layer, field); ++k) {
        switch (field->cpp_type()) {
          case FieldDescriptor::CPPTYPE_STRING:
            dst_refl.AddString(dst, field, src_refl.GetRepeatedString(layer, field, k));
            break;
          case FieldDescriptor::CPPTYPE_MESSAGE:
            dst_refl.AddMessage(dst, field)->CopyFrom(src_refl.GetRepeatedMessage(layer, field, k));
            break;
          default:
            // The schema has repeated strings and messages only; a new repeated scalar type
            // needs a case here.
            break;
        }
      }
      continue;
    }
    if (!src_refl.HasField(layer, field)) continue;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        Merge(src_refl.GetMessage(layer, field), sources, path,
              dst_refl.MutableMessage(dst, field));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        dst_refl.SetString(dst, field, src_refl.GetString(layer, field));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        dst_refl.SetBool(dst, field, src_refl.GetBool(layer, field));
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        dst_refl.SetInt32(dst, field, src_refl.GetInt32(layer, field));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        dst_refl.SetInt64(dst, field, src_refl.GetInt64(layer, field));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        dst_refl.SetDouble(dst, field, src_refl.GetDouble(layer, field));
        break;
      default:
        break;
    }
  }
}

}  // namespace

std::string YamlKey(const FieldDescriptor& field) {
  return field.name() == "api_version" ? "apiVersion" : field.name();
}

const FieldDescriptor* FindFieldByYamlKey(const Descriptor& type, const std::string& key) {
  for (int i = 0; i < type.field_count(); ++i) {
    if (YamlKey(*type.field(i)) == key) return type.field(i);
  }
  return nullptr;
}

std::vector<std::string> YamlKeys(const Descriptor& type) {
  std::vector<std::string> keys;
  for (int i = 0; i < type.field_count(); ++i) keys.push_back(YamlKey(*type.field(i)));
  return keys;
}

std::vector<std::string> AllFieldPaths(const Descriptor& type) {
  std::vector<std::string> paths;
  CollectAllPaths(type, "", &paths);
  return paths;
}

std::vector<std::string> SetLeafPaths(const Message& message) {
  std::vector<std::string> paths;
  CollectSetPaths(message, "", &paths);
  return paths;
}

std::string SourceMap::Where(const std::string& path) const {
  std::string probe = path;
  while (!probe.empty()) {
    auto it = where_.find(probe);
    if (it != where_.end()) return it->second.where;
    const std::size_t cut = probe.find_last_of(".[");
    if (cut == std::string::npos) break;
    probe.resize(cut);
  }
  return "";
}

void SourceMap::Overlay(const SourceMap& other) {
  for (const auto& [path, origin] : other.where_) where_[path] = origin;
}

void SourceMap::SetAll(const Message& message, const std::string& where) {
  for (const std::string& path : SetLeafPaths(message)) where_[path] = {where, false};
}

void MergeLayer(const Message& layer, const SourceMap& layer_sources, Message* dst) {
  Merge(layer, layer_sources, "", dst);
}

}  // namespace gspo::config
