// gspo-example-reward-server: a small RewardService (proto/gspo/v1/reward.proto) to start your
// own from, and the server the remote reward tests run against.
//
// Its reward, per trajectory (each component in [0, 1]):
//   facts_used  the fraction of the scenario's facts whose value appears (ignoring case) in the
//               assistant's messages; 1 when the scenario has no facts
//   brevity     min(1, 256 / num_completion_tokens); 1 when the count is 0
//   score       (facts_used + brevity) / 2
//
// Usage: gspo-example-reward-server [--host H] [--port P] [--delay-ms N] [--fail-first N]
//                                   [--malformed count|nan|range]
//   --port 0 picks a free port. The first line on standard output is
//   "gspo-example-reward-server listening on HOST:PORT" once the server accepts calls, then one
//   line per call. SIGINT or SIGTERM stop it.
// Test behaviours: --delay-ms waits before each reply (stopping early when the caller gives up);
// --fail-first answers the first N calls with UNAVAILABLE; --malformed replies with one score
// too few (count), a NaN first score (nan) or a first score of 1.5 (range).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

#include "gspo/v1/reward.grpc.pb.h"

namespace {

struct Flags {
  std::string host = "127.0.0.1";
  int port = 50051;
  int delay_ms = 0;
  int fail_first = 0;
  std::string malformed;  // "", count, nan, range
};

constexpr char kUsage[] =
    "usage: gspo-example-reward-server [--host H] [--port P] [--delay-ms N] [--fail-first N] "
    "[--malformed count|nan|range]\n";

bool ParseInt(const std::string& text, int* out) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), ::isdigit) || text.size() > 9) {
    return false;
  }
  *out = std::stoi(text);
  return true;
}

// Returns false (after printing why) on a bad command line.
bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const std::size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg != "--help" && i + 1 < argc) {
      value = argv[++i];
    }
    bool ok = true;
    if (arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--host") {
      flags->host = value;
      ok = !value.empty();
    } else if (arg == "--port") {
      ok = ParseInt(value, &flags->port) && flags->port <= 65535;
    } else if (arg == "--delay-ms") {
      ok = ParseInt(value, &flags->delay_ms);
    } else if (arg == "--fail-first") {
      ok = ParseInt(value, &flags->fail_first);
    } else if (arg == "--malformed") {
      flags->malformed = value;
      ok = value == "count" || value == "nan" || value == "range";
    } else {
      std::cerr << "unknown flag " << arg << "\n" << kUsage;
      return false;
    }
    if (!ok) {
      std::cerr << arg << ": bad value '" << value << "'\n" << kUsage;
      return false;
    }
  }
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

class ExampleRewardService final : public gspo::v1::RewardService::Service {
 public:
  explicit ExampleRewardService(Flags flags) : flags_(std::move(flags)) {}

  grpc::Status Score(grpc::ServerContext* context, const gspo::v1::ScoreRequest* request,
                     gspo::v1::ScoreResponse* reply) override {
    const int call = ++calls_;
    Log("call " + std::to_string(call) + ": " + std::to_string(request->trajectories_size()) +
        " trajectories");
    if (call <= flags_.fail_first) {
      return grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "failing the first " + std::to_string(flags_.fail_first) + " calls (--fail-first)");
    }
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(flags_.delay_ms);
    while (std::chrono::steady_clock::now() < until) {
      if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (const gspo::v1::Trajectory& t : request->trajectories()) {
      std::string said;
      for (const gspo::v1::ChatMessage& m : t.messages()) {
        if (m.role() == "assistant") said += Lower(m.content()) + "\n";
      }
      double facts_used = 1;
      if (!t.scenario().facts().empty()) {
        int used = 0;
        for (const auto& [name, value] : t.scenario().facts()) {
          if (said.find(Lower(value)) != std::string::npos) ++used;
        }
        facts_used = static_cast<double>(used) / t.scenario().facts().size();
      }
      const double brevity =
          t.num_completion_tokens() <= 0 ? 1.0 : std::min(1.0, 256.0 / t.num_completion_tokens());
      gspo::v1::TrajectoryScore* score = reply->add_scores();
      score->set_score((facts_used + brevity) / 2);
      (*score->mutable_components())["facts_used"] = facts_used;
      (*score->mutable_components())["brevity"] = brevity;
    }
    if (flags_.malformed == "count" && reply->scores_size() > 0)
      reply->mutable_scores()->RemoveLast();
    if (flags_.malformed == "nan" && reply->scores_size() > 0) {
      reply->mutable_scores(0)->set_score(std::numeric_limits<double>::quiet_NaN());
    }
    if (flags_.malformed == "range" && reply->scores_size() > 0) {
      reply->mutable_scores(0)->set_score(1.5);
    }
    return grpc::Status::OK;
  }

 private:
  Flags flags_;
  // Handlers run on several threads: one whole line per call, never two interleaved.
  void Log(const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    std::cout << line << std::endl;
  }

  std::atomic<int> calls_{0};
  std::mutex log_mutex_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  // Block the stop signals before gRPC starts its threads, then wait for them here.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  ExampleRewardService service(flags);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(flags.host + ":" + std::to_string(flags.port),
                           grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "gspo-example-reward-server: cannot listen on " << flags.host << ":" << flags.port
              << "\n";
    return 1;
  }
  std::cout << "gspo-example-reward-server listening on " << flags.host << ":" << port << std::endl;

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
