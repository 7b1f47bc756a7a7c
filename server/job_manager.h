// JobManager: the coordinator's state machine. Service adapters call it with plain structs; it
// owns the job lifecycle, the worker registry and the heartbeat deadlines, and writes every job
// change through to the JobStore before answering.
//
//   SubmitJob ──▶ store (QUEUED) ──▶ TrySchedule ──(ScheduleJobs: free slots)──▶ SCHEDULED
//   Heartbeat ◀── assignments for placed ranks the worker does not run yet; stop for ranks it
//                 runs that are no longer wanted (cancelled, requeued, unknown)
//   ReportProgress (rank 0) ──▶ RUNNING, steps, logs      ReportResult ──▶ SUCCEEDED | FAILED
//   CheckDeadlines: worker silent past the timeout ──▶ its jobs QUEUED again (resume from the
//                   latest checkpoint) up to resources.max_restarts, else FAILED
//
// Restart: Recover() reloads active jobs; the workers they were placed on get one heartbeat
// timeout to re-register (they are told to on their next heartbeat) and report what they still
// run; ranks nobody claims are lost like a lost worker's.
//
// Thread-safe: one mutex around the state; store reads for GetJob/ListJobs bypass it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/metrics/metrics_registry.h"
#include "common/status.h"
#include "server/job_record.h"
#include "server/store/job_store.h"
#include "server/submission.h"

namespace gspo::server {

struct RankKey {
  std::string job_id;
  int attempt = 0;
  int rank = 0;
};

// A rank a worker holds: running, or finished with a result.
struct RankReport {
  RankKey key;
  bool finished = false;
  int exit_code = 0;
  std::string reason;
};

struct WorkerRegistration {
  std::string worker_id;
  std::string hostname;
  std::vector<std::string> devices;
  std::vector<RankReport> ranks;
};

struct RankAssignment {
  RankKey key;
  int world_size = 1;
  std::string device;
  std::string spec_yaml;
  std::string output_dir;
  bool resume = false;
  std::int64_t total_steps = 0;
};

struct HeartbeatReply {
  bool reregister = false;
  std::vector<RankAssignment> assignments;
  std::vector<RankKey> stop;
};

struct WorkerView {
  std::string worker_id;
  std::string hostname;
  std::vector<std::string> devices;
  int slots_used = 0;
  std::int64_t last_heartbeat_ms = 0;
};

struct ManagerOptions {
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds heartbeat_timeout{5000};
  SubmissionLimits limits;
  std::size_t max_log_lines_per_job = 100000;
  std::size_t max_workers = 10000;
  std::size_t max_devices_per_worker = 64;
};

class JobManager {
 public:
  // Borrows `store`, `clock` and `metrics` (may be null); they must outlive the manager.
  JobManager(JobStore* store, common::Clock* clock, ManagerOptions options,
             common::MetricsRegistry* metrics = nullptr);

  // Loads the active jobs from the store (call once, before serving).
  common::Status Recover();

  // JobService.
  common::StatusOr<JobRecord> Submit(const Submission& submission,
                                     std::vector<std::string>* warnings);
  common::StatusOr<JobRecord> Get(const std::string& id);
  common::StatusOr<std::vector<JobRecord>> List(const JobFilter& filter);
  common::StatusOr<JobRecord> Cancel(const std::string& id, const std::string& reason);
  common::StatusOr<std::vector<StepRecord>> Steps(const std::string& id, std::int64_t after_step);
  common::StatusOr<std::vector<std::string>> Logs(const std::string& id, std::int64_t after_line,
                                                  int limit);
  std::vector<WorkerView> Workers();

  // WorkerService.
  common::Status RegisterWorker(const WorkerRegistration& registration);
  common::StatusOr<HeartbeatReply> Heartbeat(const std::string& worker_id,
                                             const std::vector<RankReport>& running);
  common::Status ReportProgress(const std::string& worker_id, const RankKey& key,
                                const std::vector<StepRecord>& steps,
                                const std::vector<std::string>& log_lines);
  common::Status ReportCheckpoint(const std::string& worker_id, const RankKey& key,
                                  std::int64_t step, const std::string& path);
  common::Status ReportResult(const std::string& worker_id, const RankReport& result);
  // Rank 0 publishes `id` (non-empty); every rank gets it back once published (empty: not yet).
  common::StatusOr<std::string> Rendezvous(const std::string& worker_id, const RankKey& key,
                                           const std::string& id);

  // Declares silent workers lost; called periodically by the server.
  void CheckDeadlines();

  // Change notification for streams: a counter bumped on every job change.
  std::uint64_t version();
  // Waits until version() != seen or `timeout` passes; returns the current version.
  std::uint64_t WaitForChange(std::uint64_t seen, std::chrono::milliseconds timeout);

  const ManagerOptions& options() const { return options_; }

 private:
  struct WorkerState {
    std::string hostname;
    std::vector<std::string> devices;
    std::chrono::steady_clock::time_point last_seen;
    std::int64_t last_seen_ms = 0;
  };

  // All require mu_.
  std::int64_t NowMs() const;
  common::Status Save(JobRecord& job);  // stamps update time, writes through, bumps version
  JobRecord* ActiveJob(const std::string& id);
  // The job's current attempt places `key.rank` on `worker_id`.
  JobRecord* ValidRank(const std::string& worker_id, const RankKey& key);
  void TrySchedule();
  void ApplyResult(JobRecord& job, const RankReport& result);
  void Finish(JobRecord& job, JobState state, const std::string& reason);
  void LoseRanks(JobRecord& job, const std::string& why);
  void LoseWorker(const std::string& worker_id, const std::string& why);
  void MarkRunning(JobRecord& job);
  void Count(const char* name);
  void ForgetRendezvous(const std::string& job_id);

  JobStore* store_;
  common::Clock* clock_;
  const ManagerOptions options_;
  common::MetricsRegistry* metrics_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::uint64_t version_ = 0;                      // guarded by mu_
  std::map<std::string, JobRecord> active_;        // guarded by mu_: QUEUED/SCHEDULED/RUNNING
  std::map<std::string, std::set<int>> finished_;  // guarded by mu_: ranks done, this attempt
  std::map<std::string, WorkerState> workers_;     // guarded by mu_
  // Workers that held ranks before a restart and have not re-registered: their deadline.
  std::map<std::string, std::chrono::steady_clock::time_point> expected_;  // guarded by mu_
  std::map<std::string, std::string> rendezvous_;  // guarded by mu_: "job/attempt" -> id
};

}  // namespace gspo::server
