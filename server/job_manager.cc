#include "server/job_manager.h"

#include <algorithm>

#include "common/logging.h"
#include "server/scheduler.h"

namespace gspo::server {
namespace {

constexpr std::size_t kMaxLogLineBytes = 4096;
constexpr std::size_t kMaxReasonBytes = 8192;
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

JobManager::JobManager(JobStore* store, common::Clock* clock, ManagerOptions options,
                       common::MetricsRegistry* metrics)
    : store_(store), clock_(clock), options_(std::move(options)), metrics_(metrics) {
  if (metrics_ == nullptr) return;
  metrics_->Declare("gspo_jobs_submitted_total", "Jobs accepted by SubmitJob",
                    common::MetricType::kCounter);
  metrics_->Declare("gspo_jobs_requeued_total", "Jobs sent back to the queue after a lost worker",
                    common::MetricType::kCounter);
  metrics_->Declare("gspo_workers_lost_total", "Workers declared lost (heartbeat deadline)",
                    common::MetricType::kCounter);
  metrics_->Declare("gspo_step_duration_seconds", "Wall time of one GSPO step (rank 0)",
                    common::MetricType::kHistogram,
                    {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800});
  // Zero samples, so the counters exist from the first scrape.
  metrics_->Add("gspo_jobs_submitted_total", {}, 0);
  metrics_->Add("gspo_jobs_requeued_total", {}, 0);
  metrics_->Add("gspo_workers_lost_total", {}, 0);
}

void JobManager::Count(const char* name) {
  if (metrics_ != nullptr) metrics_->Add(name, {}, 1);
}

std::int64_t JobManager::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now().time_since_epoch())
      .count();
}

common::Status JobManager::Recover() {
  std::lock_guard<std::mutex> lock(mu_);
  GSPO_ASSIGN_OR_RETURN(
      std::vector<JobRecord> jobs,
      store_->List(JobFilter{{JobState::kQueued, JobState::kScheduled, JobState::kRunning}, 0}));
  const auto deadline = clock_->SteadyNow() + options_.heartbeat_timeout;
  for (JobRecord& job : jobs) {
    for (const Placement& p : job.placements) expected_[p.worker_id] = deadline;
    common::LogInfo("recovered job", {{"job", job.id}, {"state", JobStateName(job.state)}});
    active_[job.id] = std::move(job);
  }
  return common::Status::Ok();
}

common::Status JobManager::Save(JobRecord& job) {
  job.update_time_ms = NowMs();
  GSPO_RETURN_IF_ERROR(store_->Update(job));
  if (IsTerminal(job.state)) {
    active_.erase(job.id);
    finished_.erase(job.id);
  } else {
    active_[job.id] = job;
  }
  ++version_;
  changed_.notify_all();
  return common::Status::Ok();
}

JobRecord* JobManager::ActiveJob(const std::string& id) {
  auto it = active_.find(id);
  return it == active_.end() ? nullptr : &it->second;
}

JobRecord* JobManager::ValidRank(const std::string& worker_id, const RankKey& key) {
  JobRecord* job = ActiveJob(key.job_id);
  if (job == nullptr || job->state == JobState::kQueued || job->attempt != key.attempt) return nullptr;
  for (const Placement& p : job->placements) {
    if (p.rank == key.rank && p.worker_id == worker_id) return job;
  }
  return nullptr;
}

// --- JobService ---

common::StatusOr<JobRecord> JobManager::Submit(const Submission& submission,
                                               std::vector<std::string>* warnings) {
  GSPO_ASSIGN_OR_RETURN(ValidatedJob valid, ValidateSubmission(submission, options_.limits));
  if (warnings != nullptr) *warnings = valid.warnings;
  JobRecord job;
  job.name = valid.name;
  job.spec_yaml = std::move(valid.spec_yaml);
  job.output_dir = valid.output_dir;
  job.state = JobState::kQueued;
  job.priority = valid.priority;
  job.gpus = valid.gpus;
  job.max_restarts = valid.max_restarts;
  job.total_steps = valid.total_steps;
  std::lock_guard<std::mutex> lock(mu_);
  job.submit_time_ms = job.update_time_ms = NowMs();
  GSPO_ASSIGN_OR_RETURN(job, store_->Create(std::move(job)));
  common::LogInfo("job submitted", {{"job", job.id}, {"name", job.name}, {"gpus", job.gpus}});
  active_[job.id] = job;
  Count("gspo_jobs_submitted_total");
  ++version_;
  changed_.notify_all();
  TrySchedule();
  return active_.count(job.id) ? active_[job.id] : job;
}

common::StatusOr<JobRecord> JobManager::Get(const std::string& id) { return store_->Get(id); }

common::StatusOr<std::vector<JobRecord>> JobManager::List(const JobFilter& filter) {
  return store_->List(filter);
}

common::StatusOr<std::vector<StepRecord>> JobManager::Steps(const std::string& id,
                                                            std::int64_t after_step) {
  return store_->ListSteps(id, after_step, 1000);
}

common::StatusOr<std::vector<std::string>> JobManager::Logs(const std::string& id,
                                                            std::int64_t after_line, int limit) {
  return store_->ReadLogs(id, after_line, limit);
}

common::StatusOr<JobRecord> JobManager::Cancel(const std::string& id, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  JobRecord* active = ActiveJob(id);
  if (active == nullptr) {
    GSPO_ASSIGN_OR_RETURN(JobRecord job, store_->Get(id));
    return common::FailedPreconditionError("job '" + id + "' already ended (" +
                                           JobStateName(job.state) + ")");
  }
  JobRecord job = *active;
  Finish(job, JobState::kCancelled,
         "cancelled" + (reason.empty() ? std::string() : ": " + Truncate(reason, 1024)));
  TrySchedule();
  return job;
}

std::vector<WorkerView> JobManager::Workers() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WorkerView> out;
  for (const auto& [id, w] : workers_) {
    WorkerView view{id, w.hostname, w.devices, 0, w.last_seen_ms};
    for (const auto& [job_id, job] : active_) {
      for (const Placement& p : job.placements) view.slots_used += p.worker_id == id ? 1 : 0;
    }
    out.push_back(std::move(view));
  }
  return out;
}

// --- scheduling and state changes (all under mu_) ---

void JobManager::TrySchedule() {
  std::vector<QueuedJob> queue;
  std::map<std::string, std::set<std::string>> used;
  for (const auto& [id, job] : active_) {
    if (job.state == JobState::kQueued) queue.push_back(QueuedJob{id, job.priority, job.seq, job.gpus});
    for (const Placement& p : job.placements) used[p.worker_id].insert(p.device);
  }
  if (queue.empty()) return;
  std::vector<WorkerSlots> slots;
  for (const auto& [id, w] : workers_) {
    WorkerSlots s{id, w.devices, {}};
    for (const std::string& d : w.devices) {
      if (!used[id].count(d)) s.free_devices.push_back(d);
    }
    slots.push_back(std::move(s));
  }
  for (ScheduledJob& placed : ScheduleJobs(std::move(queue), std::move(slots))) {
    JobRecord job = active_[placed.job_id];
    job.state = JobState::kScheduled;
    job.attempt += 1;
    job.placements = std::move(placed.placements);
    finished_.erase(job.id);
    common::Status saved = Save(job);
    if (!saved.ok()) {
      common::LogError("cannot save scheduled job", {{"job", job.id}, {"error", saved.message()}});
      continue;
    }
    common::LogInfo("job scheduled", {{"job", job.id}, {"attempt", job.attempt},
                                      {"worker", job.placements.front().worker_id}});
  }
}

void JobManager::ForgetRendezvous(const std::string& job_id) {
  const std::string prefix = job_id + "/";
  for (auto it = rendezvous_.lower_bound(prefix);
       it != rendezvous_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    it = rendezvous_.erase(it);
  }
}

void JobManager::Finish(JobRecord& job, JobState state, const std::string& reason) {
  ForgetRendezvous(job.id);
  job.state = state;
  job.reason = Truncate(reason, kMaxReasonBytes);
  job.end_time_ms = NowMs();
  job.placements.clear();
  common::Status saved = Save(job);
  if (!saved.ok()) {
    common::LogError("cannot save finished job", {{"job", job.id}, {"error", saved.message()}});
  }
  common::LogInfo("job ended", {{"job", job.id}, {"state", JobStateName(state)}, {"reason", job.reason}});
}

void JobManager::MarkRunning(JobRecord& job) {
  if (job.state != JobState::kScheduled) return;
  job.state = JobState::kRunning;
  if (job.start_time_ms == 0) job.start_time_ms = NowMs();
  job.reason.clear();
  (void)Save(job);
}

void JobManager::LoseRanks(JobRecord& job, const std::string& why) {
  if (job.restarts >= job.max_restarts) {
    Finish(job, JobState::kFailed,
           why + "; resources.max_restarts (" + std::to_string(job.max_restarts) + ") reached");
    return;
  }
  ForgetRendezvous(job.id);
  job.restarts += 1;
  Count("gspo_jobs_requeued_total");
  job.state = JobState::kQueued;
  job.reason = why + "; requeued (restart " + std::to_string(job.restarts) + " of " +
               std::to_string(job.max_restarts) + ")";
  job.placements.clear();
  finished_.erase(job.id);
  (void)Save(job);
  common::LogWarning("job requeued", {{"job", job.id}, {"reason", job.reason}});
}

void JobManager::LoseWorker(const std::string& worker_id, const std::string& why) {
  workers_.erase(worker_id);
  expected_.erase(worker_id);
  Count("gspo_workers_lost_total");
  common::LogWarning("worker lost", {{"worker", worker_id}, {"why", why}});
  std::vector<std::string> affected;
  for (const auto& [id, job] : active_) {
    for (const Placement& p : job.placements) {
      if (p.worker_id == worker_id) {
        affected.push_back(id);
        break;
      }
    }
  }
  for (const std::string& id : affected) {
    JobRecord job = active_[id];
    LoseRanks(job, "worker " + worker_id + " lost (" + why + ")");
  }
}

void JobManager::CheckDeadlines() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_->SteadyNow();
  std::vector<std::string> lost;
  for (const auto& [id, w] : workers_) {
    if (now - w.last_seen > options_.heartbeat_timeout) lost.push_back(id);
  }
  for (const auto& [id, deadline] : expected_) {
    if (now > deadline) lost.push_back(id);
  }
  const std::string why = "no heartbeat for " +
                          std::to_string(options_.heartbeat_timeout.count()) + " ms";
  for (const std::string& id : lost) LoseWorker(id, why);
  if (!lost.empty()) TrySchedule();
}

std::uint64_t JobManager::version() {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::uint64_t JobManager::WaitForChange(std::uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return version_ != seen; });
  return version_;
}

// --- WorkerService ---

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
  common::LogInfo("worker registered", {{"worker", reg.worker_id}, {"devices", reg.devices.size()},
                                        {"ranks", reg.ranks.size()}});

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
      if (p.worker_id != worker_id || runs.count({id, p.rank}) || finished_[id].count(p.rank)) continue;
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
  if (active == nullptr) return common::FailedPreconditionError(RankName(key) + " is not running here");
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
  if (active == nullptr) return common::FailedPreconditionError(RankName(key) + " is not running here");
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
