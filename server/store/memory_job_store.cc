#include "server/store/memory_job_store.h"

#include <algorithm>
#include <cstdio>

namespace gspo::server {

std::string JobIdForSeq(std::int64_t seq) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "job-%06lld", static_cast<long long>(seq));
  return buffer;
}

namespace {
common::Status JobNotFound(const std::string& id) {
  return common::NotFoundError("job '" + id + "' not found");
}
}  // namespace

MemoryJobStore::Entry* MemoryJobStore::Find(const std::string& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

common::StatusOr<JobRecord> MemoryJobStore::Create(JobRecord job) {
  std::lock_guard<std::mutex> lock(mu_);
  job.seq = next_seq_++;
  job.id = JobIdForSeq(job.seq);
  jobs_[job.id].job = job;
  return job;
}

common::Status MemoryJobStore::Update(const JobRecord& job) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = Find(job.id);
  if (entry == nullptr) return JobNotFound(job.id);
  const std::int64_t seq = entry->job.seq;
  entry->job = job;
  entry->job.seq = seq;
  return common::Status::Ok();
}

common::StatusOr<JobRecord> MemoryJobStore::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = Find(id);
  if (entry == nullptr) return JobNotFound(id);
  return entry->job;
}

common::StatusOr<std::vector<JobRecord>> MemoryJobStore::List(const JobFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobRecord> out;
  for (const auto& [id, entry] : jobs_) {
    if (!filter.states.empty() && std::find(filter.states.begin(), filter.states.end(),
                                            entry.job.state) == filter.states.end()) {
      continue;
    }
    out.push_back(entry.job);
  }
  std::sort(out.begin(), out.end(),
            [](const JobRecord& a, const JobRecord& b) { return a.seq < b.seq; });
  if (filter.limit > 0 && out.size() > static_cast<std::size_t>(filter.limit)) {
    out.erase(out.begin(), out.end() - filter.limit);
  }
  return out;
}

common::Status MemoryJobStore::PutStep(const std::string& id, const StepRecord& step) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = Find(id);
  if (entry == nullptr) return JobNotFound(id);
  entry->steps[step.step] = step.values;
  return common::Status::Ok();
}

common::StatusOr<std::vector<StepRecord>> MemoryJobStore::ListSteps(const std::string& id,
                                                                    std::int64_t after_step,
                                                                    int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = Find(id);
  if (entry == nullptr) return JobNotFound(id);
  std::vector<StepRecord> out;
  for (auto it = entry->steps.upper_bound(after_step); it != entry->steps.end(); ++it) {
    if (limit > 0 && out.size() >= static_cast<std::size_t>(limit)) break;
    out.push_back(StepRecord{it->first, it->second});
  }
  return out;
}

common::Status MemoryJobStore::AppendLogs(const std::string& id,
                                          const std::vector<std::string>& lines) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = Find(id);
  if (entry == nullptr) return JobNotFound(id);
  entry->logs.insert(entry->logs.end(), lines.begin(), lines.end());
  return common::Status::Ok();
}

common::StatusOr<std::vector<std::string>> MemoryJobStore::ReadLogs(const std::string& id,
                                                                    std::int64_t after_line,
                                                                    int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = Find(id);
  if (entry == nullptr) return JobNotFound(id);
  std::vector<std::string> out;
  for (std::size_t i = static_cast<std::size_t>(std::max<std::int64_t>(after_line, 0));
       i < entry->logs.size(); ++i) {
    if (limit > 0 && out.size() >= static_cast<std::size_t>(limit)) break;
    out.push_back(entry->logs[i]);
  }
  return out;
}

common::StatusOr<std::int64_t> MemoryJobStore::CountLogs(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* entry = Find(id);
  if (entry == nullptr) return JobNotFound(id);
  return static_cast<std::int64_t>(entry->logs.size());
}

}  // namespace gspo::server
