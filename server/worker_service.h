// WorkerServiceImpl: the gRPC adapter of gspo.v1.WorkerService. Checks the worker token first,
// bounds every repeated field, converts and calls the JobManager. Thread-safe; borrows all.
#pragma once

#include "gspo/v1/coordinator.grpc.pb.h"
#include "server/auth.h"
#include "server/job_manager.h"
#include "server/rpc_metrics.h"

namespace gspo::server {

class WorkerServiceImpl final : public v1::WorkerService::Service {
 public:
  WorkerServiceImpl(JobManager* manager, const BearerToken* token, RpcMetrics* metrics)
      : manager_(manager), token_(token), metrics_(metrics) {}

  grpc::Status RegisterWorker(grpc::ServerContext* context,
                              const v1::RegisterWorkerRequest* request,
                              v1::RegisterWorkerResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status ReportProgress(grpc::ServerContext* context,
                              const v1::ReportProgressRequest* request, v1::Ack* response) override;
  grpc::Status ReportCheckpoint(grpc::ServerContext* context,
                                const v1::ReportCheckpointRequest* request,
                                v1::Ack* response) override;
  grpc::Status ReportResult(grpc::ServerContext* context, const v1::ReportResultRequest* request,
                            v1::Ack* response) override;
  grpc::Status Rendezvous(grpc::ServerContext* context, const v1::RendezvousRequest* request,
                          v1::RendezvousResponse* response) override;

 private:
  JobManager* manager_;
  const BearerToken* token_;
  RpcMetrics* metrics_;
};

}  // namespace gspo::server
