// RewardServerProcess: runs build/bin/gspo-example-reward-server as a child process on a free
// loopback port (--port 0; the port is read from its first line of output) and stops it
// (SIGTERM, then waits) when destroyed. Owns the child; not copyable; not thread-safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::reward::test {

class RewardServerProcess {
 public:
  RewardServerProcess() = default;
  ~RewardServerProcess();
  RewardServerProcess(const RewardServerProcess&) = delete;
  RewardServerProcess& operator=(const RewardServerProcess&) = delete;

  // Starts the server with `flags` (e.g. {"--delay-ms", "500"}) and waits up to 10 s for it to
  // listen.
  common::Status Start(const std::vector<std::string>& flags);
  // Stops the server and returns the lines it printed after the listening line ("call 1: 3
  // trajectories", ...).
  std::vector<std::string> Stop();

  // "127.0.0.1:PORT".
  const std::string& address() const { return address_; }

 private:
  std::string ReadLine(int timeout_ms);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::string address_;
};

}  // namespace gspo::reward::test
