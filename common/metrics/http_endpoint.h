// MetricsHttpEndpoint: a minimal HTTP/1.1 server for GET /metrics (Prometheus scrapes), on its
// own thread with Boost.Asio. Anything else gets 404 or 405; requests with headers over 8 KiB,
// clients slower than 5 s, and connections past 64 at once are dropped.
//
// Owns its thread and socket; Stop() (or the destructor) closes them. The body callback runs
// on the endpoint's thread and must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace gspo::common {

class MetricsHttpEndpoint {
 public:
  using BodyFn = std::function<std::string()>;

  // `address` is "host:port" ("0.0.0.0:9090", "127.0.0.1:0" picks a free port).
  static StatusOr<std::unique_ptr<MetricsHttpEndpoint>> Start(const std::string& address,
                                                              BodyFn body);
  ~MetricsHttpEndpoint();
  MetricsHttpEndpoint(const MetricsHttpEndpoint&) = delete;
  MetricsHttpEndpoint& operator=(const MetricsHttpEndpoint&) = delete;

  int port() const;
  void Stop();

  struct Impl;

 private:
  explicit MetricsHttpEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gspo::common
