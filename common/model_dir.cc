#include "common/model_dir.h"

#include <cstdlib>

#include "common/files.h"
#include "common/strings.h"

namespace gspo::common {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::optional<std::string> SnapshotIn(const std::string& repo_dir) {
  const std::string snapshots = JoinPath(repo_dir, "snapshots");
  if (!IsDirectory(snapshots)) return std::nullopt;
  auto ref = ReadFileToString(JoinPath(repo_dir, "refs/main"), 256);
  if (ref.ok()) {
    const std::string revision = Trim(*ref);
    const std::string dir = JoinPath(snapshots, revision);
    if (!revision.empty() && revision.find('/') == std::string::npos && IsDirectory(dir)) {
      return dir;
    }
  }
  // No usable ref: take the snapshot if there is exactly one.
  std::optional<std::string> only;
  auto names = ListDirectory(snapshots);
  if (!names.ok()) return std::nullopt;
  for (const std::string& name : *names) {
    const std::string path = JoinPath(snapshots, name);
    if (!IsDirectory(path)) continue;
    if (only) return std::nullopt;
    only = path;
  }
  return only;
}

}  // namespace

std::vector<std::string> HuggingFaceCacheRoots() {
  std::vector<std::string> roots;
  if (!Env("HF_HUB_CACHE").empty()) roots.push_back(Env("HF_HUB_CACHE"));
  if (!Env("HF_HOME").empty()) roots.push_back(JoinPath(Env("HF_HOME"), "hub"));
  if (!Env("HOME").empty()) roots.push_back(JoinPath(Env("HOME"), ".cache/huggingface/hub"));
  return roots;
}

std::optional<std::string> FindModelDirectory(const std::string& name_or_path) {
  if (name_or_path.empty()) return std::nullopt;
  if (IsDirectory(name_or_path)) return name_or_path;
  // A repo id is "org/name" or "name": no "..", not absolute, at most one slash.
  const std::vector<std::string> parts = Split(name_or_path, '/');
  if (parts.size() > 2 || name_or_path[0] == '/' || name_or_path.find("..") != std::string::npos) {
    return std::nullopt;
  }
  std::string folder = "models";
  for (const std::string& part : parts) folder += "--" + part;
  for (const std::string& root : HuggingFaceCacheRoots()) {
    if (auto dir = SnapshotIn(JoinPath(root, folder))) return dir;
  }
  return std::nullopt;
}

}  // namespace gspo::common
