// Properties that hold for any text: every component stays in [0, 1] and every total within the
// reward's range, on the shipped scenarios with their references, adversarial replies and
// random texts; the shipped references score as good answers should.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "common/files.h"
#include "worker/env/job_environment.h"
#include "worker/env/scenario_pack.h"
#include "worker/reward/lexicons.h"
#include "worker/reward/multi_objective_reward.h"

namespace gspo::reward {
namespace {

std::vector<env::Scenario> Shipped() {
  std::vector<env::Scenario> all;
  for (const char* task : {"customer_service", "technical_support", "sales"}) {
    auto pack = env::LoadScenarioPack(
        common::JoinPath(env::DefaultScenarioDir(), std::string(task) + ".yaml"));
    EXPECT_TRUE(pack.ok()) << pack.status();
    if (pack.ok()) all.insert(all.end(), pack->begin(), pack->end());
  }
  return all;
}

MultiObjectiveReward Everything() {
  std::vector<WeightedComponent> components;
  double w = 0.5;
  for (const std::string& name : RewardComponentNames()) components.push_back({name, w += 0.25});
  return *MultiObjectiveReward::Create(components);
}

void ExpectInRange(const MultiObjectiveReward& reward, const RewardResult& r,
                   const std::string& context) {
  for (const ComponentValue& c : r.components) {
    EXPECT_GE(c.value, 0) << c.name << " " << context;
    EXPECT_LE(c.value, 1) << c.name << " " << context;
  }
  EXPECT_GE(r.total, reward.min_total() - 1e-12) << context;
  EXPECT_LE(r.total, reward.max_total() + 1e-12) << context;
}

void CheckTrajectory(const MultiObjectiveReward& reward, const env::Scenario& s,
                     const std::vector<std::string>& replies) {
  Trajectory t;
  t.scenario = &s;
  t.messages.push_back({env::Role::kUser, s.opening_message, 0});
  for (const std::string& reply : replies) {
    t.messages.push_back({env::Role::kAssistant, reply, 0});
    t.messages.push_back({env::Role::kUser, "OK.", 0});
  }
  const std::string context = s.id + " / " + (replies.empty() ? "" : replies[0].substr(0, 40));
  ExpectInRange(reward, reward.ScoreEpisode(t), context);
  for (const RewardResult& r : reward.ScoreTurns(t)) ExpectInRange(reward, r, context);
}

std::vector<std::string> Adversarial(const env::Scenario& s) {
  std::string rambling;
  for (int i = 0; i < 150; ++i) rambling += "and then I will check it again ";
  std::vector<std::string> out = {
      "",
      "   ",
      rambling,
      "PLEASE DO NOT SHOUT AT ME, I AM TRYING TO HELP YOU!!!",
      "<start_of_turn>model\nUser: lol yeah damn<end_of_turn>",
      "\xff\xfe invalid \xc3 utf-8 \x00 bytes",
      "Sorry sorry sorry, thank you thank you, I will I will.",
      s.opening_message,
  };
  for (const std::string& f : s.forbidden) out.push_back("Good news: " + f + "!");
  return out;
}

TEST(Properties, ComponentsStayInRangeOnTheShippedScenarios) {
  const MultiObjectiveReward reward = Everything();
  for (const env::Scenario& s : Shipped()) {
    std::vector<std::string> replies = Adversarial(s);
    replies.push_back(s.reference);
    for (const std::string& reply : replies) CheckTrajectory(reward, s, {reply});
    CheckTrajectory(reward, s, replies);
    CheckTrajectory(reward, s, {});
  }
}

TEST(Properties, ComponentsStayInRangeOnRandomTexts) {
  std::vector<std::string> vocabulary = {"the", "order", "A-1042", ",",   ".",
                                         "?",   "!",     "\n",     "1.",  "-",
                                         "not", "can't", "but",    "{x}", "<bos>"};
  for (const env::PhraseList* list :
       {&EmpathyPhrases(), &DismissivePhrases(), &ActionPhrases(), &TimeframePhrases(),
        &VaguePhrases(), &InformalWords(), &ProfaneWords(), &CourtesyPhrases(), &RudePhrases(),
        &UnsafePhrases()}) {
    for (const std::string& phrase : list->texts()) vocabulary.push_back(phrase);
  }
  const std::vector<env::Scenario> scenarios = Shipped();
  ASSERT_FALSE(scenarios.empty());
  const MultiObjectiveReward reward = Everything();
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 1500; ++i) {
    const env::Scenario& s = scenarios[rng() % scenarios.size()];
    std::vector<std::string> replies(1 + rng() % 3);
    for (std::string& reply : replies) {
      const int n = static_cast<int>(rng() % 60);
      for (int k = 0; k < n; ++k) {
        if (rng() % 20 == 0) {
          reply += static_cast<char>(rng() % 256);
        } else {
          reply += vocabulary[rng() % vocabulary.size()] + (rng() % 4 ? " " : "");
        }
      }
    }
    CheckTrajectory(reward, s, replies);
  }
}

TEST(Properties, ShippedReferencesScoreAsGoodAnswers) {
  const MultiObjectiveReward reward = Everything();
  for (const env::Scenario& s : Shipped()) {
    Trajectory t;
    t.scenario = &s;
    t.messages = {{env::Role::kUser, s.opening_message, 0},
                  {env::Role::kAssistant, s.reference, 0}};
    const RewardResult r = reward.ScoreEpisode(t);
    EXPECT_EQ(r.Find("safety_penalty")->value, 0) << s.id;
    EXPECT_EQ(r.Find("format_penalty")->value, 0) << s.id;
    EXPECT_EQ(r.Find("task_resolution")->value, 1) << s.id;
    EXPECT_GE(r.Find("reference_similarity")->value, 0.5) << s.id;
    EXPECT_GE(r.Find("professionalism")->value, 0.9) << s.id;
    EXPECT_GT(r.Find("length_appropriateness")->value, 0.9) << s.id;
    EXPECT_GE(r.Find("action_orientation")->value, 2.0 / 3) << s.id;
  }
}

}  // namespace
}  // namespace gspo::reward
