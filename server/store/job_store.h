// JobStore: where the coordinator keeps jobs, their step metrics and their logs. The store is
// the truth: after a restart the coordinator rebuilds everything else from it.
//
// Implementations: SqliteJobStore (production) and MemoryJobStore (unit tests). Both pass the
// one contract suite in tests/unit/server/job_store_contract.h. Every method is thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/job_record.h"

namespace gspo::server {

struct JobFilter {
  std::vector<JobState> states;  // empty: every state
  int limit = 0;                 // 0: no limit
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Stores a new job; assigns its id and seq (ignoring any given) and returns the stored record.
  virtual common::StatusOr<JobRecord> Create(JobRecord job) = 0;
  // Replaces the stored record with the same id. kNotFound when there is none.
  virtual common::Status Update(const JobRecord& job) = 0;
  // kNotFound "job 'ID' not found".
  virtual common::StatusOr<JobRecord> Get(const std::string& id) = 0;
  // In submission order (oldest first); with a limit, the newest `limit` of them.
  virtual common::StatusOr<std::vector<JobRecord>> List(const JobFilter& filter) = 0;

  // Records one step's metrics; a step reported again (after a resume) replaces the old values.
  virtual common::Status PutStep(const std::string& id, const StepRecord& step) = 0;
  // Steps after `after_step`, in step order, at most `limit` (0: all).
  virtual common::StatusOr<std::vector<StepRecord>> ListSteps(const std::string& id,
                                                              std::int64_t after_step,
                                                              int limit) = 0;

  // Appends log lines; numbering starts at 1 per job.
  virtual common::Status AppendLogs(const std::string& id,
                                    const std::vector<std::string>& lines) = 0;
  // Lines numbered after `after_line`, at most `limit` (0: all).
  virtual common::StatusOr<std::vector<std::string>> ReadLogs(const std::string& id,
                                                              std::int64_t after_line,
                                                              int limit) = 0;
  virtual common::StatusOr<std::int64_t> CountLogs(const std::string& id) = 0;
};

// "job-000042".
std::string JobIdForSeq(std::int64_t seq);

}  // namespace gspo::server
