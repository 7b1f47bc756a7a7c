// OutputFollower: what a running rank has written since the last look: new complete lines of
// output_dir/metrics.jsonl (as steps), new lines of its log, and the newest finished
// checkpoint (output_dir/checkpoints/step-N; the trainer renames a checkpoint into place only
// once it is complete).
//
// Reads files only; never blocks on a writer. Not thread-safe (one per rank, on the agent loop).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gspo::worker {

struct FollowedStep {
  std::int64_t step = 0;
  std::map<std::string, double> values;
};

// Reads the complete lines appended to a file since the last call, from a starting offset.
class LineFollower {
 public:
  LineFollower(std::string path, std::uint64_t offset) : path_(std::move(path)), offset_(offset) {}
  // At most `max_lines`; a partial last line waits for its newline. Lines longer than 64 KiB
  // are cut.
  std::vector<std::string> ReadNew(std::size_t max_lines);
  std::uint64_t offset() const { return offset_; }

 private:
  std::string path_;
  std::uint64_t offset_;
  std::string partial_;
};

// The size of `path` now, 0 when it does not exist (where a follower should start).
std::uint64_t FileSize(const std::string& path);

// One metrics.jsonl line -> a step; nullopt for lines that are not {"step": N, ...}. Non-numeric
// members are skipped.
std::optional<FollowedStep> ParseMetricsLine(const std::string& line);

// The highest N of output_dir/checkpoints/step-N, 0 when there is none.
std::int64_t LatestCheckpointStep(const std::string& output_dir);

}  // namespace gspo::worker
