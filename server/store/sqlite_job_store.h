// SqliteJobStore: the coordinator's JobStore in one SQLite database file (state-dir/jobs.db).
//
// WAL journal with synchronous=FULL: a committed call survives a SIGKILL of the coordinator and
// a power loss; readers never block the writer. One connection behind a mutex (the coordinator's
// writes are small; SQLite serialises writers anyway). Thread-safe. Owns the connection.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "server/store/job_store.h"

struct sqlite3;

namespace gspo::server {

class SqliteJobStore : public JobStore {
 public:
  // Opens or creates the database and its tables. Errors name the path.
  static common::StatusOr<std::unique_ptr<SqliteJobStore>> Open(const std::string& path);
  ~SqliteJobStore() override;
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;

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
  SqliteJobStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  common::Status Exec(const char* sql);                 // requires mu_
  common::Status Error(const std::string& what) const;  // the connection's last error
  common::Status RequireJob(const std::string& id);     // requires mu_
  common::StatusOr<std::int64_t> CountLogsLocked(const std::string& id);

  std::mutex mu_;
  sqlite3* db_;  // guarded by mu_
  std::string path_;
};

}  // namespace gspo::server
