#include "worker/tools/flags.h"

#include <charconv>

#include "common/strings.h"

namespace gspo::tools {

common::Status Flags::Parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::string value;
    bool has_value = false;
    if (name.rfind("--", 0) != 0) {
      return common::InvalidArgumentError("unexpected argument '" + name + "'");
    }
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (switches_.count(name)) {
      if (has_value) return common::InvalidArgumentError(name + " takes no value");
      values_[name] = "true";
      continue;
    }
    if (!valued_.count(name)) {
      std::vector<std::string> known(valued_.begin(), valued_.end());
      known.insert(known.end(), switches_.begin(), switches_.end());
      std::string message = "unknown flag '" + name + "'";
      if (auto close = common::ClosestMatch(name, known)) message += "; did you mean '" + *close + "'?";
      return common::InvalidArgumentError(message);
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return common::InvalidArgumentError(name + " needs a value");
      value = args[++i];
    }
    values_[name] = value;
  }
  return common::Status::Ok();
}

common::StatusOr<std::string> Flags::Required(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return common::InvalidArgumentError(name + " is required");
  return it->second;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

common::StatusOr<std::int64_t> Flags::Int(const std::string& name, std::int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  std::int64_t value = 0;
  const std::string& text = it->second;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return common::InvalidArgumentError(name + ": expected an integer, got '" + text + "'");
  }
  return value;
}

common::StatusOr<double> Flags::Number(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& text = it->second;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return common::InvalidArgumentError(name + ": expected a number, got '" + text + "'");
  }
  return value;
}

}  // namespace gspo::tools
