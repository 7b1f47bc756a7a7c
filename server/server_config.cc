#include "server/server_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "common/files.h"
#include "common/strings.h"

namespace gspo::server {
namespace {

std::string Where(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

}  // namespace

const std::vector<std::string>& ServerConfigKeys() {
  static const auto* keys = new std::vector<std::string>{
      "listen",     "metrics-listen", "state-dir",   "client-token-file",     "worker-token-file",
      "tls-cert",   "tls-key",        "output-root", "heartbeat-interval-ms", "heartbeat-timeout-ms"};
  return *keys;
}

common::StatusOr<std::vector<std::string>> ServerConfigFlags(const std::string& path) {
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, 1 << 20));
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return common::InvalidArgumentError(Where(path, e.mark) + e.msg);
  }
  if (!root.IsMap()) {
    return common::InvalidArgumentError(path + ": expected a mapping of settings, e.g. 'listen: 0.0.0.0:50051'");
  }
  std::vector<std::string> flags;
  std::set<std::string> seen;
  for (const auto& entry : root) {
    const YAML::Node& key = entry.first;
    const YAML::Node& value = entry.second;
    if (!key.IsScalar()) return common::InvalidArgumentError(Where(path, key.Mark()) + "expected a setting name");
    const std::string name = key.Scalar();
    const auto& known = ServerConfigKeys();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string message = Where(path, key.Mark()) + name + ": unknown setting";
      if (auto close = common::ClosestMatch(name, known)) message += "; did you mean '" + *close + "'?";
      return common::InvalidArgumentError(message + " (expected one of " + common::Join(known, ", ") + ")");
    }
    if (!seen.insert(name).second) {
      return common::InvalidArgumentError(Where(path, key.Mark()) + name + ": given twice");
    }
    if (!value.IsScalar() || value.Scalar().empty()) {
      return common::InvalidArgumentError(Where(path, value.Mark()) + name + ": expected a single value");
    }
    flags.push_back("--" + name);
    flags.push_back(value.Scalar());
  }
  return flags;
}

}  // namespace gspo::server
