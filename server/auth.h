// BearerToken: one shared secret, read from a file, that a gRPC call must present as
// "authorization: Bearer <token>" metadata. The coordinator holds two: one for clients
// (JobService) and one for workers (WorkerService).
//
// Immutable after construction; Check is safe from any thread.
#pragma once

#include <string>

#include "common/status.h"

namespace grpc {
class ServerContext;
}

namespace gspo::server {

class BearerToken {
 public:
  // Reads the file (at most 4 KiB; surrounding whitespace dropped). kInvalidArgument naming the
  // flag and the file when it is missing, empty or shorter than 16 characters.
  static common::StatusOr<BearerToken> FromFile(const std::string& flag, const std::string& path);
  explicit BearerToken(std::string token) : token_(std::move(token)) {}

  // OK, or kUnauthenticated without saying which part was wrong. Compares in constant time.
  common::Status Check(const grpc::ServerContext& context) const;
  bool Matches(const std::string& presented) const;

  const std::string& token() const { return token_; }

 private:
  std::string token_;
};

// Equal inputs -> true; the time taken depends only on the lengths.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace gspo::server
