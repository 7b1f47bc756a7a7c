// JobManager's WorkerService side: registration, heartbeats, reports and rendezvous. The class
// and its invariants are described in job_manager.h; the JobService side is job_manager.cc.
#include <algorithm>

#include "common/logging.h"
#include "server/job_manager.h"

namespace gspo::server {
namespace {

constexpr std::size_t kMaxLogLineBytes = 4096;
constexpr std::size_t kMaxRendezvousIdBytes = 128;

std::string Truncate(std::string text, std::size_t max_bytes) {
  if (text.size() > max_bytes) text.resize(max_bytes);
  return text;
}

std::string RankName(const RankKey& key) {
  return key.job_id + " attempt " + std::to_string(key.attempt) + " rank " +
         std::to_string(key.rank);
}

}  // namespace

common::Status JobManager::RegisterWorker(const WorkerRegistration& reg) {
  if (reg.worker_id.empty() || reg.worker_id.size() > 128) {
    return common::InvalidArgumentError("worker_id: expected 1 to 128 bytes");
  }
  if (reg.devices.empty() || reg.devices.size() > options_.max_devices_per_worker) {
    return common::InvalidArgumentError("devices: expected 1 to " +
                                        std::to_string(options_.max_devices_per_worker) + " slots");
  }
  std::set<std::string> distinct(reg.devices.begin(), reg.devices.end());
  if (distinct.size() != reg.devices.size()) {
    return common::InvalidArgumentError("devices: a device is listed twice");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!workers_.count(reg.worker_id) && workers_.size() >= options_.max_workers) {
    return common::ResourceExhaustedError("too many workers registered");
  }
  WorkerState& w = workers_[reg.worker_id];
  w.hostname = Truncate(reg.hostname, 255);
  w.devices = reg.devices;
  w.last_seen = clock_->SteadyNow();
  w.last_seen_ms = NowMs();
  expected_.erase(reg.worker_id);
  common::LogInfo(
      "worker registered",
      {{"worker", reg.worker_id}, {"devices", reg.devices.size()}, {"ranks", reg.ranks.size()}});

  std::set<std::pair<std::string, int>> held;
  for (const RankReport& r : reg.ranks) {
    JobRecord* job = ValidRank(reg.worker_id, r.key);
    if (job == nullptr) continue;
    held.insert({r.key.job_id, r.key.rank});
    JobRecord copy = *job;
    if (r.finished) {
      ApplyResult(copy, r);
    } else {
      MarkRunning(copy);
    }
  }
  // Ranks of started jobs that this worker should hold and does not: lost with its old self.
  std::vector<std::string> lost;
  for (const auto& [id, job] : active_) {
    if (job.state != JobState::kRunning) continue;
    for (const Placement& p : job.placements) {
      if (p.worker_id == reg.worker_id && !held.count({id, p.rank}) &&
          !finished_[id].count(p.rank)) {
        lost.push_back(id);
        break;
      }
    }
  }
  for (const std::string& id : lost) {
    JobRecord job = active_[id];
    LoseRanks(job, "worker " + reg.worker_id + " re-registered without the job's rank");
  }
  ++version_;
  changed_.notify_all();
  TrySchedule();
  return common::Status::Ok();
}

common::StatusOr<HeartbeatReply> JobManager::Heartbeat(const std::string& worker_id,
                                                       const std::vector<RankReport>& running) {
  std::lock_guard<std::mutex> lock(mu_);
  HeartbeatReply reply;
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) {
    reply.reregister = true;
    return reply;
  }
  it->second.last_seen = clock_->SteadyNow();
  it->second.last_seen_ms = NowMs();
  std::set<std::pair<std::string, int>> runs;
  for (const RankReport& r : running) {
    JobRecord* job = ValidRank(worker_id, r.key);
    if (job == nullptr) {
      reply.stop.push_back(r.key);
      continue;
    }
    runs.insert({r.key.job_id, r.key.rank});
    if (job->state == JobState::kScheduled) {
      JobRecord copy = *job;
      MarkRunning(copy);
    }
  }
  for (const auto& [id, job] : active_) {
    if (job.state != JobState::kScheduled && job.state != JobState::kRunning) continue;
    for (const Placement& p : job.placements) {
      if (p.worker_id != worker_id || runs.count({id, p.rank}) || finished_[id].count(p.rank))
        continue;
      RankAssignment a;
      a.key = RankKey{id, job.attempt, p.rank};
      a.world_size = job.gpus;
      a.device = p.device;
      a.spec_yaml = job.spec_yaml;
      a.output_dir = job.output_dir;
      a.resume = job.restarts > 0 || job.attempt > 1 || job.checkpoint_step > 0;
      a.total_steps = job.total_steps;
      reply.assignments.push_back(std::move(a));
    }
  }
  return reply;
}

common::Status JobManager::ReportProgress(const std::string& worker_id, const RankKey& key,
                                          const std::vector<StepRecord>& steps,
                                          const std::vector<std::string>& log_lines) {
  std::lock_guard<std::mutex> lock(mu_);
  JobRecord* active = ValidRank(worker_id, key);
  if (active == nullptr)
    return common::FailedPreconditionError(RankName(key) + " is not running here");
  JobRecord job = *active;
  for (const StepRecord& step : steps) {
    GSPO_RETURN_IF_ERROR(store_->PutStep(job.id, step));
    auto seconds = step.values.find("seconds_step");
    if (metrics_ != nullptr && seconds != step.values.end() && step.step > job.step) {
      metrics_->Observe("gspo_step_duration_seconds", {}, seconds->second);
    }
    if (step.step >= job.step) {
      job.step = step.step;
      job.last_metrics = step.values;
    }
  }
  if (!log_lines.empty()) {
    GSPO_ASSIGN_OR_RETURN(std::int64_t count, store_->CountLogs(job.id));
    std::vector<std::string> lines;
    for (const std::string& line : log_lines) {
      if (static_cast<std::size_t>(count) + lines.size() >= options_.max_log_lines_per_job) break;
      lines.push_back(Truncate(line, kMaxLogLineBytes));
    }
    GSPO_RETURN_IF_ERROR(store_->AppendLogs(job.id, lines));
  }
  if (job.state == JobState::kScheduled) {
    job.state = JobState::kRunning;
    if (job.start_time_ms == 0) job.start_time_ms = NowMs();
    job.reason.clear();
  }
  return Save(job);
}

common::Status JobManager::ReportCheckpoint(const std::string& worker_id, const RankKey& key,
                                            std::int64_t step, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  JobRecord* active = ValidRank(worker_id, key);
  if (active == nullptr)
    return common::FailedPreconditionError(RankName(key) + " is not running here");
  if (step <= active->checkpoint_step) return common::Status::Ok();
  JobRecord job = *active;
  job.checkpoint_step = step;
  job.checkpoint_path = Truncate(path, options_.limits.max_path_bytes);
  return Save(job);
}

void JobManager::ApplyResult(JobRecord& job, const RankReport& result) {
  if (result.exit_code == 0) {
    std::set<int>& done = finished_[job.id];
    done.insert(result.key.rank);
    if (done.size() >= static_cast<std::size_t>(job.gpus)) {
      Finish(job, JobState::kSucceeded, "");
    } else {
      MarkRunning(job);
    }
    return;
  }
  Finish(job, JobState::kFailed,
         "rank " + std::to_string(result.key.rank) + " exited with code " +
             std::to_string(result.exit_code) +
             (result.reason.empty() ? std::string() : ": " + result.reason));
}

common::Status JobManager::ReportResult(const std::string& worker_id, const RankReport& result) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!workers_.count(worker_id)) {
    return common::FailedPreconditionError("worker '" + worker_id + "' is not registered");
  }
  JobRecord* active = ValidRank(worker_id, result.key);
  if (active == nullptr) return common::Status::Ok();  // stale: the job moved on; nothing to do
  JobRecord job = *active;
  ApplyResult(job, result);
  TrySchedule();
  return common::Status::Ok();
}

common::StatusOr<std::string> JobManager::Rendezvous(const std::string& worker_id,
                                                     const RankKey& key, const std::string& id) {
  if (id.size() > kMaxRendezvousIdBytes) {
    return common::InvalidArgumentError("nccl_unique_id: at most 128 bytes");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (ValidRank(worker_id, key) == nullptr) {
    return common::FailedPreconditionError(RankName(key) + " is not running here");
  }
  const std::string slot = key.job_id + "/" + std::to_string(key.attempt);
  if (!id.empty()) {
    if (key.rank != 0) return common::InvalidArgumentError("only rank 0 publishes the NCCL id");
    rendezvous_[slot] = id;
  }
  auto it = rendezvous_.find(slot);
  return it == rendezvous_.end() ? std::string() : it->second;
}

}  // namespace gspo::server
