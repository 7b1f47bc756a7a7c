#include "tests/unit/reward/reward_server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/files.h"
#include "common/strings.h"

extern char** environ;

namespace gspo::reward::test {

RewardServerProcess::~RewardServerProcess() { Stop(); }

common::Status RewardServerProcess::Start(const std::vector<std::string>& flags) {
  const std::string binary = std::string(GSPO_BINARY_DIR) + "/bin/gspo-example-reward-server";
  std::vector<std::string> args = {binary, "--port", "0"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return common::ErrnoToStatus(errno, "pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    pid_ = -1;
    return common::ErrnoToStatus(rc, "spawn " + binary);
  }
  stdout_fd_ = fds[0];
  const std::string line = ReadLine(10000);
  const std::string prefix = "gspo-example-reward-server listening on ";
  if (!common::StartsWith(line, prefix)) {
    Stop();
    return common::UnavailableError("reward server did not start; it said: '" + line + "'");
  }
  address_ = line.substr(prefix.size());
  return common::Status::Ok();
}

std::string RewardServerProcess::ReadLine(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    const std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stdout_fd_ < 0) return "";
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      std::string rest = buffer_;
      buffer_.clear();
      return rest;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

std::vector<std::string> RewardServerProcess::Stop() {
  std::vector<std::string> lines;
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    // The server exits within its 1 s shutdown deadline; then its output ends.
    for (std::string line = ReadLine(5000); !line.empty(); line = ReadLine(5000)) {
      lines.push_back(line);
    }
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      usleep(10000);
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
  }
  return lines;
}

}  // namespace gspo::reward::test
