// WorkerAgent: gspo-worker's loop. Registers the device slots with the coordinator, heartbeats,
// starts one RankProcess per assigned rank, follows each rank's output and reports it, and
// stops ranks when told to.
//
//   Register ──▶ every heartbeat interval: Heartbeat(running ranks)
//                  reply.stop        ──▶ kill those ranks (before anything starts on their slot)
//                  reply.assignments ──▶ write the spec, start `gspo train` in work-root/jobs/...
//                  reply.reregister  ──▶ Register again, listing running and unreported ranks
//   every 250 ms:  ranks' new steps/log lines ──▶ ReportProgress; new checkpoint ──▶
//                  ReportCheckpoint; exited rank ──▶ ReportResult (kept until acknowledged)
//   coordinator unreachable ──▶ ranks keep running; retry with backoff (0.25 s .. 5 s)
//
// Links no LibTorch: the engine runs only in the `gspo` child processes.
// Run() and RequestStop() are the only methods; RequestStop may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "gspo/v1/coordinator.grpc.pb.h"
#include "worker/agent/output_follower.h"
#include "worker/agent/rank_process.h"

namespace gspo::worker {

struct AgentOptions {
  std::string coordinator;  // host:port
  std::string token;
  std::string tls_ca_file;  // empty: plaintext
  std::string worker_id;
  std::string hostname;
  std::vector<std::string> devices;  // "cpu:0", "cuda:1", ...
  std::string work_root;
  std::string gspo_binary;
};

class WorkerAgent {
 public:
  explicit WorkerAgent(AgentOptions options);
  ~WorkerAgent();

  // Runs until RequestStop(); then kills the ranks. Errors only for bad options.
  common::Status Run();
  void RequestStop() { stop_.store(true); }

 private:
  struct Rank {
    v1::RankRef ref;
    std::string device;
    std::string output_dir;
    std::unique_ptr<RankProcess> process;
    std::unique_ptr<LineFollower> metrics;  // rank 0 only
    std::unique_ptr<LineFollower> log;
    std::vector<v1::StepMetrics> pending_steps;
    std::vector<std::string> pending_lines;
    std::int64_t reported_checkpoint = 0;
    bool finished = false;
    bool acked = false;  // the coordinator has the result
    int exit_code = 0;
    std::string reason;
  };

  bool Register();
  bool Heartbeat();
  void StartRank(const v1::Assignment& assignment);
  void StopRank(const v1::RankRef& ref);
  void PollRanks();
  void ReportRank(Rank& rank);
  grpc::Status Call(const char* what, const std::function<grpc::Status(grpc::ClientContext*)>& fn);
  static std::string Key(const v1::RankRef& ref);

  AgentOptions options_;
  std::atomic<bool> stop_{false};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  bool registered_ = false;
  std::chrono::milliseconds heartbeat_interval_{1000};
  std::map<std::string, Rank> ranks_;  // by Key(ref)
};

// "cpu" -> {"cpu:0"}; "0,1" -> {"cuda:0", "cuda:1"}; "cpu:0,cpu:1" kept. kInvalidArgument
// naming the bad entry otherwise.
common::StatusOr<std::vector<std::string>> ParseDeviceList(const std::string& list);

}  // namespace gspo::worker
