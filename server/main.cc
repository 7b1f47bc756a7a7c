// gspo-server: the coordinator (docs/control-plane.md).
//
//   gspo-server --listen ADDR --state-dir DIR --client-token-file F --worker-token-file F
//               [--metrics-listen ADDR] [--tls-cert F --tls-key F] [--output-root DIR]
//               [--heartbeat-interval-ms N] [--heartbeat-timeout-ms N]
//   gspo-server --check-job job.yaml [--set FIELD=VALUE]...   (validates like SubmitJob)
//
// SIGTERM or SIGINT shuts down cleanly: no new calls, streams end, the store is closed.
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "client/validate_command.h"
#include "common/logging.h"
#include "server/coordinator.h"
#include "server/server_config.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: gspo-server --listen HOST:PORT --state-dir DIR --client-token-file FILE\n"
     << "                   --worker-token-file FILE [--metrics-listen HOST:PORT]\n"
     << "                   [--tls-cert FILE --tls-key FILE] [--output-root DIR]\n"
     << "                   [--heartbeat-interval-ms N] [--heartbeat-timeout-ms N]\n"
     << "       gspo-server --config server.yaml [flags]   (the flags' names as keys; flags win)\n"
     << "       gspo-server --check-job job.yaml [--set FIELD=VALUE]...\n";
}

int UsageError(const std::string& message) {
  std::cerr << "gspo-server: " << message << "\n";
  Usage(std::cerr);
  return 2;
}

bool ParsePositiveMs(const std::string& text, std::chrono::milliseconds* out) {
  try {
    std::size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used != text.size() || value < 10 || value > 3600000) return false;
    *out = std::chrono::milliseconds(value);
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    Usage(std::cout);
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << "gspo-server " << GSPO_VERSION << "\n";
    return 0;
  }
  if (!args.empty() && args[0] == "--check-job") {
    args.erase(args.begin());
    return gspo::client::RunValidateCommand("gspo-server", args, std::cout, std::cerr);
  }

  // --config FILE: its settings first, so that flags on the command line win.
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--config") continue;
    if (i + 1 >= args.size()) return UsageError("--config needs a value");
    auto from_file = gspo::server::ServerConfigFlags(args[i + 1]);
    if (!from_file.ok()) {
      std::cerr << "gspo-server: " << from_file.status().message() << "\n";
      return 2;
    }
    args.erase(args.begin() + i, args.begin() + i + 2);
    args.insert(args.begin(), from_file->begin(), from_file->end());
    break;
  }

  gspo::server::CoordinatorOptions options;
  for (std::size_t i = 0; i < args.size(); i += 2) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) return UsageError(flag + " needs a value");
    const std::string& value = args[i + 1];
    if (flag == "--listen")
      options.listen = value;
    else if (flag == "--metrics-listen")
      options.metrics_listen = value;
    else if (flag == "--state-dir")
      options.state_dir = value;
    else if (flag == "--client-token-file")
      options.client_token_file = value;
    else if (flag == "--worker-token-file")
      options.worker_token_file = value;
    else if (flag == "--tls-cert")
      options.tls_cert_file = value;
    else if (flag == "--tls-key")
      options.tls_key_file = value;
    else if (flag == "--output-root")
      options.manager.limits.output_root = value;
    else if (flag == "--heartbeat-interval-ms") {
      if (!ParsePositiveMs(value, &options.manager.heartbeat_interval))
        return UsageError(flag + ": expected milliseconds between 10 and 3600000, got '" + value +
                          "'");
    } else if (flag == "--heartbeat-timeout-ms") {
      if (!ParsePositiveMs(value, &options.manager.heartbeat_timeout))
        return UsageError(flag + ": expected milliseconds between 10 and 3600000, got '" + value +
                          "'");
    } else {
      return UsageError("unknown option '" + flag + "'");
    }
  }
  if (options.manager.heartbeat_timeout <= options.manager.heartbeat_interval) {
    return UsageError("--heartbeat-timeout-ms must exceed --heartbeat-interval-ms");
  }

  // Signals are taken by sigwait below, never by a handler on some gRPC thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  gspo::server::Coordinator coordinator;
  if (auto started = coordinator.Start(options); !started.ok()) {
    std::cerr << "gspo-server: " << started.message() << "\n";
    coordinator.Shutdown();
    return started.code() == gspo::common::StatusCode::kInvalidArgument ? 2 : 1;
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  gspo::common::LogInfo("gspo-server: signal received, shutting down", {{"signal", signal_number}});
  coordinator.Shutdown();
  return 0;
}
