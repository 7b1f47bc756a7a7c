// The remote reward client against the example reward server, run as a real process on
// loopback: batching and concurrency, a slow server against the deadline, failing calls and
// retries, malformed replies; never a partial result.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "tests/unit/reward/reward_server_process.h"
#include "worker/reward/batch_rewarder.h"
#include "worker/reward/remote_reward_client.h"
#include "worker/reward/reward_presets.h"

namespace gspo::reward {
namespace {

using test::RewardServerProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

env::Scenario Scenario() {
  env::Scenario s;
  s.id = "late";
  s.task = "customer_service";
  s.opening_message = "Where is my order?";
  s.facts = {{"order_number", "A-1042"}, {"carrier", "DHL"}};
  s.resolution = {"send a replacement"};
  return s;
}

// Trajectory i: mentions the order number only, and has 256 * (i + 1) completion tokens, so the
// server's score is (1/2 + 1/(i+1)) / 2.
std::vector<Trajectory> Batch(const env::Scenario* s, int n) {
  std::vector<Trajectory> batch;
  for (int i = 0; i < n; ++i) {
    Trajectory t;
    t.id = "t" + std::to_string(i);
    t.scenario = s;
    t.messages = {{env::Role::kUser, s->opening_message, 0},
                  {env::Role::kAssistant, "Order a-1042 is on its way.", 0}};
    t.num_completion_tokens = 256 * (i + 1);
    t.end_reason = env::EndReason::kResolved;
    batch.push_back(std::move(t));
  }
  return batch;
}

RemoteRewardOptions Options(const std::string& address) {
  RemoteRewardOptions o;
  o.address = address;
  o.timeout_ms = 2000;
  o.max_retries = 3;
  o.initial_backoff_ms = 10;
  o.max_backoff_ms = 50;
  return o;
}

std::unique_ptr<RemoteRewardClient> Client(const RemoteRewardOptions& options) {
  auto client = RemoteRewardClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

TEST(RemoteReward, ScoresEveryTrajectoryInOrderAcrossConcurrentCalls) {
  RewardServerProcess server;
  ASSERT_TRUE(server.Start({}).ok());
  RemoteRewardOptions o = Options(server.address());
  o.max_batch_size = 3;
  o.max_concurrent_calls = 2;
  auto client = Client(o);
  const env::Scenario s = Scenario();
  auto scores = client->Score(Batch(&s, 10), {"job", 7});
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->size(), 10u);
  for (int i = 0; i < 10; ++i) {
    const double brevity = 1.0 / (i + 1);
    EXPECT_NEAR((*scores)[i].score, (0.5 + brevity) / 2, 1e-12) << i;
    EXPECT_THAT((*scores)[i].components,
                ElementsAre(Pair("brevity", ::testing::DoubleNear(brevity, 1e-12)),
                            Pair("facts_used", 0.5)));
  }
  EXPECT_EQ(client->stats().calls, 4);  // 3 + 3 + 3 + 1
  EXPECT_EQ(client->stats().retries, 0);
  // The server saw three calls of 3 and one of 1, in whatever order they arrived.
  const std::vector<std::string> log = server.Stop();
  EXPECT_EQ(log.size(), 4u);
  EXPECT_THAT(log, ::testing::Contains(::testing::EndsWith(": 3 trajectories")).Times(3));
  EXPECT_THAT(log, ::testing::Contains(::testing::EndsWith(": 1 trajectories")).Times(1));
}

TEST(RemoteReward, ASlowServerHitsTheDeadlineOnEveryAttempt) {
  RewardServerProcess server;
  ASSERT_TRUE(server.Start({"--delay-ms", "3000"}).ok());
  RemoteRewardOptions o = Options(server.address());
  o.timeout_ms = 150;
  o.max_retries = 2;
  auto client = Client(o);
  const env::Scenario s = Scenario();
  const auto start = std::chrono::steady_clock::now();
  auto scores = client->Score(Batch(&s, 2), {"job", 1});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(scores.ok());
  EXPECT_EQ(scores.status().code(), common::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(scores.status().message(),
            "remote reward at " + server.address() +
                ": Score of trajectories 0-1 failed after 3 attempt(s) (2 retries allowed, "
                "deadline 150 ms each); last error: DEADLINE_EXCEEDED: Deadline Exceeded");
  EXPECT_EQ(client->stats().calls, 3);
  EXPECT_EQ(client->stats().retries, 2);
  EXPECT_LT(elapsed, std::chrono::milliseconds(2500));  // did not wait for the slow replies
  EXPECT_EQ(server.Stop().size(), 3u);                  // the server saw the 3 attempts
}

TEST(RemoteReward, FailedCallsAreRetriedUntilTheySucceed) {
  RewardServerProcess server;
  ASSERT_TRUE(server.Start({"--fail-first", "2"}).ok());
  auto client = Client(Options(server.address()));
  const env::Scenario s = Scenario();
  auto scores = client->Score(Batch(&s, 3), {"job", 1});
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_NEAR((*scores)[0].score, 0.75, 1e-12);
  EXPECT_EQ(client->stats().calls, 3);
  EXPECT_EQ(client->stats().retries, 2);
  EXPECT_EQ(client->stats().failed_calls, 2);
  EXPECT_EQ(client->FailedCalls(), 2);  // what a job's metrics report as reward_call_errors
}

TEST(RemoteReward, AfterTheRetryBudgetTheCauseIsReported) {
  RewardServerProcess server;
  ASSERT_TRUE(server.Start({"--fail-first", "10"}).ok());
  RemoteRewardOptions o = Options(server.address());
  o.max_retries = 2;
  auto client = Client(o);
  const env::Scenario s = Scenario();
  auto scores = client->Score(Batch(&s, 1), {"job", 1});
  EXPECT_EQ(scores.status().code(), common::StatusCode::kUnavailable);
  EXPECT_EQ(scores.status().message(),
            "remote reward at " + server.address() +
                ": Score of trajectory 0 failed after 3 attempt(s) (2 retries allowed, deadline "
                "2000 ms each); last error: UNAVAILABLE: failing the first 10 calls "
                "(--fail-first)");
}

TEST(RemoteReward, MalformedRepliesAreRejectedWithoutRetrying) {
  const env::Scenario s = Scenario();
  struct Case {
    const char* mode;
    std::string expected;
  };
  const Case cases[] = {
      {"count", ": rejected the reply for trajectories 0-2: 2 scores for 3 trajectories"},
      {"nan",
       ": rejected the reply for trajectories 0-2: the score of trajectory 0 ('t0') is nan; "
       "expected a finite number in [0, 1]"},
      {"range",
       ": rejected the reply for trajectories 0-2: the score of trajectory 0 ('t0') is 1.5; "
       "expected a finite number in [0, 1]"},
  };
  for (const Case& c : cases) {
    RewardServerProcess server;
    ASSERT_TRUE(server.Start({"--malformed", c.mode}).ok());
    auto client = Client(Options(server.address()));
    auto scores = client->Score(Batch(&s, 3), {"job", 1});
    EXPECT_EQ(scores.status().code(), common::StatusCode::kInternal) << c.mode;
    EXPECT_EQ(scores.status().message(), "remote reward at " + server.address() + c.expected);
    EXPECT_EQ(client->stats().calls, 1) << c.mode;
    EXPECT_EQ(client->stats().rejected_replies, 1) << c.mode;
  }
}

TEST(RemoteReward, OneBadChunkFailsTheWholeBatch) {
  RewardServerProcess server;
  ASSERT_TRUE(server.Start({"--malformed", "count"}).ok());
  RemoteRewardOptions o = Options(server.address());
  o.max_batch_size = 2;
  o.max_concurrent_calls = 3;
  auto client = Client(o);
  const env::Scenario s = Scenario();
  auto scores = client->Score(Batch(&s, 6), {"job", 1});
  EXPECT_FALSE(scores.ok());
  EXPECT_THAT(scores.status().message(), HasSubstr("1 scores for 2 trajectories"));
}

TEST(RemoteReward, NoServerListening) {
  RewardServerProcess server;
  ASSERT_TRUE(server.Start({}).ok());
  const std::string address = server.address();
  server.Stop();
  RemoteRewardOptions o = Options(address);
  o.max_retries = 1;
  auto client = Client(o);
  const env::Scenario s = Scenario();
  auto scores = client->Score(Batch(&s, 1), {"job", 1});
  EXPECT_EQ(scores.status().code(), common::StatusCode::kUnavailable);
  EXPECT_THAT(scores.status().message(),
              HasSubstr("remote reward at " + address +
                        ": Score of trajectory 0 failed after 2 attempt(s)"));
}

TEST(RemoteReward, AStepRewardsLocallyAndRemotely) {
  RewardServerProcess server;
  ASSERT_TRUE(server.Start({"--fail-first", "1"}).ok());
  std::shared_ptr<RemoteRewardClient> client = Client(Options(server.address()));
  auto local = std::make_shared<const MultiObjectiveReward>(
      *MultiObjectiveReward::Create(*PresetComponents("customer_service"), 0.5));
  BatchRewarder rewarder(local, client, 0.5);
  const env::Scenario s = Scenario();
  const std::vector<Trajectory> batch = Batch(&s, 2);
  auto results = rewarder.ScoreEpisodes(batch, {"job", 1});
  ASSERT_TRUE(results.ok()) << results.status();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const RewardResult alone = local->ScoreEpisode(batch[i]);
    const double remote = (0.5 + 1.0 / (i + 1)) / 2;
    EXPECT_NEAR((*results)[i].total, alone.total + 0.5 * remote, 1e-12);
    EXPECT_NEAR((*results)[i].Find("remote")->value, remote, 1e-12);
    EXPECT_NE((*results)[i].Find("remote.facts_used"), nullptr);
  }
}

TEST(RemoteReward, OptionsAreChecked) {
  RemoteRewardOptions o;
  o.address = "nohost";
  o.timeout_ms = 0;
  o.max_retries = 11;
  EXPECT_EQ(RemoteRewardClient::Create(o).status().message(),
            "remote reward options: address: expected host:port, got 'nohost'; timeout_ms: "
            "expected >= 1; max_retries: expected 0 to 10");
}

}  // namespace
}  // namespace gspo::reward
