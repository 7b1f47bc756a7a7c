// JobRecord: the coordinator's plain view of one job, as the job store keeps it. The gRPC
// adapters convert it to and from gspo.v1.Job at the edge.
//
// A value type; no synchronisation of its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gspo::server {

// QUEUED -> SCHEDULED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED; a lost worker sends a
// SCHEDULED or RUNNING job back to QUEUED (up to resources.max_restarts times).
enum class JobState { kQueued = 1, kScheduled, kRunning, kSucceeded, kFailed, kCancelled };

const char* JobStateName(JobState state);  // "QUEUED", ...
std::optional<JobState> JobStateFromName(const std::string& name);
bool IsTerminal(JobState state);
// QUEUED, SCHEDULED and RUNNING: the job still needs the coordinator's attention.
bool IsActive(JobState state);

// One rank of a job placed on a worker's device slot.
struct Placement {
  int rank = 0;
  std::string worker_id;
  std::string device;

  friend bool operator==(const Placement& a, const Placement& b) {
    return a.rank == b.rank && a.worker_id == b.worker_id && a.device == b.device;
  }
};

using MetricValues = std::map<std::string, double>;

struct JobRecord {
  std::string id;        // assigned by the store: "job-000001", increasing
  std::int64_t seq = 0;  // submission order, assigned by the store
  std::string name;
  std::string spec_yaml;  // resolved spec, paths absolute
  std::string output_dir;
  JobState state = JobState::kQueued;
  std::string reason;
  int priority = 0;
  int gpus = 1;
  int restarts = 0;
  int max_restarts = 0;
  int attempt = 0;
  std::int64_t submit_time_ms = 0;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::int64_t update_time_ms = 0;
  std::int64_t step = 0;
  std::int64_t total_steps = 0;
  MetricValues last_metrics;
  std::int64_t checkpoint_step = 0;
  std::string checkpoint_path;
  std::vector<Placement> placements;
};

struct StepRecord {
  std::int64_t step = 0;
  MetricValues values;
};

}  // namespace gspo::server
