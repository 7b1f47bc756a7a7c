// RankProcess: one rank of a job, run as a child process (`gspo train ...`), so that a crash in
// the engine cannot take the worker agent down.
//
// The child gets its own process group (Kill reaches whatever it starts), dies with the agent
// (PR_SET_PDEATHSIG), runs in `work_dir` and writes stdout and stderr to work_dir/rank.log.
// Owns the child: the destructor kills it. Not thread-safe (the agent's loop owns it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::worker {

struct RankCommand {
  std::vector<std::string> argv;           // argv[0] is the executable's path
  std::string work_dir;                    // created if missing
  std::map<std::string, std::string> env;  // added to (or replacing in) the agent's environment
};

class RankProcess {
 public:
  static common::StatusOr<std::unique_ptr<RankProcess>> Start(const RankCommand& command);
  ~RankProcess();
  RankProcess(const RankProcess&) = delete;
  RankProcess& operator=(const RankProcess&) = delete;

  // The exit code once the child ended (128 + signal number when a signal killed it);
  // nullopt while it runs. Never blocks.
  std::optional<int> Poll();
  // SIGTERM to the process group, SIGKILL after `grace`; returns once the child is reaped.
  void Kill(std::chrono::milliseconds grace);

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

 private:
  RankProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// The last `max_lines` lines of a file, at most `max_bytes` in all ("" when unreadable).
std::string TailOfFile(const std::string& path, int max_lines, std::size_t max_bytes);

}  // namespace gspo::worker
