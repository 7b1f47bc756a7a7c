#include "server/auth.h"

#include <grpcpp/server_context.h>

#include <algorithm>

#include "common/files.h"
#include "common/strings.h"

namespace gspo::server {

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

common::StatusOr<BearerToken> BearerToken::FromFile(const std::string& flag,
                                                    const std::string& path) {
  auto text = common::ReadFileToString(path, 4096);
  if (!text.ok()) {
    return common::InvalidArgumentError(flag + ": " + text.status().message());
  }
  std::string token = common::Trim(*text);
  if (token.size() < 16) {
    return common::InvalidArgumentError(flag + ": " + path +
                                        ": expected a token of at least 16 characters, got " +
                                        std::to_string(token.size()));
  }
  for (unsigned char c : token) {
    if (c <= 0x20 || c >= 0x7f) {
      return common::InvalidArgumentError(flag + ": " + path +
                                          ": the token must be printable ASCII without spaces");
    }
  }
  return BearerToken(std::move(token));
}

bool BearerToken::Matches(const std::string& presented) const {
  return ConstantTimeEquals(presented, token_);
}

common::Status BearerToken::Check(const grpc::ServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return common::UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  }
  const std::string value(it->second.data(), it->second.size());
  constexpr const char* kPrefix = "Bearer ";
  if (value.rfind(kPrefix, 0) != 0 || !Matches(value.substr(7))) {
    return common::UnauthenticatedError("invalid bearer token");
  }
  return common::Status::Ok();
}

}  // namespace gspo::server
