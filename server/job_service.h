// JobServiceImpl: the gRPC adapter of gspo.v1.JobService. Checks the client token first, then
// converts messages and calls the JobManager; holds no state of its own beyond borrowed pointers.
// Streams (WatchJob, GetJobLogs) poll the store on every job change and end when the job ends,
// the client goes away, or the server stops. Thread-safe.
#pragma once

#include <atomic>

#include "gspo/v1/coordinator.grpc.pb.h"
#include "server/auth.h"
#include "server/job_manager.h"
#include "server/rpc_metrics.h"

namespace gspo::server {

class JobServiceImpl final : public v1::JobService::Service {
 public:
  // Borrows everything; `stopping` turns true when the server shuts down.
  JobServiceImpl(JobManager* manager, const BearerToken* token, RpcMetrics* metrics,
                 const std::atomic<bool>* stopping)
      : manager_(manager), token_(token), metrics_(metrics), stopping_(stopping) {}

  grpc::Status SubmitJob(grpc::ServerContext* context, const v1::SubmitJobRequest* request,
                         v1::SubmitJobResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::Job* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::JobEvent>* writer) override;
  grpc::Status GetJobLogs(grpc::ServerContext* context, const v1::GetJobLogsRequest* request,
                          grpc::ServerWriter<v1::LogLines>* writer) override;
  grpc::Status ListWorkers(grpc::ServerContext* context, const v1::ListWorkersRequest* request,
                           v1::ListWorkersResponse* response) override;

 private:
  grpc::Status Watch(grpc::ServerContext* context, const v1::WatchJobRequest& request,
                     grpc::ServerWriter<v1::JobEvent>* writer);
  grpc::Status Logs(grpc::ServerContext* context, const v1::GetJobLogsRequest& request,
                    grpc::ServerWriter<v1::LogLines>* writer);
  bool Ending(grpc::ServerContext* context) const;

  JobManager* manager_;
  const BearerToken* token_;
  RpcMetrics* metrics_;
  const std::atomic<bool>* stopping_;
};

}  // namespace gspo::server
