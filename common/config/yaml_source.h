// Loads one YAML document defensively: job specs cross trust boundaries (gspoctl sends them to
// the coordinator), so nothing here trusts the input.
//
// Before yaml-cpp builds a node tree, the text is checked for size, UTF-8 validity, tabs in
// indentation, a single document, nesting depth and alias expansion (an "anchor bomb" expands
// to billions of nodes from a few hundred bytes). Every error names `source_name` and, where
// it can, the line and column (1-based).
// Stateless functions; safe to call from any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gspo::config {

inline constexpr std::size_t kMaxJobYamlBytes = 1 << 20;
inline constexpr int kMaxYamlDepth = 32;
inline constexpr std::size_t kMaxYamlNodes = 200000;  // after alias expansion

struct YamlLimits {
  std::size_t max_bytes = kMaxJobYamlBytes;
  int max_depth = kMaxYamlDepth;
  std::size_t max_nodes = kMaxYamlNodes;
};

// Parses `text` (the contents of `source_name`). An empty or comment-only text is an error.
common::StatusOr<YAML::Node> ParseYaml(const std::string& source_name, std::string_view text,
                                       const YamlLimits& limits = {});

// Reads `path` (at most limits.max_bytes) and parses it.
common::StatusOr<YAML::Node> LoadYamlFile(const std::string& path, const YamlLimits& limits = {});

// "name:line:col" for a node's position (yaml-cpp marks are 0-based; this prints 1-based).
std::string FormatMark(const std::string& source_name, const YAML::Mark& mark);

}  // namespace gspo::config
