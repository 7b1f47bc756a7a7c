// Helpers for the config tests: resolve a job.yaml held in memory, as "job.yaml".
#pragma once

#include <string>
#include <vector>

#include "common/config/job_config.h"

namespace gspo::config::test {

// The smallest valid job: everything else comes from presets and defaults.
inline constexpr char kMinimal[] =
    "apiVersion: gspo/v1\n"
    "name: t\n"
    "model:\n"
    "  name_or_path: google/gemma-2-2b-it\n";

inline common::StatusOr<ResolvedJob> Resolve(const std::string& yaml,
                                             std::vector<Override> overrides = {}) {
  JobSource source;
  source.file = "job.yaml";
  source.text = yaml;
  source.overrides = std::move(overrides);
  return ResolveJob(source);
}

inline common::StatusOr<ResolvedJob> ResolveFlags(std::vector<std::string> args) {
  JobSource source;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--set") {
      source.overrides.push_back(ParseSetOverride(args[i + 1]).value());
      i += 2;
      continue;
    }
    if (!ParseGuideFlag(args, &i, &source.overrides).value())
      return common::InvalidArgumentError("bad test flag " + args[i]);
  }
  return ResolveJob(source);
}

// The error text of resolving `yaml`, or "OK".
inline std::string ErrorOf(const std::string& yaml, std::vector<Override> overrides = {}) {
  auto job = Resolve(yaml, std::move(overrides));
  return job.ok() ? "OK" : job.status().message();
}

}  // namespace gspo::config::test
