#include "worker/engine/model/config_reader.h"

#include <cmath>

namespace gspo::engine {

bool ConfigReader::Has(std::string_view key) const {
  const common::Json* value = object_.Find(key);
  return value != nullptr && !value->is_null();
}

common::Status ConfigReader::Error(std::string_view key, const std::string& message) const {
  return common::InvalidArgumentError(source_ + ": " + std::string(key) + ": " + message);
}

common::StatusOr<std::int64_t> ConfigReader::Int(std::string_view key) const {
  if (!Has(key)) return Error(key, "required field is missing");
  GSPO_ASSIGN_OR_RETURN(std::int64_t value, IntOr(key, 0));
  if (value <= 0) return Error(key, "expected a positive integer, got " + std::to_string(value));
  return value;
}

common::StatusOr<std::int64_t> ConfigReader::IntOr(std::string_view key,
                                                   std::int64_t fallback) const {
  if (!Has(key)) return fallback;
  const common::Json& value = *object_.Find(key);
  std::optional<std::int64_t> integer = value.is_number() ? value.AsInt64() : std::nullopt;
  if (!integer) return Error(key, "expected an integer, got " + common::WriteJson(value));
  return *integer;
}

common::StatusOr<double> ConfigReader::NumberOr(std::string_view key, double fallback) const {
  if (!Has(key)) return fallback;
  const common::Json& value = *object_.Find(key);
  if (!value.is_number()) return Error(key, "expected a number, got " + common::WriteJson(value));
  return value.AsDouble();
}

common::StatusOr<std::optional<double>> ConfigReader::OptionalNumber(std::string_view key) const {
  if (!Has(key)) return std::optional<double>();
  GSPO_ASSIGN_OR_RETURN(double value, NumberOr(key, 0));
  return std::optional<double>(value);
}

common::StatusOr<bool> ConfigReader::BoolOr(std::string_view key, bool fallback) const {
  if (!Has(key)) return fallback;
  const common::Json& value = *object_.Find(key);
  if (!value.is_bool())
    return Error(key, "expected true or false, got " + common::WriteJson(value));
  return value.AsBool();
}

common::StatusOr<std::string> ConfigReader::StringOr(std::string_view key,
                                                     std::string fallback) const {
  if (!Has(key)) return fallback;
  const common::Json& value = *object_.Find(key);
  if (!value.is_string()) return Error(key, "expected a string, got " + common::WriteJson(value));
  return value.AsString();
}

}  // namespace gspo::engine
