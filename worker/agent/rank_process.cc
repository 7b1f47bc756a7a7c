#include "worker/agent/rank_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/files.h"
#include "common/strings.h"

extern char** environ;

namespace gspo::worker {
namespace {

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace

common::StatusOr<std::unique_ptr<RankProcess>> RankProcess::Start(const RankCommand& command) {
  if (command.argv.empty()) return common::InvalidArgumentError("rank command: empty argv");
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(command.work_dir));
  const std::string log_path = common::JoinPath(command.work_dir, "rank.log");
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return common::ErrnoToStatus(errno, log_path);

  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr)
      env[std::string(*e, static_cast<std::size_t>(eq - *e))] = std::string(eq + 1);
  }
  for (const auto& [key, value] : command.env) env[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = command.argv;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(log_fd);
    return common::ErrnoToStatus(error, "fork");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the agent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::chdir(command.work_dir.c_str()) != 0) ::_exit(127);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    const char message[] = "gspo-worker: cannot execute the rank command\n";
    (void)!::write(2, message, sizeof(message) - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  ::setpgid(pid, pid);  // also from the parent, so Kill works even before the child ran
  return std::unique_ptr<RankProcess>(new RankProcess(pid, log_path));
}

RankProcess::~RankProcess() {
  if (!exit_code_) Kill(std::chrono::milliseconds(2000));
}

std::optional<int> RankProcess::Poll() {
  if (exit_code_) return exit_code_;
  int status = 0;
  const pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    exit_code_ = ExitCodeOf(status);
    ::kill(-pid_, SIGKILL);  // anything the rank left behind in its group
  } else if (done < 0 && errno == ECHILD) {
    exit_code_ = 1;
  }
  return exit_code_;
}

void RankProcess::Kill(std::chrono::milliseconds grace) {
  if (Poll()) return;
  ::kill(-pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Poll()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid_, SIGKILL);
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) {
    exit_code_ = ExitCodeOf(status);
  } else {
    exit_code_ = 128 + SIGKILL;
  }
}

std::string TailOfFile(const std::string& path, int max_lines, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0) {
    const off_t start = st.st_size > static_cast<off_t>(max_bytes) ? st.st_size - max_bytes : 0;
    text.resize(static_cast<std::size_t>(st.st_size - start));
    const ssize_t n = ::pread(fd, text.data(), text.size(), start);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::size_t pos = text.size();
  for (int lines = 0; lines < max_lines && pos != std::string::npos && pos > 0; ++lines) {
    pos = text.rfind('\n', pos - 1);
  }
  if (pos != std::string::npos && pos < text.size() && text[pos] == '\n')
    text = text.substr(pos + 1);
  return text;
}

}  // namespace gspo::worker
