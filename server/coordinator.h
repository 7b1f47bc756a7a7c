// Coordinator: gspo-server's parts wired together: the SQLite job store in the state directory,
// the JobManager, the gRPC server (JobService, WorkerService, health checking, reflection), the
// /metrics endpoint and the thread that enforces heartbeat deadlines.
//
// Owns all of them. Start once, then Shutdown (from any thread) once; not otherwise thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics/http_endpoint.h"
#include "common/metrics/metrics_registry.h"
#include "common/status.h"
#include "server/auth.h"
#include "server/job_manager.h"
#include "server/job_service.h"
#include "server/rpc_metrics.h"
#include "server/store/job_store.h"
#include "server/worker_service.h"

namespace grpc {
class Server;
}

namespace gspo::server {

struct CoordinatorOptions {
  std::string listen = "0.0.0.0:50051";
  std::string metrics_listen;  // empty: no /metrics endpoint
  std::string state_dir;
  std::string client_token_file;
  std::string worker_token_file;
  std::string tls_cert_file;  // both or neither
  std::string tls_key_file;
  ManagerOptions manager;
};

class Coordinator {
 public:
  Coordinator();
  ~Coordinator();

  common::Status Start(const CoordinatorOptions& options);
  // Stops accepting calls, ends streams, waits for handlers (at most a few seconds).
  void Shutdown();

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }

 private:
  std::unique_ptr<JobStore> store_;
  common::MetricsRegistry registry_;
  std::unique_ptr<RpcMetrics> rpc_metrics_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<BearerToken> client_token_;
  std::unique_ptr<BearerToken> worker_token_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<JobServiceImpl> job_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<common::MetricsHttpEndpoint> metrics_;
  int grpc_port_ = 0;
  int lock_fd_ = -1;  // flock on state-dir/server.lock, held while serving

  std::mutex mu_;
  std::condition_variable wake_;
  std::thread deadlines_;
};

}  // namespace gspo::server
