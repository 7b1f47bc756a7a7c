#include "server/job_manager.h"

#include <algorithm>

#include "common/logging.h"
#include "server/scheduler.h"

namespace gspo::server {
namespace {

constexpr std::size_t kMaxReasonBytes = 8192;

std::string Truncate(std::string text, std::size_t max_bytes) {
  if (text.size() > max_bytes) text.resize(max_bytes);
  return text;
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
  if (job == nullptr || job->state == JobState::kQueued || job->attempt != key.attempt)
    return nullptr;
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
    if (job.state == JobState::kQueued)
      queue.push_back(QueuedJob{id, job.priority, job.seq, job.gpus});
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
    common::LogInfo(
        "job scheduled",
        {{"job", job.id}, {"attempt", job.attempt}, {"worker", job.placements.front().worker_id}});
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
  common::LogInfo("job ended",
                  {{"job", job.id}, {"state", JobStateName(state)}, {"reason", job.reason}});
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
  const std::string why =
      "no heartbeat for " + std::to_string(options_.heartbeat_timeout.count()) + " ms";
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

}  // namespace gspo::server
