// JobSpec -> job.yaml text or JSON, in schema order, with the same keys the loader reads. What
// the encoder writes, the loader reads back to an identical JobSpec (tests check every preset).
// Unset optional values are written as null so that every key is visible.
// Stateless functions; safe from any thread.
#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace gspo::config {

// YAML text; `header` (may be empty) is written first as '#' comment lines.
std::string EncodeYaml(const google::protobuf::Message& message, const std::string& header = "");

// JSON text, indented by two spaces, ending in a newline.
std::string EncodeJson(const google::protobuf::Message& message);

// The shortest text that reads back to exactly `value` ("5.0e-06", "0.7", "1").
std::string FormatNumber(double value);

}  // namespace gspo::config
