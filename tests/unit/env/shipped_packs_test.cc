// The scenario packs shipped in examples/scenarios: each loads, has at least 30 scenarios of its
// task, and each scenario's reference answer resolves it in one turn without a forbidden
// promise (so the packs' resolution conditions are reachable by a good answer).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "common/files.h"
#include "worker/env/conversation_environment.h"
#include "worker/env/job_environment.h"
#include "worker/env/scenario_matching.h"
#include "worker/env/scenario_pack.h"

namespace gspo::env {
namespace {

const char* const kTasks[] = {"customer_service", "technical_support", "sales"};

std::vector<Scenario> LoadShipped(const std::string& task) {
  auto pack = LoadScenarioPack(common::JoinPath(DefaultScenarioDir(), task + ".yaml"));
  EXPECT_TRUE(pack.ok()) << pack.status();
  return pack.ok() ? *pack : std::vector<Scenario>{};
}

TEST(ShippedPacks, DefaultDirectoryIsTheSourceTreesExamples) {
  EXPECT_EQ(DefaultScenarioDir(), std::string(GSPO_SOURCE_DIR) + "/examples/scenarios");
}

TEST(ShippedPacks, EachLoadsWithAtLeastThirtyScenariosOfItsTask) {
  std::set<std::string> ids;
  for (const char* task : kTasks) {
    const std::vector<Scenario> pack = LoadShipped(task);
    EXPECT_GE(pack.size(), 30u) << task;
    for (const Scenario& s : pack) {
      EXPECT_EQ(s.task, task) << s.id;
      EXPECT_TRUE(ids.insert(s.id).second) << "id used twice: " << s.id;
      EXPECT_FALSE(s.persona.empty()) << s.id;
      EXPECT_FALSE(s.reference.empty()) << s.id;
      EXPECT_FALSE(s.resolution.empty()) << s.id;
      EXPECT_FALSE(s.forbidden.empty()) << s.id;
      EXPECT_FALSE(s.facts.empty()) << s.id;
      EXPECT_FALSE(s.user_replies.empty()) << s.id;
    }
  }
}

TEST(ShippedPacks, EveryReferenceResolvesItsScenarioWithinTheRules) {
  for (const char* task : kTasks) {
    for (const Scenario& s : LoadShipped(task)) {
      EXPECT_TRUE(MeetsResolution(s, s.reference)) << s.origin << " " << s.id;
      EXPECT_THAT(ForbiddenPromises(s, s.reference), ::testing::IsEmpty())
          << s.origin << " " << s.id;
      // The opening message does not already resolve the case.
      EXPECT_FALSE(MeetsResolution(s, s.opening_message)) << s.origin << " " << s.id;
    }
  }
}

TEST(ShippedPacks, AnAgentThatAnswersWithTheReferenceResolvesEveryEpisode) {
  EnvironmentOptions options;
  for (const char* task : kTasks) {
    for (Scenario& s : LoadShipped(task)) options.scenarios.push_back(std::move(s));
  }
  options.system_prompt = "You are a helpful assistant.";
  auto env = ConversationEnvironment::Create(options);
  ASSERT_TRUE(env.ok()) << env.status();
  for (const Scenario& s : (*env)->scenarios()) {
    Episode e = (*env)->StartEpisode(s, 1);
    EXPECT_EQ(e.messages()[1].content.find('{'), std::string::npos) << s.id;
    auto r = (*env)->Step(&e, s.reference);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->end_reason, EndReason::kResolved) << s.id;
  }
}

TEST(ShippedPacks, AStallingAgentHearsTheScriptedUser) {
  for (const char* task : kTasks) {
    EnvironmentOptions options;
    options.scenarios = LoadShipped(task);
    options.max_turns = 10;
    auto env = ConversationEnvironment::Create(options);
    ASSERT_TRUE(env.ok()) << env.status();
    for (const Scenario& s : (*env)->scenarios()) {
      Episode e = (*env)->StartEpisode(s, 3);
      auto r = (*env)->Step(&e, "Thanks for reaching out.");
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(r->user_turn.has_value()) << s.id;
      EXPECT_EQ(r->user_turn->content, s.user_replies[0]) << s.id;
    }
  }
}

}  // namespace
}  // namespace gspo::env
