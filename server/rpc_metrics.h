// RpcMetrics: counts every RPC by method and status code and records its latency, into the
// coordinator's MetricsRegistry (gspo_rpc_requests_total, gspo_rpc_duration_seconds).
// Borrows the registry; thread-safe.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>

#include "common/metrics/metrics_registry.h"

namespace gspo::server {

class RpcMetrics {
 public:
  explicit RpcMetrics(common::MetricsRegistry* registry);

  // Records the call that began at `start` and returns `status` unchanged, so a handler can
  // `return metrics.Done("JobService/SubmitJob", start, status);`.
  grpc::Status Done(const char* method, std::chrono::steady_clock::time_point start,
                    grpc::Status status);

 private:
  common::MetricsRegistry* registry_;
};

// "OK", "INVALID_ARGUMENT", ... for a gRPC code.
const char* GrpcCodeName(grpc::StatusCode code);

}  // namespace gspo::server
