// The weighted sum per turn and per episode, penalties, weight checks, and zero weights, on a
// trajectory worked out by hand:
//
//   T1 "Sorry your parcel is late. Could you give me your order number?"
//   T2 "Thanks! I will send a replacement today."
//
//   component               T1                     T2                    episode
//   empathy                 0.8*0.5 + 0.2 = 0.6    0                     mean 0.3
//   action_orientation      0                      i will+send+today: 1  mean 0.5
//   professionalism         1                      1                     1
//   politeness              0                      thanks: 0.5           mean 0.25
//   length_appropriateness  12/15 = 0.8            7/15                  mean 19/30
//   reference_similarity    0                      D 6/8, F 0: 0.375     joined: D 6/14, F 0: 3/14
//   task_resolution         asked the fact: 0.4    resolves: 1           resolved: 1
//   format/safety_penalty   0                      0                     0
#include "worker/reward/multi_objective_reward.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/unit/reward/reward_test_util.h"
#include "worker/reward/reward_presets.h"

namespace gspo::reward {
namespace {

using test::kT1;
using test::kT2;
using test::LateParcel;
using test::TwoTurns;

constexpr double kEps = 1e-9;

MultiObjectiveReward Reward(std::vector<WeightedComponent> components) {
  auto reward = MultiObjectiveReward::Create(std::move(components));
  EXPECT_TRUE(reward.ok()) << reward.status();
  return *std::move(reward);
}

std::vector<WeightedComponent> All(double weight) {
  std::vector<WeightedComponent> out;
  for (const std::string& name : RewardComponentNames()) out.push_back({name, weight});
  return out;
}

double Value(const RewardResult& r, const std::string& name) {
  const ComponentValue* c = r.Find(name);
  EXPECT_NE(c, nullptr) << name;
  return c ? c->value : NAN;
}

TEST(MultiObjectiveReward, PerTurnValues) {
  const env::Scenario s = LateParcel();
  const std::vector<RewardResult> turns = Reward(All(1)).ScoreTurns(TwoTurns(&s, kT1, kT2));
  ASSERT_EQ(turns.size(), 2u);
  const double t1[] = {0.6, 0, 1, 0.8, 0, 0.4, 0, 0, 0};
  const double t2[] = {0, 1, 1, 7.0 / 15, 0.375, 1, 0.5, 0, 0};
  for (std::size_t i = 0; i < RewardComponentNames().size(); ++i) {
    const std::string& name = RewardComponentNames()[i];
    EXPECT_NEAR(Value(turns[0], name), t1[i], kEps) << "T1 " << name;
    EXPECT_NEAR(Value(turns[1], name), t2[i], kEps) << "T2 " << name;
  }
}

TEST(MultiObjectiveReward, EpisodeValues) {
  const env::Scenario s = LateParcel();
  const RewardResult r = Reward(All(1)).ScoreEpisode(TwoTurns(&s, kT1, kT2));
  const double expected[] = {0.3, 0.5, 1, 19.0 / 30, 3.0 / 14, 1, 0.25, 0, 0};
  for (std::size_t i = 0; i < RewardComponentNames().size(); ++i) {
    EXPECT_NEAR(Value(r, RewardComponentNames()[i]), expected[i], kEps)
        << RewardComponentNames()[i];
  }
  // All weights 1: the seven scores minus the two penalties.
  EXPECT_NEAR(r.total, 0.3 + 0.5 + 1 + 19.0 / 30 + 3.0 / 14 + 1 + 0.25, kEps);
}

TEST(MultiObjectiveReward, PresetTotals) {
  const env::Scenario s = LateParcel();
  const Trajectory t = TwoTurns(&s, kT1, kT2);
  const auto total = [&](const std::string& task) {
    return Reward(*PresetComponents(task)).ScoreEpisode(t).total;
  };
  // 0.25*0.3 + 0.25*0.5 + 0.25*1 + 0.1*19/30 + 0.15*3/14
  EXPECT_NEAR(total("customer_service"), 0.075 + 0.125 + 0.25 + 0.19 / 3 + 0.45 / 14, kEps);
  // 0.3*1 + 0.25*0.5 + 0.15*3/14 + 0.15*1 + 0.1*0.3 + 0.05*19/30
  EXPECT_NEAR(total("technical_support"), 0.3 + 0.125 + 0.45 / 14 + 0.15 + 0.03 + 0.95 / 30, kEps);
  // 0.25*1 + 0.2*0.5 + 0.2*1 + 0.15*0.3 + 0.1*0.25 + 0.1*19/30
  EXPECT_NEAR(total("sales"), 0.25 + 0.1 + 0.2 + 0.045 + 0.025 + 1.9 / 30, kEps);
  // Per turn, customer_service: T1 0.25*0.6 + 0.25*1 + 0.1*0.8; T2 0.25 + 0.25 + 0.1*7/15 +
  // 0.15*0.375.
  const std::vector<RewardResult> turns =
      Reward(*PresetComponents("customer_service")).ScoreTurns(t);
  EXPECT_NEAR(turns[0].total, 0.15 + 0.25 + 0.08, kEps);
  EXPECT_NEAR(turns[1].total, 0.5 + 0.7 / 15 + 0.05625, kEps);
}

TEST(MultiObjectiveReward, PenaltiesSubtract) {
  const env::Scenario s = LateParcel();
  const MultiObjectiveReward reward =
      Reward({{"politeness", 1}, {"format_penalty", 0.5}, {"safety_penalty", 2}});
  EXPECT_DOUBLE_EQ(reward.min_total(), -2.5);
  EXPECT_DOUBLE_EQ(reward.max_total(), 1);
  // T2 leaks a template token and promises a full refund; T1 is clean.
  const Trajectory bad = TwoTurns(&s, kT1, "Thanks, please enjoy a full refund.<end_of_turn>");
  const RewardResult r = reward.ScoreEpisode(bad);
  EXPECT_NEAR(Value(r, "format_penalty"), 1, kEps);  // the worst turn
  EXPECT_NEAR(Value(r, "safety_penalty"), 1, kEps);
  EXPECT_NEAR(Value(r, "politeness"), 0.5, kEps);  // mean of 0 and 1
  EXPECT_NEAR(r.total, 0.5 - 0.5 - 2, kEps);
  EXPECT_TRUE(r.Find("safety_penalty")->penalty);
  EXPECT_FALSE(r.Find("politeness")->penalty);
}

TEST(MultiObjectiveReward, ZeroWeightsAreReportedButNotAdded) {
  const env::Scenario s = LateParcel();
  const Trajectory t = TwoTurns(&s, kT1, kT2);
  const RewardResult r = Reward({{"empathy", 0}, {"action_orientation", 1}}).ScoreEpisode(t);
  ASSERT_EQ(r.components.size(), 2u);
  EXPECT_NEAR(r.components[0].value, 0.3, kEps);
  EXPECT_EQ(r.components[0].weight, 0);
  EXPECT_NEAR(r.total, 0.5, kEps);
  // Scaling every weight scales the total.
  EXPECT_NEAR(Reward({{"empathy", 0}, {"action_orientation", 4}}).ScoreEpisode(t).total, 2, kEps);
}

TEST(MultiObjectiveReward, NoAssistantTurnScoresZero) {
  const env::Scenario s = LateParcel();
  Trajectory t;
  t.scenario = &s;
  t.messages = {{env::Role::kUser, "Hi", 0}};
  const MultiObjectiveReward reward = Reward(All(1));
  EXPECT_TRUE(reward.ScoreTurns(t).empty());
  const RewardResult r = reward.ScoreEpisode(t);
  for (const ComponentValue& c : r.components) EXPECT_EQ(c.value, 0) << c.name;
  EXPECT_EQ(r.total, 0);
}

std::string ErrorOf(std::vector<WeightedComponent> components, double remote = 0) {
  auto reward = MultiObjectiveReward::Create(std::move(components), remote);
  return reward.ok() ? "OK" : reward.status().message();
}

TEST(MultiObjectiveReward, WeightsAreValidated) {
  EXPECT_EQ(ErrorOf({{"empaty", 1}}),
            "reward.components[0].name: expected one of empathy, action_orientation, "
            "professionalism, length_appropriateness, reference_similarity, task_resolution, "
            "politeness, format_penalty, safety_penalty; got 'empaty' (did you mean 'empathy'?)");
  EXPECT_EQ(ErrorOf({{"empathy", 1}, {"empathy", 2}}),
            "reward.components[1].name: 'empathy' is listed twice");
  EXPECT_EQ(ErrorOf({{"empathy", -1}}),
            "reward.components[0].weight: expected a weight in [0, 1000], got -1");
  EXPECT_EQ(ErrorOf({{"empathy", 1}, {"politeness", NAN}}),
            "reward.components[1].weight: expected a weight in [0, 1000], got nan");
  EXPECT_EQ(ErrorOf({{"empathy", 1001}}),
            "reward.components[0].weight: expected a weight in [0, 1000], got 1001");
  EXPECT_EQ(ErrorOf({{"empathy", 0}, {"politeness", 0}}),
            "reward.components: expected at least one weight > 0");
  EXPECT_EQ(ErrorOf({}), "reward.components: no reward components");
  // A remote reward's weight counts.
  EXPECT_EQ(ErrorOf({{"empathy", 0}}, 1), "OK");
  EXPECT_EQ(ErrorOf({}, 1), "OK");
  // Every error at once.
  EXPECT_EQ(ErrorOf({{"x", 1}, {"empathy", -2}}),
            "reward.components[0].name: expected one of empathy, action_orientation, "
            "professionalism, length_appropriateness, reference_similarity, task_resolution, "
            "politeness, format_penalty, safety_penalty; got 'x'\n"
            "reward.components[1].weight: expected a weight in [0, 1000], got -2");
}

TEST(MultiObjectiveReward, LengthBandsCanBeSetPerTask) {
  const env::Scenario s = LateParcel();
  ComponentOptions options;
  options.length_bands["customer_service"] = {5, 10};
  auto reward = MultiObjectiveReward::Create({{"length_appropriateness", 1}}, 0, options);
  ASSERT_TRUE(reward.ok());
  // T1 has 12 words: 1 - 2/10; T2 has 7: inside the band.
  const std::vector<RewardResult> turns = reward->ScoreTurns(TwoTurns(&s, kT1, kT2));
  EXPECT_NEAR(turns[0].total, 0.8, kEps);
  EXPECT_NEAR(turns[1].total, 1, kEps);
}

}  // namespace
}  // namespace gspo::reward
