// RpcClient: gspoctl's connection to the coordinator's JobService: the channel, the bearer
// token on every call, and errors as common::Status ("server ADDR: UNAVAILABLE: ...").
//
// The connection settings come from flags, else the environment: --server (GSPO_SERVER, default
// localhost:50051), --token-file (GSPO_TOKEN_FILE), --tls-ca (GSPO_TLS_CA; absent: plaintext).
// One client per command; not thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "gspo/v1/coordinator.grpc.pb.h"

namespace gspo::client {

struct ConnectionOptions {
  std::string server;
  std::string token_file;
  std::string tls_ca_file;
};

// Fills the fields not set by flags from the environment and defaults.
ConnectionOptions WithEnvironmentDefaults(ConnectionOptions options);

class RpcClient {
 public:
  // Reads the token file (missing file -> kInvalidArgument naming it). No token file is allowed:
  // calls then go without a token, and the server answers UNAUTHENTICATED.
  static common::StatusOr<std::unique_ptr<RpcClient>> Connect(const ConnectionOptions& options);

  v1::JobService::Stub& stub() { return *stub_; }
  // A context with the token and, when `timeout` is set, a deadline.
  std::unique_ptr<grpc::ClientContext> NewContext(
      std::optional<std::chrono::seconds> timeout = std::chrono::seconds(30)) const;
  // "server ADDR: CODE: message" as a Status with the same code.
  common::Status Error(const grpc::Status& status) const;

 private:
  RpcClient() = default;
  std::string server_;
  std::string token_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

}  // namespace gspo::client
