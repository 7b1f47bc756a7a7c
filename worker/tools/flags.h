// A small command-line flag parser for the gspo tool's subcommands: "--name value",
// "--name=value" and boolean "--switch". Unknown flags and missing values are usage errors.
// Not thread-safe; one per command invocation.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::tools {

class Flags {
 public:
  // `valued` take a value; `switches` do not.
  Flags(std::set<std::string> valued, std::set<std::string> switches)
      : valued_(std::move(valued)), switches_(std::move(switches)) {}

  common::Status Parse(const std::vector<std::string>& args);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  common::StatusOr<std::string> Required(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback) const;
  common::StatusOr<std::int64_t> Int(const std::string& name, std::int64_t fallback) const;
  common::StatusOr<double> Number(const std::string& name, double fallback) const;

 private:
  std::set<std::string> valued_;
  std::set<std::string> switches_;
  std::map<std::string, std::string> values_;
};

}  // namespace gspo::tools
