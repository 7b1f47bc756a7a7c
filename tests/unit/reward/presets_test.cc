// Reward presets: the guide's customer-service weights, the other tasks' documented choices,
// mixtures, and agreement with the presets job.yaml resolution fills in.
#include "common/config/presets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/reward/reward_component.h"
#include "worker/reward/reward_presets.h"

namespace gspo::reward {
namespace {

constexpr double kEps = 1e-12;

std::vector<std::pair<std::string, double>> Pairs(const std::vector<WeightedComponent>& v) {
  std::vector<std::pair<std::string, double>> out;
  for (const WeightedComponent& c : v) out.emplace_back(c.name, c.weight);
  return out;
}

TEST(RewardPresets, CustomerServiceIsTheGuidesReward) {
  EXPECT_THAT(Pairs(*PresetComponents("customer_service")),
              ::testing::ElementsAre(std::pair<std::string, double>{"empathy", 0.25},
                                     std::pair<std::string, double>{"action_orientation", 0.25},
                                     std::pair<std::string, double>{"professionalism", 0.25},
                                     std::pair<std::string, double>{"length_appropriateness", 0.1},
                                     std::pair<std::string, double>{"reference_similarity", 0.15}));
}

TEST(RewardPresets, EachSumsToOneWithoutPenaltiesAndIsValid) {
  for (const std::string& task : RewardPresetTasks()) {
    auto components = PresetComponents(task);
    ASSERT_TRUE(components.ok());
    double sum = 0;
    for (const WeightedComponent& c : *components) {
      sum += c.weight;
      EXPECT_NE(c.name, "format_penalty");
      EXPECT_NE(c.name, "safety_penalty");
    }
    EXPECT_NEAR(sum, 1, kEps) << task;
    auto reward = MultiObjectiveReward::Create(*components);
    ASSERT_TRUE(reward.ok()) << reward.status();
    EXPECT_NEAR(reward->min_total(), 0, kEps);
    EXPECT_NEAR(reward->max_total(), 1, kEps);
  }
  EXPECT_EQ(PresetComponents("billing").status().message(),
            "no reward preset for task 'billing'; expected one of customer_service, "
            "technical_support, sales");
  EXPECT_EQ(PresetComponents("sale").status().message(),
            "no reward preset for task 'sale'; expected one of customer_service, "
            "technical_support, sales (did you mean 'sales'?)");
}

TEST(RewardPresets, TheGuidesMixture) {
  auto mixture =
      MixtureComponents({{"customer_service", 0.4}, {"technical_support", 0.3}, {"sales", 0.3}});
  ASSERT_TRUE(mixture.ok());
  const std::map<std::string, double> expected = {{"empathy", 0.175},
                                                  {"action_orientation", 0.235},
                                                  {"professionalism", 0.205},
                                                  {"length_appropriateness", 0.085},
                                                  {"reference_similarity", 0.105},
                                                  {"task_resolution", 0.165},
                                                  {"politeness", 0.03}};
  double sum = 0;
  for (const WeightedComponent& c : *mixture) {
    ASSERT_TRUE(expected.count(c.name)) << c.name;
    EXPECT_NEAR(c.weight, expected.at(c.name), kEps) << c.name;
    sum += c.weight;
  }
  EXPECT_EQ(mixture->size(), expected.size());
  EXPECT_NEAR(sum, 1, 1e-9);
  EXPECT_FALSE(MixtureComponents({}).ok());
  EXPECT_FALSE(MixtureComponents({{"sales", 0}}).ok());
}

// The job spec's presets (common/config) and the reward's must never drift apart.
TEST(RewardPresets, MatchTheJobSpecPresets) {
  google::protobuf::Map<std::string, double> none;
  for (const std::string& task : RewardPresetTasks()) {
    const auto from_config = config::RewardPresetComponents(task, none);
    const std::vector<WeightedComponent> ours = *PresetComponents(task);
    ASSERT_EQ(from_config.size(), ours.size()) << task;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      EXPECT_EQ(from_config[i].name(), ours[i].name) << task;
      EXPECT_DOUBLE_EQ(from_config[i].weight(), ours[i].weight) << task;
    }
  }
  for (const std::map<std::string, double>& weights : std::vector<std::map<std::string, double>>{
           {{"customer_service", 0.4}, {"technical_support", 0.3}, {"sales", 0.3}},
           {{"customer_service", 1}, {"sales", 3}},
           {{"technical_support", 2}}}) {
    google::protobuf::Map<std::string, double> map(weights.begin(), weights.end());
    const auto from_config = config::RewardPresetComponents("mixture", map);
    const std::vector<WeightedComponent> ours = *MixtureComponents(weights);
    ASSERT_EQ(from_config.size(), ours.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
      EXPECT_EQ(from_config[i].name(), ours[i].name);
      EXPECT_DOUBLE_EQ(from_config[i].weight(), ours[i].weight);
    }
  }
  EXPECT_EQ(RewardComponentNames(), config::KnownRewardComponents());
}

}  // namespace
}  // namespace gspo::reward
