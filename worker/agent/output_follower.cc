#include "worker/agent/output_follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"

namespace gspo::worker {
namespace {
constexpr std::size_t kMaxLineBytes = 64 * 1024;
constexpr std::size_t kReadChunk = 256 * 1024;
}  // namespace

std::uint64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::vector<std::string> LineFollower::ReadNew(std::size_t max_lines) {
  std::vector<std::string> lines;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lines;
  std::string chunk(kReadChunk, '\0');
  while (lines.size() < max_lines) {
    const ssize_t n = ::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset_));
    if (n <= 0) break;
    std::size_t consumed = 0;
    for (ssize_t i = 0; i < n && lines.size() < max_lines; ++i) {
      ++consumed;
      const char c = chunk[static_cast<std::size_t>(i)];
      if (c == '\n') {
        lines.push_back(std::move(partial_));
        partial_.clear();
      } else if (partial_.size() < kMaxLineBytes) {
        partial_ += c;
      }
    }
    offset_ += consumed;
    if (static_cast<std::size_t>(n) < chunk.size()) break;
  }
  ::close(fd);
  return lines;
}

std::optional<FollowedStep> ParseMetricsLine(const std::string& line) {
  auto json = common::ParseJson(line, "metrics.jsonl");
  if (!json.ok() || !json->is_object()) return std::nullopt;
  const common::Json* step = json->Find("step");
  if (step == nullptr || !step->AsInt64()) return std::nullopt;
  FollowedStep out;
  out.step = *step->AsInt64();
  for (const auto& [name, value] : json->members()) {
    if (name != "step" && value.is_number()) out.values[name] = value.AsDouble();
  }
  return out;
}

std::int64_t LatestCheckpointStep(const std::string& output_dir) {
  auto names = common::ListDirectory(common::JoinPath(output_dir, "checkpoints"));
  if (!names.ok()) return 0;
  std::int64_t latest = 0;
  for (const std::string& name : *names) {
    if (!common::StartsWith(name, "step-") || name.size() > 24) continue;
    const std::string digits = name.substr(5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    latest = std::max<std::int64_t>(latest, std::stoll(digits));
  }
  return latest;
}

}  // namespace gspo::worker
