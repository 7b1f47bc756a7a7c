// ScriptedDialogues on a hand-written scenario: even conversations answer with the reference,
// odd ones ask for a fact first and get the simulated user's answer, and the shipped
// customer-service pack yields well-formed conversations that end resolved.
#include "worker/env/scripted_dialogues.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "worker/env/job_environment.h"
#include "worker/env/scenario_pack.h"

namespace gspo::env {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

std::unique_ptr<ConversationEnvironment> Environment(std::vector<Scenario> scenarios) {
  EnvironmentOptions options;
  options.scenarios = std::move(scenarios);
  options.system_prompt = "Be helpful.";
  options.max_turns = 3;
  auto env = ConversationEnvironment::Create(std::move(options));
  EXPECT_TRUE(env.ok()) << env.status();
  return std::move(env).value();
}

Scenario Parcel() {
  Scenario s;
  s.id = "parcel";
  s.task = "customer_service";
  s.opening_message = "Where is my parcel?";
  s.facts = {{"order_number", "A-1"}};
  s.resolution = {"send a replacement"};
  s.reference = "I will send a replacement today.";
  return s;
}

TEST(ScriptedDialogues, EvenAnswersDirectlyOddAsksForAFactFirst) {
  auto env = Environment({Parcel()});
  auto dialogues = ScriptedDialogues(*env, {4, 9});
  ASSERT_TRUE(dialogues.ok()) << dialogues.status();
  ASSERT_EQ(dialogues->size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    const std::vector<Message>& m = (*dialogues)[k];
    ASSERT_GE(m.size(), 3u);
    EXPECT_EQ(m[0].role, Role::kSystem);
    EXPECT_EQ(m[0].content, "Be helpful.");
    EXPECT_EQ(m[1].content, "Where is my parcel?");
    EXPECT_EQ(m.back().role, Role::kAssistant);
    EXPECT_THAT(m.back().content, HasSubstr("I will send a replacement today.")) << k;
    if (k % 2 == 0) {
      EXPECT_EQ(m.size(), 3u) << k;
    } else {
      // system, user, the question, the user's answer with the fact's value, the reference.
      ASSERT_EQ(m.size(), 5u) << k;
      EXPECT_THAT(m[2].content, HasSubstr("order number"));
      EXPECT_EQ(m[3].role, Role::kUser);
      EXPECT_THAT(m[3].content, HasSubstr("A-1"));
    }
  }
}

TEST(ScriptedDialogues, SameSeedSameDialoguesAndBadCountRejected) {
  auto env = Environment({Parcel()});
  auto a = ScriptedDialogues(*env, {6, 1});
  auto b = ScriptedDialogues(*env, {6, 1});
  ASSERT_TRUE(a.ok() && b.ok());
  for (std::size_t k = 0; k < a->size(); ++k) {
    ASSERT_EQ((*a)[k].size(), (*b)[k].size());
    for (std::size_t i = 0; i < (*a)[k].size(); ++i)
      EXPECT_EQ((*a)[k][i].content, (*b)[k][i].content);
  }
  auto bad = ScriptedDialogues(*env, {0, 1});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "per_scenario: expected at least 1, got 0");
  Scenario no_reference = Parcel();
  no_reference.reference.clear();
  auto none = ScriptedDialogues(*Environment({no_reference}), {2, 1});
  EXPECT_FALSE(none.ok());
}

TEST(ScriptedDialogues, ShippedCustomerServicePackGivesAlternatingConversations) {
  auto pack = LoadScenarioPack(common::JoinPath(DefaultScenarioDir(), "customer_service.yaml"));
  ASSERT_TRUE(pack.ok()) << pack.status();
  const std::size_t scenarios = pack->size();
  auto env = Environment(std::move(pack).value());
  auto dialogues = ScriptedDialogues(*env, {2, 0});
  ASSERT_TRUE(dialogues.ok()) << dialogues.status();
  EXPECT_GE(dialogues->size(), scenarios);  // a question that ends a conversation is dropped
  for (const auto& m : *dialogues) {
    Role previous = Role::kAssistant;
    for (std::size_t i = 1; i < m.size(); ++i) {
      EXPECT_NE(m[i].role, previous);
      previous = m[i].role;
    }
    EXPECT_EQ(m.back().role, Role::kAssistant);
  }
}

}  // namespace
}  // namespace gspo::env
