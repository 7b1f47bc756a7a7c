// A step's rewards: local components plus a remote score, all or nothing; component means for
// the metrics; the rewarder a job spec describes.
#include "worker/reward/batch_rewarder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/job_config.h"
#include "gspo/v1/job.pb.h"
#include "tests/unit/reward/reward_test_util.h"
#include "worker/reward/job_reward.h"
#include "worker/reward/reward_presets.h"

namespace gspo::reward {
namespace {

using test::kT1;
using test::kT2;
using test::LateParcel;
using test::TwoTurns;

constexpr double kEps = 1e-9;

// A remote reward that returns preset scores, or an error.
class FakeRemote : public RemoteScorer {
 public:
  common::Status status;
  std::vector<RemoteScore> scores;
  int calls = 0;
  common::StatusOr<std::vector<RemoteScore>> Score(const std::vector<Trajectory>& batch,
                                                   const ScoreContext& context) override {
    ++calls;
    if (!status.ok()) return status;
    return scores;
  }
};

std::shared_ptr<const MultiObjectiveReward> Local() {
  return std::make_shared<const MultiObjectiveReward>(
      *MultiObjectiveReward::Create({{"action_orientation", 1}, {"empathy", 0}}));
}

TEST(BatchRewarder, LocalOnly) {
  const env::Scenario s = LateParcel();
  BatchRewarder rewarder(Local(), nullptr, 0);
  auto results = rewarder.ScoreEpisodes({TwoTurns(&s, kT1, kT2)}, {"job", 3});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 1u);
  EXPECT_NEAR((*results)[0].total, 0.5, kEps);
  EXPECT_EQ((*results)[0].components.size(), 2u);
}

TEST(BatchRewarder, RemoteScoresAreWeightedAndTheirComponentsLogged) {
  const env::Scenario s = LateParcel();
  auto remote = std::make_shared<FakeRemote>();
  remote->scores = {{0.8, {{"facts_used", 1.0}}}, {0.2, {}}};
  BatchRewarder rewarder(Local(), remote, 0.5);
  auto results =
      rewarder.ScoreEpisodes({TwoTurns(&s, kT1, kT2), TwoTurns(&s, kT2, kT1)}, {"job", 3});
  ASSERT_TRUE(results.ok()) << results.status();
  const RewardResult& first = (*results)[0];
  EXPECT_NEAR(first.total, 0.5 + 0.5 * 0.8, kEps);
  ASSERT_NE(first.Find("remote"), nullptr);
  EXPECT_NEAR(first.Find("remote")->value, 0.8, kEps);
  EXPECT_EQ(first.Find("remote")->weight, 0.5);
  ASSERT_NE(first.Find("remote.facts_used"), nullptr);
  EXPECT_EQ(first.Find("remote.facts_used")->weight, 0);
  EXPECT_NEAR((*results)[1].total, 0.5 + 0.5 * 0.2, kEps);
  EXPECT_EQ(remote->calls, 1);

  BatchRewarder remote_only(nullptr, remote, 1);
  auto only = remote_only.ScoreEpisodes({TwoTurns(&s, kT1, kT2), TwoTurns(&s, kT1, kT2)}, {});
  ASSERT_TRUE(only.ok());
  EXPECT_NEAR((*only)[0].total, 0.8, kEps);
}

TEST(BatchRewarder, AFailedRemoteFailsTheWholeBatch) {
  const env::Scenario s = LateParcel();
  auto remote = std::make_shared<FakeRemote>();
  remote->status = common::DeadlineExceededError("remote reward at x:1: too slow");
  BatchRewarder rewarder(Local(), remote, 1);
  auto results = rewarder.ScoreEpisodes({TwoTurns(&s, kT1, kT2)}, {});
  EXPECT_EQ(results.status(), remote->status);

  remote->status = common::Status::Ok();
  remote->scores = {};
  EXPECT_EQ(rewarder.ScoreEpisodes({TwoTurns(&s, kT1, kT2)}, {}).status().message(),
            "remote reward returned 0 scores for 1 trajectories");
  Trajectory orphan = TwoTurns(nullptr, kT1, kT2);
  orphan.id = "o";
  EXPECT_EQ(rewarder.ScoreEpisodes({orphan}, {}).status().message(),
            "trajectory 'o' has no scenario");
  EXPECT_FALSE(BatchRewarder(nullptr, nullptr, 0).ScoreEpisodes({}, {}).ok());
}

TEST(ComponentMeans, AveragesTotalsAndEachComponent) {
  RewardResult a, b;
  a.total = 1;
  a.components = {{"empathy", 0.2, 1, false}, {"remote", 1, 1, false}};
  b.total = 0;
  b.components = {{"empathy", 0.4, 1, false}};
  const auto means = ComponentMeans({a, b});
  ASSERT_EQ(means.size(), 3u);
  EXPECT_EQ(means[0].first, "total");
  EXPECT_NEAR(means[0].second, 0.5, kEps);
  EXPECT_EQ(means[1].first, "empathy");
  EXPECT_NEAR(means[1].second, 0.3, kEps);
  EXPECT_EQ(means[2].first, "remote");
  EXPECT_NEAR(means[2].second, 1, kEps);
}

v1::JobSpec ResolvedJob(const std::string& more) {
  config::JobSource source;
  source.file = "job.yaml";
  source.text =
      "apiVersion: gspo/v1\nname: t\nmodel:\n  name_or_path: google/gemma-2-2b-it\n" + more;
  auto job = config::ResolveJob(source);
  EXPECT_TRUE(job.ok()) << job.status();
  return job.ok() ? job->spec : v1::JobSpec();
}

TEST(JobReward, TheJobsPresetAndRemote) {
  const v1::JobSpec preset = ResolvedJob("");
  auto reward = RewardForJob(preset);
  ASSERT_TRUE(reward.ok()) << reward.status();
  ASSERT_NE(*reward, nullptr);
  const std::vector<WeightedComponent>& weights = (*reward)->weights();
  const std::vector<WeightedComponent> expected = *PresetComponents("customer_service");
  ASSERT_EQ(weights.size(), expected.size());
  for (std::size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(weights[i].name, expected[i].name);
  EXPECT_FALSE(RemoteRewardOptionsForJob(preset).has_value());

  const v1::JobSpec remote = ResolvedJob(
      "reward:\n  components: []\n  remote: {address: \"localhost:50051\", timeout_ms: 250, "
      "max_retries: 1}\n");
  auto options = RemoteRewardOptionsForJob(remote);
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->address, "localhost:50051");
  EXPECT_EQ(options->timeout_ms, 250);
  EXPECT_EQ(options->max_retries, 1);
  auto none = RewardForJob(remote);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  EXPECT_TRUE(BatchRewarderForJob(remote).ok());
}

}  // namespace
}  // namespace gspo::reward
