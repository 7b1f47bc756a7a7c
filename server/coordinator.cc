#include "server/coordinator.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "common/files.h"
#include "common/logging.h"
#include "server/coordinator_metrics.h"
#include "server/store/sqlite_job_store.h"

namespace gspo::server {
namespace {

constexpr int kMaxMessageBytes = 4 << 20;

common::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const CoordinatorOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return common::InvalidArgumentError("--tls-cert and --tls-key: give both or neither");
  }
  if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  auto cert = common::ReadFileToString(options.tls_cert_file, 1 << 20);
  if (!cert.ok()) return common::InvalidArgumentError("--tls-cert: " + cert.status().message());
  auto key = common::ReadFileToString(options.tls_key_file, 1 << 20);
  if (!key.ok()) return common::InvalidArgumentError("--tls-key: " + key.status().message());
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

Coordinator::Coordinator() = default;

Coordinator::~Coordinator() { Shutdown(); }

common::Status Coordinator::Start(const CoordinatorOptions& options) {
  if (options.state_dir.empty()) return common::InvalidArgumentError("--state-dir: required");
  if (options.client_token_file.empty())
    return common::InvalidArgumentError("--client-token-file: required");
  if (options.worker_token_file.empty())
    return common::InvalidArgumentError("--worker-token-file: required");
  GSPO_ASSIGN_OR_RETURN(BearerToken client,
                        BearerToken::FromFile("--client-token-file", options.client_token_file));
  GSPO_ASSIGN_OR_RETURN(BearerToken worker,
                        BearerToken::FromFile("--worker-token-file", options.worker_token_file));
  if (client.Matches(worker.token())) {
    return common::InvalidArgumentError(
        "--client-token-file and --worker-token-file hold the same token; they must differ so "
        "that neither side can call the other's service");
  }
  client_token_ = std::make_unique<BearerToken>(std::move(client));
  worker_token_ = std::make_unique<BearerToken>(std::move(worker));
  GSPO_ASSIGN_OR_RETURN(auto credentials, Credentials(options));

  if (auto made = common::MakeDirectories(options.state_dir); !made.ok()) {
    return common::InvalidArgumentError("--state-dir: " + made.message());
  }
  // One coordinator per state directory: a second one would schedule the same jobs twice.
  const std::string lock_path = common::JoinPath(options.state_dir, "server.lock");
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return common::ErrnoToStatus(errno, "--state-dir: " + lock_path);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return common::FailedPreconditionError("--state-dir: " + options.state_dir +
                                           " is in use by another gspo-server");
  }
  GSPO_ASSIGN_OR_RETURN(auto store,
                        SqliteJobStore::Open(common::JoinPath(options.state_dir, "jobs.db")));
  store_ = std::move(store);
  rpc_metrics_ = std::make_unique<RpcMetrics>(&registry_);
  manager_ = std::make_unique<JobManager>(store_.get(), &common::SystemClock(), options.manager,
                                          &registry_);
  GSPO_RETURN_IF_ERROR(manager_->Recover());

  job_service_ = std::make_unique<JobServiceImpl>(manager_.get(), client_token_.get(),
                                                  rpc_metrics_.get(), &stopping_);
  worker_service_ =
      std::make_unique<WorkerServiceImpl>(manager_.get(), worker_token_.get(), rpc_metrics_.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &grpc_port_);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.RegisterService(job_service_.get());
  builder.RegisterService(worker_service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    return common::UnavailableError("--listen " + options.listen + ": cannot listen there");
  }
  server_->GetHealthCheckService()->SetServingStatus(true);

  if (!options.metrics_listen.empty()) {
    JobManager* manager = manager_.get();
    common::MetricsRegistry* registry = &registry_;
    GSPO_ASSIGN_OR_RETURN(
        metrics_, common::MetricsHttpEndpoint::Start(options.metrics_listen, [manager, registry] {
          return registry->Render(CollectCoordinatorMetrics(*manager));
        }));
  }
  deadlines_ = std::thread([this, interval = options.manager.heartbeat_interval] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_.load()) {
      wake_.wait_for(lock, std::min(interval, std::chrono::milliseconds(500)));
      if (stopping_.load()) break;
      lock.unlock();
      manager_->CheckDeadlines();
      lock.lock();
    }
  });
  common::LogInfo("gspo-server serving", {{"listen", options.listen},
                                          {"port", grpc_port_},
                                          {"metrics_port", metrics_port()},
                                          {"state_dir", options.state_dir}});
  return common::Status::Ok();
}

void Coordinator::Shutdown() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  if (deadlines_.joinable()) deadlines_.join();
  if (server_) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(3));
    server_->Wait();
  }
  if (metrics_) metrics_->Stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
  common::LogInfo("gspo-server stopped");
}

}  // namespace gspo::server
