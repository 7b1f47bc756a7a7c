// RemoteRewardClient: calls a user's RewardService (proto/gspo/v1/reward.proto) for a batch of
// trajectories.
//
//   batch ─▶ chunks of max_batch_size ─▶ at most max_concurrent_calls in flight
//            each call: deadline timeout_ms; on UNAVAILABLE, DEADLINE_EXCEEDED,
//            RESOURCE_EXHAUSTED, ABORTED, INTERNAL or UNKNOWN retried after
//            min(max_backoff, initial_backoff * multiplier^k) (+-20% jitter), k = 0, 1, ...
//            up to max_retries times; the reply is checked (one score per trajectory, finite,
//            within [min_score, max_score], components too)
//        ─▶ every score, in order, or the first failure's Status: never a partial result.
//
// Errors keep the code of the last failure (DEADLINE_EXCEEDED, UNAVAILABLE, ...) and say which
// service, which trajectories, how many attempts and why; a reply that breaks the contract is
// INTERNAL and is not retried.
//
// The header is free of gRPC and protobuf; the implementation owns the channel. Thread-safe:
// Score may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/reward/remote_scorer.h"

namespace gspo::reward {

struct RemoteRewardOptions {
  std::string address;           // host:port of the RewardService
  int timeout_ms = 5000;         // deadline of each call
  int max_retries = 3;           // retries of a failed call, 0 to 10
  int max_batch_size = 32;       // trajectories per call
  int max_concurrent_calls = 4;  // calls in flight at once
  int initial_backoff_ms = 100;
  double backoff_multiplier = 2.0;
  int max_backoff_ms = 5000;
  double min_score = 0;  // accepted range of scores and component scores
  double max_score = 1;
};

// Counters since the client was made, for metrics and tests.
struct RemoteRewardStats {
  std::int64_t calls = 0;             // RPCs sent, retries included
  std::int64_t retries = 0;           // RPCs that repeated a failed one
  std::int64_t failed_calls = 0;      // RPCs that failed (transport or status)
  std::int64_t rejected_replies = 0;  // replies that broke the contract
};

class RemoteRewardClient : public RemoteScorer {
 public:
  // Checks the options; the channel connects on the first call.
  static common::StatusOr<std::unique_ptr<RemoteRewardClient>> Create(RemoteRewardOptions options);
  ~RemoteRewardClient() override;
  RemoteRewardClient(const RemoteRewardClient&) = delete;
  RemoteRewardClient& operator=(const RemoteRewardClient&) = delete;

  common::StatusOr<std::vector<RemoteScore>> Score(const std::vector<Trajectory>& batch,
                                                   const ScoreContext& context) override;

  const RemoteRewardOptions& options() const;
  RemoteRewardStats stats() const;
  std::int64_t FailedCalls() const override {
    const RemoteRewardStats s = stats();
    return s.failed_calls + s.rejected_replies;
  }

 private:
  struct Impl;
  explicit RemoteRewardClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gspo::reward
