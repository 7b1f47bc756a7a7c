// ConfigReader: typed, checked access to the fields of a config.json object, with errors that
// name the file and the field ("config.json: hidden_size: expected an integer, got \"x\"").
// Holds a reference to the parsed document; not thread-safe to mutate, safe to read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/json.h"
#include "common/status.h"

namespace gspo::engine {

class ConfigReader {
 public:
  ConfigReader(const common::Json& object, std::string source)
      : object_(object), source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  const common::Json& object() const { return object_; }
  bool Has(std::string_view key) const;  // present and not null

  common::StatusOr<std::int64_t> Int(std::string_view key) const;  // required, > 0
  common::StatusOr<std::int64_t> IntOr(std::string_view key, std::int64_t fallback) const;
  common::StatusOr<double> NumberOr(std::string_view key, double fallback) const;
  common::StatusOr<std::optional<double>> OptionalNumber(std::string_view key) const;
  common::StatusOr<bool> BoolOr(std::string_view key, bool fallback) const;
  common::StatusOr<std::string> StringOr(std::string_view key, std::string fallback) const;

  // "config.json: <key>: <message>" as kInvalidArgument.
  common::Status Error(std::string_view key, const std::string& message) const;

 private:
  const common::Json& object_;
  std::string source_;
};

}  // namespace gspo::engine
