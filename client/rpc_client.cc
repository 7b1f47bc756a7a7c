#include "client/rpc_client.h"

#include <cstdlib>

#include "common/files.h"
#include "common/strings.h"

namespace gspo::client {
namespace {
std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}
}  // namespace

ConnectionOptions WithEnvironmentDefaults(ConnectionOptions options) {
  if (options.server.empty()) options.server = Env("GSPO_SERVER");
  if (options.server.empty()) options.server = "localhost:50051";
  if (options.token_file.empty()) options.token_file = Env("GSPO_TOKEN_FILE");
  if (options.tls_ca_file.empty()) options.tls_ca_file = Env("GSPO_TLS_CA");
  return options;
}

common::StatusOr<std::unique_ptr<RpcClient>> RpcClient::Connect(const ConnectionOptions& options) {
  std::unique_ptr<RpcClient> client(new RpcClient());
  client->server_ = options.server;
  if (!options.token_file.empty()) {
    auto token = common::ReadFileToString(options.token_file, 4096);
    if (!token.ok())
      return common::InvalidArgumentError("--token-file: " + token.status().message());
    client->token_ = common::Trim(*token);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_ca_file.empty()) {
    auto ca = common::ReadFileToString(options.tls_ca_file, 1 << 20);
    if (!ca.ok()) return common::InvalidArgumentError("--tls-ca: " + ca.status().message());
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *ca;
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  client->stub_ =
      v1::JobService::NewStub(grpc::CreateCustomChannel(options.server, credentials, args));
  return client;
}

std::unique_ptr<grpc::ClientContext> RpcClient::NewContext(
    std::optional<std::chrono::seconds> timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
  if (timeout) context->set_deadline(std::chrono::system_clock::now() + *timeout);
  return context;
}

common::Status RpcClient::Error(const grpc::Status& status) const {
  const auto code = static_cast<common::StatusCode>(status.error_code());
  // Validation errors are the spec's own messages; other errors say which server answered.
  if (code == common::StatusCode::kInvalidArgument)
    return common::Status(code, status.error_message());
  return common::Status(code, "server " + server_ + ": " + common::StatusCodeName(code) + ": " +
                                  status.error_message());
}

}  // namespace gspo::client
