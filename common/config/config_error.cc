#include "common/config/config_error.h"

namespace gspo::config {

std::string ConfigError::ToString() const {
  std::string out;
  for (const std::string* part : {&where, &path}) {
    if (part->empty()) continue;
    out += *part;
    out += ": ";
  }
  out += message;
  return out;
}

common::Status ErrorsToStatus(const std::vector<ConfigError>& errors) {
  if (errors.empty()) return common::Status::Ok();
  std::string text;
  for (const ConfigError& error : errors) {
    if (!text.empty()) text += '\n';
    text += error.ToString();
  }
  return common::InvalidArgumentError(std::move(text));
}

}  // namespace gspo::config
