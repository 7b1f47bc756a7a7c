// Reflection helpers over JobSpec: the YAML name of each field, the dotted paths that are set
// or that exist, and layer merging. Everything that walks the schema generically lives here, so
// the decoder, the encoder, presets and tests agree on names and paths.
// Stateless functions; safe from any thread.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <map>
#include <string>
#include <vector>

namespace gspo::config {

// The key a field has in job.yaml: the field name, except `api_version` -> `apiVersion`.
std::string YamlKey(const google::protobuf::FieldDescriptor& field);

// The field of `type` whose YAML key is `key`, or nullptr.
const google::protobuf::FieldDescriptor* FindFieldByYamlKey(
    const google::protobuf::Descriptor& type, const std::string& key);

// YAML keys of `type`'s fields, in declaration order.
std::vector<std::string> YamlKeys(const google::protobuf::Descriptor& type);

// Every field path of the schema, depth first ("gspo", "gspo.num_generations", ...). Repeated
// and map message fields contribute their element fields as "environment.scenarios[].id".
std::vector<std::string> AllFieldPaths(const google::protobuf::Descriptor& type);

// Paths of the leaf values set in `message`: scalars that are present and repeated or map
// fields that are non-empty ("lora.lora_target_modules").
std::vector<std::string> SetLeafPaths(const google::protobuf::Message& message);

// Where each value came from, by dotted path, and whether the user wrote it (job.yaml or the
// command line) or a preset or default supplied it.
class SourceMap {
 public:
  void Set(const std::string& path, const std::string& where, bool by_user = true) {
    where_[path] = {where, by_user};
  }
  bool Contains(const std::string& path) const { return where_.count(path) > 0; }
  bool SetByUser(const std::string& path) const {
    auto it = where_.find(path);
    return it != where_.end() && it->second.by_user;
  }
  // The entry for `path`, else for its closest ancestor, else "".
  std::string Where(const std::string& path) const;
  // Copies every entry of `other` over this map's entries.
  void Overlay(const SourceMap& other);
  // Records `where` (not by the user) for every leaf set in `message`.
  void SetAll(const google::protobuf::Message& message, const std::string& where);

 private:
  struct Origin {
    std::string where;
    bool by_user;
  };
  std::map<std::string, Origin> where_;
};

// Copies into `dst` every field that is set in `layer`: scalars and messages field by field,
// repeated and map fields as a whole (a list in a later layer replaces the earlier list). A
// repeated field that is empty in `layer` replaces `dst`'s only if `layer_sources` has its path
// (the user wrote `key: []`).
void MergeLayer(const google::protobuf::Message& layer, const SourceMap& layer_sources,
                google::protobuf::Message* dst);

}  // namespace gspo::config
