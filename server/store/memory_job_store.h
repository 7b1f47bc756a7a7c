// MemoryJobStore: a JobStore in process memory, for unit tests of the coordinator's logic.
// Loses everything when destroyed. Thread-safe (one mutex).
#pragma once

#include <map>
#include <mutex>

#include "server/store/job_store.h"

namespace gspo::server {

class MemoryJobStore : public JobStore {
 public:
  common::StatusOr<JobRecord> Create(JobRecord job) override;
  common::Status Update(const JobRecord& job) override;
  common::StatusOr<JobRecord> Get(const std::string& id) override;
  common::StatusOr<std::vector<JobRecord>> List(const JobFilter& filter) override;
  common::Status PutStep(const std::string& id, const StepRecord& step) override;
  common::StatusOr<std::vector<StepRecord>> ListSteps(const std::string& id,
                                                      std::int64_t after_step, int limit) override;
  common::Status AppendLogs(const std::string& id, const std::vector<std::string>& lines) override;
  common::StatusOr<std::vector<std::string>> ReadLogs(const std::string& id,
                                                      std::int64_t after_line, int limit) override;
  common::StatusOr<std::int64_t> CountLogs(const std::string& id) override;

 private:
  struct Entry {
    JobRecord job;
    std::map<std::int64_t, MetricValues> steps;
    std::vector<std::string> logs;
  };
  Entry* Find(const std::string& id);  // requires mu_

  std::mutex mu_;
  std::int64_t next_seq_ = 1;          // guarded by mu_
  std::map<std::string, Entry> jobs_;  // guarded by mu_
};

}  // namespace gspo::server
