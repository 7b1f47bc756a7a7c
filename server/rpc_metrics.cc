#include "server/rpc_metrics.h"

#include "common/status.h"

namespace gspo::server {

const char* GrpcCodeName(grpc::StatusCode code) {
  return common::StatusCodeName(static_cast<common::StatusCode>(code));
}

RpcMetrics::RpcMetrics(common::MetricsRegistry* registry) : registry_(registry) {
  registry_->Declare("gspo_rpc_requests_total", "RPCs handled, by method and status code",
                     common::MetricType::kCounter);
  registry_->Declare(
      "gspo_rpc_duration_seconds", "RPC handling time, by method", common::MetricType::kHistogram,
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600});
}

grpc::Status RpcMetrics::Done(const char* method, std::chrono::steady_clock::time_point start,
                              grpc::Status status) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  registry_->Add("gspo_rpc_requests_total",
                 {{"method", method}, {"code", GrpcCodeName(status.error_code())}});
  registry_->Observe("gspo_rpc_duration_seconds", {{"method", method}}, seconds);
  return status;
}

}  // namespace gspo::server
