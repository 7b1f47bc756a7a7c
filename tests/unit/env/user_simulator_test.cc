// The simulated users: the rule-based one answers by the scenario's rules, facts and script, in
// that order; the model-served one gets a persona prompt with the roles turned around.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/env/llm_user_simulator.h"
#include "worker/env/rule_based_user.h"
#include "worker/env/scenario_matching.h"

namespace gspo::env {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Scenario LateOrder() {
  Scenario s;
  s.id = "late";
  s.task = "customer_service";
  s.opening_message = "Where is my order {order_number}?";
  s.persona = "Impatient but polite.";
  s.facts = {{"order_number", "A-1042"}, {"account_email", "ann@example.com"}};
  s.resolution = {"send a replacement"};
  s.user_replies = {"It's been two weeks.", "Please hurry."};
  s.reply_rules = {{{"tracking"}, "Tracking for {order_number} is stuck.", false},
                   {{"store credit"}, "No thanks, goodbye.", true}};
  return s;
}

// Drives the rule-based user through agent turns, like the environment does.
class UserDriver {
 public:
  explicit UserDriver(Scenario scenario) : scenario_(std::move(scenario)) {
    messages_.push_back({Role::kUser, scenario_.opening_message, 0});
  }
  UserTurn Reply(const std::string& agent) {
    messages_.push_back({Role::kAssistant, agent, 0});
    ++turns_;
    UserTurn turn = user_.NextTurn({&scenario_, &messages_, &state_, 7, turns_});
    if (!turn.text.empty()) messages_.push_back({Role::kUser, turn.text, 0});
    return turn;
  }
  const UserState& state() const { return state_; }

 private:
  Scenario scenario_;
  std::vector<Message> messages_;
  UserState state_;
  RuleBasedUserSimulator user_;
  int turns_ = 0;
};

TEST(RuleBasedUser, AReplyRuleFiresOnceOnAnAffirmedPhrase) {
  UserDriver user(LateOrder());
  UserTurn t = user.Reply("Let me check the tracking for you.");
  EXPECT_EQ(t.text, "Tracking for A-1042 is stuck.");
  EXPECT_FALSE(t.ends);
  EXPECT_THAT(user.state().facts_given, ElementsAre("order_number"));
  // Fired already: the script takes over.
  EXPECT_EQ(user.Reply("The tracking shows it in transit.").text, "It's been two weeks.");
}

TEST(RuleBasedUser, NegatedPhrasesDoNotFireRulesAndEndingRulesEnd) {
  UserDriver user(LateOrder());
  EXPECT_EQ(user.Reply("I can't offer store credit here.").text, "It's been two weeks.");
  const UserTurn t = user.Reply("I can offer store credit.");
  EXPECT_EQ(t.text, "No thanks, goodbye.");
  EXPECT_TRUE(t.ends);
}

TEST(RuleBasedUser, GivesTheFactsItIsAskedFor) {
  UserDriver user(LateOrder());
  const UserTurn one = user.Reply("I'm sorry. Could you tell me your order number?");
  const std::vector<std::string> wordings = {"It's A-1042.", "Sure, the order number is A-1042.",
                                             "My order number is A-1042."};
  EXPECT_THAT(wordings, ::testing::Contains(one.text));
  EXPECT_EQ(user.Reply("What's your order number and email?").text,
            "Sure: the account email is ann@example.com, and the order number is A-1042.");
  EXPECT_EQ(user.Reply("Which order is this about?").text,
            "As I said, the order number is A-1042.");
}

TEST(RuleBasedUser, FollowsTheScriptThenLeaves) {
  UserDriver user(LateOrder());
  EXPECT_EQ(user.Reply("Thanks for waiting.").text, "It's been two weeks.");
  EXPECT_EQ(user.Reply("I see.").text, "Please hurry.");
  const UserTurn last = user.Reply("OK.");
  EXPECT_EQ(last.text, "");
  EXPECT_TRUE(last.ends);
}

TEST(FactAnswer, WordingsBySeedVariant) {
  const Scenario s = LateOrder();
  EXPECT_EQ(FactAnswer(s, {"order_number"}, {}, 0), "It's A-1042.");
  EXPECT_EQ(FactAnswer(s, {"order_number"}, {}, 1), "Sure, the order number is A-1042.");
  EXPECT_EQ(FactAnswer(s, {"order_number"}, {}, 2), "My order number is A-1042.");
  EXPECT_EQ(FactAnswer(s, {"account_email", "order_number"}, {"order_number"}, 0),
            "Sure: the account email is ann@example.com, and the order number is A-1042.");
}

TEST(RequestedFacts, RequestsNameTheFactByItsWords) {
  Scenario s = LateOrder();
  s.facts["error_code"] = "0x80070643";
  s.facts["product_serial"] = "PB6-22817";
  s.facts["phone"] = "555-0101";
  EXPECT_THAT(RequestedFacts(s, "What's your order number?"), ElementsAre("order_number"));
  EXPECT_THAT(RequestedFacts(s, "Please provide the order ID."), ElementsAre("order_number"));
  EXPECT_THAT(RequestedFacts(s, "What error do you see?"), ElementsAre("error_code"));
  EXPECT_THAT(RequestedFacts(s, "Can you read me the serial?"), ElementsAre("product_serial"));
  EXPECT_THAT(RequestedFacts(s, "Could you share a mobile number?"), ElementsAre("phone"));
  // Not a request, or a generic head alone.
  EXPECT_THAT(RequestedFacts(s, "Your order number is noted."), IsEmpty());
  EXPECT_THAT(RequestedFacts(s, "What number should I call?"), IsEmpty());
}

TEST(ScenarioMatching, ResolutionConditionsAndForbiddenPromises) {
  Scenario s = LateOrder();
  s.resolution = {"refund & business days", "send a replacement"};
  s.forbidden = {"full refund"};
  EXPECT_TRUE(MeetsResolution(s, "I'll refund it; expect it in 3 business days."));
  EXPECT_FALSE(MeetsResolution(s, "I'll refund it soon."));
  EXPECT_FALSE(MeetsResolution(s, "I can't send a replacement."));
  EXPECT_TRUE(MeetsResolution(s, "I will send a replacement today."));
  EXPECT_THAT(ForbiddenPromises(s, "You'll get a full refund."), ElementsAre("full refund"));
  EXPECT_THAT(ForbiddenPromises(s, "We cannot give a full refund."), IsEmpty());
  EXPECT_THAT(MentionedFacts(s, "Order a 1042 and ANN@example.com"),
              ElementsAre("account_email", "order_number"));
  s.resolution.clear();
  EXPECT_TRUE(MeetsResolution(s, "Your issue has been resolved."));
}

// A user model that answers with canned texts and records its prompts.
class CannedUserModel : public LlmUserSimulator {
 public:
  std::vector<std::string> replies;
  std::vector<UserModelPrompt> prompts;

 protected:
  common::StatusOr<std::vector<std::string>> GenerateUserTexts(
      const std::vector<UserModelPrompt>& batch) override {
    prompts = batch;
    return replies;
  }
};

TEST(LlmUserSimulator, PromptSeesTheConversationFromTheUsersSide) {
  const Scenario s = LateOrder();
  const std::vector<Message> conversation = {{Role::kSystem, "You are an agent.", 0},
                                             {Role::kUser, "Where is my order A-1042?", 0},
                                             {Role::kAssistant, "Order number please?", 0},
                                             {Role::kUser, "A-1042.", 0},
                                             {Role::kAssistant, "Thanks, checking.", 0}};
  const UserModelPrompt prompt = BuildUserModelPrompt(s, conversation);
  ASSERT_EQ(prompt.messages.size(), 4u);
  EXPECT_EQ(prompt.messages[0].role, Role::kSystem);
  EXPECT_THAT(prompt.messages[0].content, HasSubstr("a customer service agent"));
  EXPECT_THAT(prompt.messages[0].content, HasSubstr("Who you are: Impatient but polite."));
  EXPECT_THAT(prompt.messages[0].content, HasSubstr("- order_number: A-1042"));
  EXPECT_THAT(prompt.messages[0].content, HasSubstr("[END]"));
  EXPECT_THAT(prompt.messages[0].content, HasSubstr("Where is my order A-1042?"));
  EXPECT_EQ(prompt.messages[1].role, Role::kUser);
  EXPECT_EQ(prompt.messages[1].content, "Order number please?");
  EXPECT_EQ(prompt.messages[2].role, Role::kAssistant);
  EXPECT_EQ(prompt.messages[3].content, "Thanks, checking.");
}

TEST(LlmUserSimulator, ParsesTheEndMarkerAndChecksTheCount) {
  EXPECT_EQ(ParseUserModelReply("  Great, thanks! [END] ").text, "Great, thanks!");
  EXPECT_TRUE(ParseUserModelReply("Great, thanks! [END]").ends);
  EXPECT_FALSE(ParseUserModelReply("Still waiting.").ends);
  EXPECT_TRUE(ParseUserModelReply("   ").ends);

  const Scenario s = LateOrder();
  std::vector<Message> messages = {{Role::kUser, "Hi", 0}, {Role::kAssistant, "Order?", 0}};
  UserState state;
  CannedUserModel model;
  model.replies = {"It's A-1042."};
  auto turns = model.NextTurns({{&s, &messages, &state, 1, 1}});
  ASSERT_TRUE(turns.ok()) << turns.status();
  EXPECT_EQ((*turns)[0].text, "It's A-1042.");
  EXPECT_THAT(state.facts_given, ElementsAre("order_number"));
  ASSERT_EQ(model.prompts.size(), 1u);

  model.replies = {};
  EXPECT_EQ(model.NextTurns({{&s, &messages, &state, 1, 1}}).status().message(),
            "user model returned 0 replies for 1 prompts");
}

TEST(LlmUserSimulator, PromptSeedsFollowTheEpisodeSeedAndTurn) {
  const Scenario s = LateOrder();
  std::vector<Message> messages = {{Role::kUser, "Hi", 0}, {Role::kAssistant, "Order?", 0}};
  UserState a, b, c, d;
  CannedUserModel model;
  model.replies = {"x", "y", "z", "w"};
  ASSERT_TRUE(model.NextTurns({{&s, &messages, &a, 11, 1},
                               {&s, &messages, &b, 11, 1},
                               {&s, &messages, &c, 12, 1},
                               {&s, &messages, &d, 11, 2}})
                  .ok());
  ASSERT_EQ(model.prompts.size(), 4u);
  EXPECT_EQ(model.prompts[0].seed, model.prompts[1].seed);
  EXPECT_NE(model.prompts[0].seed, model.prompts[2].seed);
  EXPECT_NE(model.prompts[0].seed, model.prompts[3].seed);
  EXPECT_NE(model.prompts[2].seed, model.prompts[3].seed);
}

}  // namespace
}  // namespace gspo::env
