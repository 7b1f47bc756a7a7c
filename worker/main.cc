// gspo-worker: the worker agent (docs/control-plane.md). Registers this machine's device slots
// with the coordinator and runs one `gspo train` process per assigned rank. Links no LibTorch.
//
//   gspo-worker --coordinator HOST:PORT --token-file FILE --work-root DIR
//               [--devices cpu|0,1,...] [--worker-id ID] [--gspo-binary PATH] [--tls-ca FILE]
//   gspo-worker --list-devices [--devices ...]
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/files.h"
#include "common/logging.h"
#include "common/strings.h"
#include "worker/agent/worker_agent.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: gspo-worker --coordinator HOST:PORT --token-file FILE --work-root DIR\n"
     << "                   [--devices cpu|0,1,...] [--worker-id ID] [--gspo-binary PATH]\n"
     << "                   [--tls-ca FILE]\n"
     << "       gspo-worker --list-devices [--devices cpu|0,1,...]\n"
     << "  --devices       device slots, one rank each: 'cpu', GPU indices '0,1', or "
        "cpu:N/cuda:N;\n"
     << "                  default: CUDA_VISIBLE_DEVICES, else cpu\n"
     << "  --gspo-binary   the gspo executable; default: 'gspo' next to gspo-worker\n"
     << "  --worker-id     default: HOSTNAME-PID\n";
}

int UsageError(const std::string& message) {
  std::cerr << "gspo-worker: " << message << "\n";
  Usage(std::cerr);
  return 2;
}

std::string DefaultDevices() {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (visible != nullptr && *visible != '\0') return visible;
  return "cpu";
}

std::string SelfDirectory() {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) return ".";
  return gspo::common::DirName(std::string(buffer, static_cast<std::size_t>(n)));
}

std::string Hostname() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof(buffer) - 1) != 0) return "worker";
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    Usage(std::cout);
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << "gspo-worker " << GSPO_VERSION << "\n";
    return 0;
  }
  gspo::worker::AgentOptions options;
  std::string devices = DefaultDevices();
  std::string token_file;
  bool list_devices = false;
  for (std::size_t i = 0; i < args.size();) {
    const std::string& flag = args[i];
    if (flag == "--list-devices") {
      list_devices = true;
      ++i;
      continue;
    }
    if (i + 1 >= args.size()) return UsageError(flag + " needs a value");
    const std::string& value = args[i + 1];
    if (flag == "--coordinator")
      options.coordinator = value;
    else if (flag == "--token-file")
      token_file = value;
    else if (flag == "--devices")
      devices = value;
    else if (flag == "--work-root")
      options.work_root = value;
    else if (flag == "--worker-id")
      options.worker_id = value;
    else if (flag == "--gspo-binary")
      options.gspo_binary = value;
    else if (flag == "--tls-ca")
      options.tls_ca_file = value;
    else
      return UsageError("unknown option '" + flag + "'");
    i += 2;
  }
  auto parsed = gspo::worker::ParseDeviceList(devices);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  options.devices = *parsed;
  if (list_devices) {
    for (const std::string& d : options.devices) std::cout << "device " << d << "\n";
    return 0;
  }
  if (options.coordinator.empty()) return UsageError("--coordinator is required");
  if (token_file.empty()) return UsageError("--token-file is required");
  if (options.work_root.empty()) return UsageError("--work-root is required");
  if (options.work_root[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr)
      return UsageError("--work-root: cannot resolve a relative path");
    options.work_root = gspo::common::JoinPath(cwd, options.work_root);
  }
  auto token = gspo::common::ReadFileToString(token_file, 4096);
  if (!token.ok()) return UsageError("--token-file: " + token.status().message());
  options.token = gspo::common::Trim(*token);
  if (options.token.empty()) return UsageError("--token-file: " + token_file + " is empty");
  options.hostname = Hostname();
  if (options.worker_id.empty())
    options.worker_id = options.hostname + "-" + std::to_string(::getpid());
  if (options.gspo_binary.empty())
    options.gspo_binary = gspo::common::JoinPath(SelfDirectory(), "gspo");
  if (!gspo::common::PathExists(options.gspo_binary)) {
    return UsageError("--gspo-binary: '" + options.gspo_binary + "' does not exist");
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  gspo::worker::WorkerAgent agent(options);
  std::thread waiter([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    gspo::common::LogInfo("gspo-worker: signal received, stopping", {{"signal", signal_number}});
    agent.RequestStop();
  });
  waiter.detach();
  gspo::common::LogInfo("gspo-worker starting",
                        {{"worker", options.worker_id},
                         {"coordinator", options.coordinator},
                         {"devices", gspo::common::Join(options.devices, ",")}});
  auto status = agent.Run();
  if (!status.ok()) {
    std::cerr << "gspo-worker: " << status.message() << "\n";
    return gspo::common::ExitCodeFor(status);
  }
  return 0;
}
