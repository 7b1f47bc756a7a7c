#include "worker/tools/rank_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "worker/tools/flags.h"

namespace gspo::tools {
namespace {

using Clock = std::chrono::steady_clock;

// How long ranks asked to stop (SIGTERM) get before SIGKILL.
constexpr std::chrono::seconds kStopGrace(10);

struct Rank {
  pid_t pid = -1;
  int output_fd = -1;        // read end of its stdout/stderr pipe; -1 once closed
  std::string partial_line;  // output after the last newline
  std::string last_line;     // a rank that fails prints its error last
  bool exited = false;
  int status = 0;  // waitpid status
};

std::string Describe(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

bool Failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

// The process image of one rank; never returns.
[[noreturn]] void ExecRank(const std::string& executable, const std::vector<std::string>& args,
                           int output_fd, bool keep_stdout) {
  // A rank never outlives its launcher; stopping its process group stops what it started too.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  setpgid(0, 0);
  dup2(output_fd, STDERR_FILENO);
  if (!keep_stdout) dup2(output_fd, STDOUT_FILENO);
  close(output_fd);
  std::vector<char*> argv;
  std::string argv0 = executable, train = "train";
  argv.push_back(argv0.data());
  argv.push_back(train.data());
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(executable.c_str(), argv.data());
  std::fprintf(stderr, "gspo train: cannot run %s: %s\n", executable.c_str(), std::strerror(errno));
  _exit(1);
}

void Forward(int index, Rank& rank, const std::string& text) {
  rank.partial_line += text;
  std::size_t newline;
  while ((newline = rank.partial_line.find('\n')) != std::string::npos) {
    std::string line = rank.partial_line.substr(0, newline);
    rank.partial_line.erase(0, newline + 1);
    std::cerr << "[rank " << index << "] " << line << "\n";
    if (!line.empty()) rank.last_line = line;
  }
}

// Reads what the ranks printed, for at most `wait_ms`.
void PumpOutput(std::vector<Rank>& ranks, int wait_ms) {
  std::vector<pollfd> fds;
  std::vector<int> owners;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i].output_fd < 0) continue;
    fds.push_back({ranks[i].output_fd, POLLIN, 0});
    owners.push_back(static_cast<int>(i));
  }
  if (fds.empty()) {
    usleep(wait_ms * 1000);
    return;
  }
  if (poll(fds.data(), fds.size(), wait_ms) <= 0) return;
  for (std::size_t k = 0; k < fds.size(); ++k) {
    if (fds[k].revents == 0) continue;
    Rank& rank = ranks[owners[k]];
    char buffer[4096];
    const ssize_t n = read(rank.output_fd, buffer, sizeof buffer);
    if (n > 0) {
      Forward(owners[k], rank, std::string(buffer, n));
    } else if (n == 0 || errno != EINTR) {
      if (!rank.partial_line.empty()) Forward(owners[k], rank, "\n");
      close(rank.output_fd);
      rank.output_fd = -1;
    }
  }
}

std::string MakeStoreDirectory() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/gspo-ranks-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

}  // namespace

common::StatusOr<RankFlags> ExtractRankFlags(std::vector<std::string>* args) {
  static const std::vector<std::string> kNames = {"--nproc",      "--dist-timeout", "--rank",
                                                  "--world-size", "--dist-store",   "--threads"};
  std::vector<std::string> ours, rest;
  for (std::size_t i = 0; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    bool matched = false;
    for (const std::string& name : kNames) {
      if (a == name) {
        if (i + 1 >= args->size()) return common::InvalidArgumentError(name + " needs a value");
        ours.push_back(a);
        ours.push_back((*args)[++i]);
        matched = true;
      } else if (a.rfind(name + "=", 0) == 0) {
        ours.push_back(a);
        matched = true;
      }
      if (matched) break;
    }
    if (!matched) rest.push_back(a);
  }
  Flags flags({"--nproc", "--dist-timeout", "--rank", "--world-size", "--dist-store", "--threads"},
              {});
  GSPO_RETURN_IF_ERROR(flags.Parse(ours));
  RankFlags out;
  GSPO_ASSIGN_OR_RETURN(std::int64_t nproc, flags.Int("--nproc", 0));
  if (flags.Has("--nproc") && (nproc < 1 || nproc > 256)) {
    return common::InvalidArgumentError("--nproc: expected 1 to 256 ranks, got " +
                                        std::to_string(nproc));
  }
  out.nproc = static_cast<int>(nproc);
  GSPO_ASSIGN_OR_RETURN(out.timeout_s, flags.Number("--dist-timeout", out.timeout_s));
  if (!(out.timeout_s >= 1 && out.timeout_s <= 86400)) {
    return common::InvalidArgumentError("--dist-timeout: expected 1 to 86400 seconds, got " +
                                        flags.Get("--dist-timeout", ""));
  }
  GSPO_ASSIGN_OR_RETURN(std::int64_t threads, flags.Int("--threads", 0));
  if (flags.Has("--threads") && (threads < 1 || threads > 1024)) {
    return common::InvalidArgumentError("--threads: expected 1 to 1024, got " +
                                        std::to_string(threads));
  }
  out.threads = static_cast<int>(threads);
  const int given = flags.Has("--rank") + flags.Has("--world-size") + flags.Has("--dist-store");
  if (given != 0 && given != 3) {
    return common::InvalidArgumentError("--rank, --world-size and --dist-store go together");
  }
  if (given == 3) {
    GSPO_ASSIGN_OR_RETURN(std::int64_t rank, flags.Int("--rank", -1));
    GSPO_ASSIGN_OR_RETURN(std::int64_t world, flags.Int("--world-size", 0));
    if (world < 1 || world > 256 || rank < 0 || rank >= world) {
      return common::InvalidArgumentError("--rank " + std::to_string(rank) + " --world-size " +
                                          std::to_string(world) +
                                          ": expected 0 <= rank < world size <= 256");
    }
    if (out.nproc != 0)
      return common::InvalidArgumentError("--nproc launches ranks; it is not given to one");
    out.rank = static_cast<int>(rank);
    out.world_size = static_cast<int>(world);
    out.store = flags.Get("--dist-store", "");
    if (out.store.empty())
      return common::InvalidArgumentError("--dist-store: expected a file path");
  }
  *args = std::move(rest);
  return out;
}

std::vector<std::string> RankArguments(const std::vector<std::string>& train_args, int rank,
                                       int nproc, const std::string& store, double timeout_s,
                                       int threads) {
  std::vector<std::string> args = train_args;
  std::ostringstream timeout;
  timeout << timeout_s;
  for (const std::string& a :
       {std::string("--set"), "resources.gpus=" + std::to_string(nproc), std::string("--rank"),
        std::to_string(rank), std::string("--world-size"), std::to_string(nproc),
        std::string("--dist-store"), store, std::string("--dist-timeout"), timeout.str()}) {
    args.push_back(a);
  }
  if (threads > 0) {
    args.push_back("--threads");
    args.push_back(std::to_string(threads));
  }
  if (rank > 0) args.push_back("--no-progress");
  return args;
}

int LaunchRanks(const std::string& executable, const std::vector<std::string>& train_args,
                int nproc, double timeout_s, int threads, const std::string& backend) {
  // Set here, before any fork, for the ranks to inherit (the children only exec).
  setenv("NCCL_NVLS_ENABLE", "0", /*overwrite=*/0);
  const std::string dir = MakeStoreDirectory();
  if (dir.empty()) {
    std::cerr << "gspo train: cannot make a store directory in $TMPDIR or /tmp: "
              << std::strerror(errno) << "\n";
    return 1;
  }
  const std::string store = dir + "/store";
  std::cerr << "gspo train: " << nproc << " ranks (" << backend << ", store " << store << ", timeout "
            << timeout_s << " s)\n";
  std::vector<Rank> ranks(nproc);
  std::optional<int> cause;  // the first rank that failed on its own
  std::optional<Clock::time_point> stop_deadline;
  const auto stop_others = [&] {
    for (Rank& r : ranks) {
      if (r.pid > 0 && !r.exited) kill(-r.pid, SIGTERM);
    }
    stop_deadline = Clock::now() + kStopGrace;
  };
  for (int i = 0; i < nproc; ++i) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      std::cerr << "gspo train: pipe: " << std::strerror(errno) << "\n";
      cause = i;
      break;
    }
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      ExecRank(executable, RankArguments(train_args, i, nproc, store, timeout_s, threads), fds[1],
               i == 0);
    }
    close(fds[1]);
    if (pid < 0) {
      std::cerr << "gspo train: fork: " << std::strerror(errno) << "\n";
      close(fds[0]);
      cause = i;
      break;
    }
    setpgid(pid, pid);  // also here: the launcher may signal the group before the child ran
    ranks[i].pid = pid;
    ranks[i].output_fd = fds[0];
    std::cerr << "gspo train: rank " << i << " is pid " << pid << "\n";
  }
  if (cause) stop_others();

  for (;;) {
    PumpOutput(ranks, 100);
    std::vector<int> failed_now;
    bool running = false;
    for (int i = 0; i < nproc; ++i) {
      Rank& r = ranks[i];
      if (r.pid <= 0 || r.exited) continue;
      if (waitpid(r.pid, &r.status, WNOHANG) == r.pid) {
        r.exited = true;
        if (Failed(r.status) && !stop_deadline) failed_now.push_back(i);
      } else {
        running = true;
      }
    }
    if (!failed_now.empty()) {
      // Ranks that fail in the same poll: a killed one is the likelier cause of the others.
      cause = failed_now.front();
      for (int i : failed_now) {
        if (WIFSIGNALED(ranks[i].status)) cause = i;
      }
      stop_others();
    }
    if (!running) break;
    if (stop_deadline && Clock::now() > *stop_deadline) {
      for (Rank& r : ranks) {
        if (r.pid > 0 && !r.exited) kill(-r.pid, SIGKILL);
      }
    }
  }
  // The rest of their output (bounded: a pipe inherited by a grandchild may stay open).
  for (int i = 0; i < 20; ++i) {
    bool open = false;
    for (const Rank& r : ranks) open = open || r.output_fd >= 0;
    if (!open) break;
    PumpOutput(ranks, 100);
  }
  for (Rank& r : ranks) {
    if (r.output_fd >= 0) close(r.output_fd);
  }
  std::remove(store.c_str());
  rmdir(dir.c_str());
  if (!cause) return 0;
  const Rank& r = ranks[*cause];
  // A rank that exits with an error prints it last; a killed one may have printed anything.
  const std::string why = WIFEXITED(r.status) ? r.last_line : "";
  std::cerr << "gspo train: rank " << *cause << " of " << nproc << " " << Describe(r.status)
            << (why.empty() ? "" : ": " + why) << "; the other ranks were stopped\n";
  if (r.pid > 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2) return 2;
  return 1;
}

}  // namespace gspo::tools
