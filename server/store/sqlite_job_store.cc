#include "server/store/sqlite_job_store.h"

#include <sqlite3.h>

#include "server/store/record_codec.h"

namespace gspo::server {
namespace {

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  void Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return text != nullptr ? std::string(text, sqlite3_column_bytes(stmt_, column)) : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
  job_id TEXT NOT NULL,
  step INTEGER NOT NULL,
  metrics TEXT NOT NULL,
  PRIMARY KEY (job_id, step));
CREATE TABLE IF NOT EXISTS logs (
  job_id TEXT NOT NULL,
  line_no INTEGER NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (job_id, line_no));
)sql";

}  // namespace

common::StatusOr<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = path + ": cannot open the job store: " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return common::UnavailableError(message);
  }
  std::unique_ptr<SqliteJobStore> store(new SqliteJobStore(db, path));
  std::lock_guard<std::mutex> lock(store->mu_);
  sqlite3_busy_timeout(db, 5000);
  GSPO_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  GSPO_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  GSPO_RETURN_IF_ERROR(store->Exec(kSchema));
  return store;
}

SqliteJobStore::~SqliteJobStore() { sqlite3_close(db_); }

common::Status SqliteJobStore::Error(const std::string& what) const {
  return common::InternalError(path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

common::Status SqliteJobStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return common::InternalError(path_ + ": " + text);
  }
  return common::Status::Ok();
}

common::Status SqliteJobStore::RequireJob(const std::string& id) {
  Statement stmt(db_, "SELECT 1 FROM jobs WHERE id = ?");
  if (!stmt.ok()) return Error("prepare");
  stmt.Bind(1, id);
  const int rc = stmt.Step();
  if (rc == SQLITE_ROW) return common::Status::Ok();
  if (rc == SQLITE_DONE) return common::NotFoundError("job '" + id + "' not found");
  return Error("read job " + id);
}

common::StatusOr<JobRecord> SqliteJobStore::Create(JobRecord job) {
  std::lock_guard<std::mutex> lock(mu_);
  GSPO_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  // The id derives from the row's seq, so insert a placeholder and fill the record in.
  Statement insert(db_, "INSERT INTO jobs (id, state, record) VALUES (?, ?, '')");
  if (!insert.ok()) {
    (void)Exec("ROLLBACK");
    return Error("prepare");
  }
  insert.Bind(1, "pending-" + std::to_string(reinterpret_cast<std::uintptr_t>(&job)));
  insert.Bind(2, std::string(JobStateName(job.state)));
  if (insert.Step() != SQLITE_DONE) {
    common::Status error = Error("insert job");
    (void)Exec("ROLLBACK");
    return error;
  }
  job.seq = sqlite3_last_insert_rowid(db_);
  job.id = JobIdForSeq(job.seq);
  Statement update(db_, "UPDATE jobs SET id = ?, record = ? WHERE seq = ?");
  update.Bind(1, job.id);
  update.Bind(2, EncodeJobRecord(job));
  update.Bind(3, job.seq);
  if (!update.ok() || update.Step() != SQLITE_DONE) {
    common::Status error = Error("insert job");
    (void)Exec("ROLLBACK");
    return error;
  }
  GSPO_RETURN_IF_ERROR(Exec("COMMIT"));
  return job;
}

common::Status SqliteJobStore::Update(const JobRecord& job) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement stmt(db_, "SELECT seq FROM jobs WHERE id = ?");
  if (!stmt.ok()) return Error("prepare");
  stmt.Bind(1, job.id);
  const int rc = stmt.Step();
  if (rc == SQLITE_DONE) return common::NotFoundError("job '" + job.id + "' not found");
  if (rc != SQLITE_ROW) return Error("read job " + job.id);
  JobRecord stored = job;
  stored.seq = stmt.Int(0);
  Statement update(db_, "UPDATE jobs SET state = ?, record = ? WHERE id = ?");
  if (!update.ok()) return Error("prepare");
  update.Bind(1, std::string(JobStateName(stored.state)));
  update.Bind(2, EncodeJobRecord(stored));
  update.Bind(3, stored.id);
  if (update.Step() != SQLITE_DONE) return Error("update job " + job.id);
  return common::Status::Ok();
}

common::StatusOr<JobRecord> SqliteJobStore::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement stmt(db_, "SELECT record FROM jobs WHERE id = ?");
  if (!stmt.ok()) return Error("prepare");
  stmt.Bind(1, id);
  const int rc = stmt.Step();
  if (rc == SQLITE_DONE) return common::NotFoundError("job '" + id + "' not found");
  if (rc != SQLITE_ROW) return Error("read job " + id);
  return DecodeJobRecord(stmt.Text(0), path_ + ": job " + id);
}

common::StatusOr<std::vector<JobRecord>> SqliteJobStore::List(const JobFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
  // Newest first with the limit, then reversed into submission order.
  Statement stmt(db_, "SELECT record, state FROM jobs ORDER BY seq DESC");
  if (!stmt.ok()) return Error("prepare");
  std::vector<JobRecord> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    if (!filter.states.empty()) {
      auto state = JobStateFromName(stmt.Text(1));
      bool wanted = false;
      for (JobState s : filter.states) wanted = wanted || (state && *state == s);
      if (!wanted) continue;
    }
    GSPO_ASSIGN_OR_RETURN(JobRecord job, DecodeJobRecord(stmt.Text(0), path_ + ": jobs"));
    out.push_back(std::move(job));
    if (filter.limit > 0 && out.size() >= static_cast<std::size_t>(filter.limit)) break;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("list jobs");
  return std::vector<JobRecord>(out.rbegin(), out.rend());
}

common::Status SqliteJobStore::PutStep(const std::string& id, const StepRecord& step) {
  std::lock_guard<std::mutex> lock(mu_);
  GSPO_RETURN_IF_ERROR(RequireJob(id));
  Statement stmt(db_, "INSERT OR REPLACE INTO steps (job_id, step, metrics) VALUES (?, ?, ?)");
  if (!stmt.ok()) return Error("prepare");
  stmt.Bind(1, id);
  stmt.Bind(2, step.step);
  stmt.Bind(3, EncodeMetricValues(step.values));
  if (stmt.Step() != SQLITE_DONE) return Error("store step of job " + id);
  return common::Status::Ok();
}

common::StatusOr<std::vector<StepRecord>> SqliteJobStore::ListSteps(const std::string& id,
                                                                    std::int64_t after_step,
                                                                    int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  GSPO_RETURN_IF_ERROR(RequireJob(id));
  Statement stmt(db_,
                 "SELECT step, metrics FROM steps WHERE job_id = ? AND step > ? ORDER BY step "
                 "LIMIT ?");
  if (!stmt.ok()) return Error("prepare");
  stmt.Bind(1, id);
  stmt.Bind(2, after_step);
  stmt.Bind(3, static_cast<std::int64_t>(limit > 0 ? limit : -1));
  std::vector<StepRecord> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    GSPO_ASSIGN_OR_RETURN(MetricValues values,
                          DecodeMetricValues(stmt.Text(1), path_ + ": steps of " + id));
    out.push_back(StepRecord{stmt.Int(0), std::move(values)});
  }
  if (rc != SQLITE_DONE) return Error("list steps of job " + id);
  return out;
}

common::StatusOr<std::int64_t> SqliteJobStore::CountLogsLocked(const std::string& id) {
  Statement stmt(db_, "SELECT COALESCE(MAX(line_no), 0) FROM logs WHERE job_id = ?");
  if (!stmt.ok()) return Error("prepare");
  stmt.Bind(1, id);
  if (stmt.Step() != SQLITE_ROW) return Error("count logs of job " + id);
  return stmt.Int(0);
}

common::Status SqliteJobStore::AppendLogs(const std::string& id,
                                          const std::vector<std::string>& lines) {
  std::lock_guard<std::mutex> lock(mu_);
  GSPO_RETURN_IF_ERROR(RequireJob(id));
  GSPO_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto count = CountLogsLocked(id);
  Statement stmt(db_, "INSERT INTO logs (job_id, line_no, line) VALUES (?, ?, ?)");
  if (!count.ok() || !stmt.ok()) {
    (void)Exec("ROLLBACK");
    return count.ok() ? Error("prepare") : count.status();
  }
  std::int64_t line_no = *count;
  for (const std::string& line : lines) {
    stmt.Bind(1, id);
    stmt.Bind(2, ++line_no);
    stmt.Bind(3, line);
    if (stmt.Step() != SQLITE_DONE) {
      common::Status error = Error("append logs of job " + id);
      (void)Exec("ROLLBACK");
      return error;
    }
    stmt.Reset();
  }
  return Exec("COMMIT");
}

common::StatusOr<std::vector<std::string>> SqliteJobStore::ReadLogs(const std::string& id,
                                                                    std::int64_t after_line,
                                                                    int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  GSPO_RETURN_IF_ERROR(RequireJob(id));
  Statement stmt(db_,
                 "SELECT line FROM logs WHERE job_id = ? AND line_no > ? ORDER BY line_no LIMIT ?");
  if (!stmt.ok()) return Error("prepare");
  stmt.Bind(1, id);
  stmt.Bind(2, after_line);
  stmt.Bind(3, static_cast<std::int64_t>(limit > 0 ? limit : -1));
  std::vector<std::string> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) out.push_back(stmt.Text(0));
  if (rc != SQLITE_DONE) return Error("read logs of job " + id);
  return out;
}

common::StatusOr<std::int64_t> SqliteJobStore::CountLogs(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  GSPO_RETURN_IF_ERROR(RequireJob(id));
  return CountLogsLocked(id);
}

}  // namespace gspo::server
