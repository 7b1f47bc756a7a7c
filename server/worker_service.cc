#include "server/worker_service.h"

#include <chrono>

#include "server/proto_convert.h"

namespace gspo::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxRanksPerCall = 1024;
constexpr int kMaxStepsPerReport = 1000;
constexpr int kMaxValuesPerStep = 256;
constexpr std::size_t kMaxMetricNameBytes = 128;
constexpr int kMaxLogLinesPerReport = 2000;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

}  // namespace

grpc::Status WorkerServiceImpl::RegisterWorker(grpc::ServerContext* context,
                                               const v1::RegisterWorkerRequest* request,
                                               v1::RegisterWorkerResponse* response) {
  const auto start = Clock::now();
  const char* method = "WorkerService/RegisterWorker";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  if (request->ranks_size() > kMaxRanksPerCall) {
    return metrics_->Done(method, start, Invalid("ranks: too many"));
  }
  WorkerRegistration reg;
  reg.worker_id = request->worker_id();
  reg.hostname = request->hostname();
  reg.devices.assign(request->devices().begin(), request->devices().end());
  for (const auto& r : request->ranks()) reg.ranks.push_back(FromProto(r));
  auto status = manager_->RegisterWorker(reg);
  if (status.ok()) {
    response->set_heartbeat_interval_ms(manager_->options().heartbeat_interval.count());
    response->set_heartbeat_timeout_ms(manager_->options().heartbeat_timeout.count());
  }
  return metrics_->Done(method, start, ToGrpc(status));
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  const auto start = Clock::now();
  const char* method = "WorkerService/Heartbeat";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  if (request->ranks_size() > kMaxRanksPerCall) {
    return metrics_->Done(method, start, Invalid("ranks: too many"));
  }
  std::vector<RankReport> running;
  for (const auto& r : request->ranks()) running.push_back(FromProto(r));
  auto reply = manager_->Heartbeat(request->worker_id(), running);
  if (!reply.ok()) return metrics_->Done(method, start, ToGrpc(reply.status()));
  response->set_reregister(reply->reregister);
  for (const RankAssignment& a : reply->assignments) ToProto(a, response->add_assignments());
  for (const RankKey& k : reply->stop) ToProto(k, response->add_stop());
  return metrics_->Done(method, start, grpc::Status::OK);
}

grpc::Status WorkerServiceImpl::ReportProgress(grpc::ServerContext* context,
                                               const v1::ReportProgressRequest* request,
                                               v1::Ack* response) {
  const auto start = Clock::now();
  const char* method = "WorkerService/ReportProgress";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  if (request->steps_size() > kMaxStepsPerReport) {
    return metrics_->Done(method, start, Invalid("steps: at most 1000 per report"));
  }
  if (request->log_lines_size() > kMaxLogLinesPerReport) {
    return metrics_->Done(method, start, Invalid("log_lines: at most 2000 per report"));
  }
  std::vector<StepRecord> steps;
  for (const auto& s : request->steps()) {
    if (s.step() < 0 || s.values_size() > kMaxValuesPerStep) {
      return metrics_->Done(method, start,
                            Invalid("steps: expected step >= 0 and at most 256 values"));
    }
    StepRecord step{s.step(), {}};
    for (const auto& [name, value] : s.values()) {
      if (name.empty() || name.size() > kMaxMetricNameBytes) {
        return metrics_->Done(method, start, Invalid("steps: metric names are 1 to 128 bytes"));
      }
      step.values[name] = value;
    }
    steps.push_back(std::move(step));
  }
  std::vector<std::string> lines(request->log_lines().begin(), request->log_lines().end());
  auto status =
      manager_->ReportProgress(request->worker_id(), FromProto(request->rank()), steps, lines);
  return metrics_->Done(method, start, ToGrpc(status));
}

grpc::Status WorkerServiceImpl::ReportCheckpoint(grpc::ServerContext* context,
                                                 const v1::ReportCheckpointRequest* request,
                                                 v1::Ack* response) {
  const auto start = Clock::now();
  const char* method = "WorkerService/ReportCheckpoint";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  auto status = manager_->ReportCheckpoint(request->worker_id(), FromProto(request->rank()),
                                           request->step(), request->path());
  return metrics_->Done(method, start, ToGrpc(status));
}

grpc::Status WorkerServiceImpl::ReportResult(grpc::ServerContext* context,
                                             const v1::ReportResultRequest* request,
                                             v1::Ack* response) {
  const auto start = Clock::now();
  const char* method = "WorkerService/ReportResult";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  RankReport result = FromProto(request->result());
  result.finished = true;
  auto status = manager_->ReportResult(request->worker_id(), result);
  return metrics_->Done(method, start, ToGrpc(status));
}

grpc::Status WorkerServiceImpl::Rendezvous(grpc::ServerContext* context,
                                           const v1::RendezvousRequest* request,
                                           v1::RendezvousResponse* response) {
  const auto start = Clock::now();
  const char* method = "WorkerService/Rendezvous";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  auto id = manager_->Rendezvous(request->worker_id(), FromProto(request->rank()),
                                 request->nccl_unique_id());
  if (!id.ok()) return metrics_->Done(method, start, ToGrpc(id.status()));
  response->set_ready(!id->empty());
  response->set_nccl_unique_id(*id);
  return metrics_->Done(method, start, grpc::Status::OK);
}

}  // namespace gspo::server
