// SpecDecoder: a YAML node tree -> JobSpec, driven by the proto schema.
//
// Each YAML key must name a field (unknown keys are errors that suggest the closest valid key);
// each value must have the field's type. Nothing is range-checked here (see validate.h). Every
// value that is set is recorded in the SourceMap with its location, so later checks can point
// at the line the user wrote. Errors are collected, not thrown: one pass reports them all.
// Not thread-safe; use one decoder per document.
#pragma once

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "common/config/config_error.h"
#include "common/config/spec_fields.h"

namespace gspo::config {

class SpecDecoder {
 public:
  // `source_name` prefixes locations ("job.yaml" -> "job.yaml:3:5"). When `fixed_where` is not
  // empty, every location is reported as that text instead (values from the command line).
  SpecDecoder(std::string source_name, std::string fixed_where, SourceMap* sources,
              std::vector<ConfigError>* errors);

  // Decodes the top-level mapping `root` into `message`.
  void Decode(const YAML::Node& root, google::protobuf::Message* message);

 private:
  using Field = google::protobuf::FieldDescriptor;

  void DecodeMessage(const YAML::Node& node, google::protobuf::Message* message,
                     const std::string& path);
  void DecodeField(const YAML::Node& value, google::protobuf::Message* message, const Field& field,
                   const std::string& path);
  void DecodeMap(const YAML::Node& value, google::protobuf::Message* message, const Field& field,
                 const std::string& path);
  void DecodeList(const YAML::Node& value, google::protobuf::Message* message, const Field& field,
                  const std::string& path);
  // Sets (or appends, for repeated fields) one scalar value; false after reporting an error.
  bool DecodeScalar(const YAML::Node& value, google::protobuf::Message* message, const Field& field,
                    const std::string& path);

  std::string Where(const YAML::Node& node) const;
  void Error(const YAML::Node& node, const std::string& path, const std::string& message);

  std::string source_name_;
  std::string fixed_where_;
  SourceMap* sources_;
  std::vector<ConfigError>* errors_;
};

// "a mapping" / "a list" / "null" / "'text'": how an error describes what the user wrote.
std::string DescribeYamlValue(const YAML::Node& node);

}  // namespace gspo::config
