// ConversationEnvironment: how episodes start, advance and end; reproducibility for a seed;
// mixtures drawn by their weights; all-or-nothing steps; option checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "worker/env/conversation_environment.h"

namespace gspo::env {
namespace {

using ::testing::HasSubstr;

Scenario Make(const std::string& id, const std::string& task) {
  Scenario s;
  s.id = id;
  s.task = task;
  s.opening_message = "Hello from " + id + ", order {order_number}.";
  s.facts = {{"order_number", "A-" + id}};
  s.resolution = {"send a replacement"};
  s.user_replies = {"Any news?", "Still waiting."};
  s.reply_rules = {{{"goodbye"}, "Bye then.", true}};
  s.origin = "test:" + id;
  return s;
}

std::unique_ptr<ConversationEnvironment> MakeEnv(EnvironmentOptions options) {
  auto env = ConversationEnvironment::Create(std::move(options));
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

EnvironmentOptions Options(std::vector<Scenario> scenarios, std::uint64_t seed = 42) {
  EnvironmentOptions o;
  o.scenarios = std::move(scenarios);
  o.system_prompt = "Be helpful.";
  o.max_turns = 3;
  o.seed = seed;
  return o;
}

std::string Transcript(const Episode& e) {
  std::string out;
  for (const Message& m : e.messages())
    out += std::string(RoleName(m.role)) + ": " + m.content + "\n";
  return out + "end: " + std::string(EndReasonName(e.end_reason()));
}

TEST(Environment, StartsWithTheSystemPromptAndTheOpeningMessage) {
  auto env = MakeEnv(Options({Make("1", "customer_service")}));
  const Episode e = env->StartEpisode(env->scenarios()[0], 5);
  ASSERT_EQ(e.messages().size(), 2u);
  EXPECT_EQ(e.messages()[0].role, Role::kSystem);
  EXPECT_EQ(e.messages()[0].content, "Be helpful.");
  EXPECT_EQ(e.messages()[1].role, Role::kUser);
  EXPECT_EQ(e.messages()[1].content, "Hello from 1, order A-1.");
  EXPECT_FALSE(e.done());
  EXPECT_EQ(e.max_turns(), 3);

  Scenario own = Make("2", "sales");
  own.system_prompt = "Sell honestly.";
  own.max_turns = 5;
  auto env2 = MakeEnv(Options({own}));
  const Episode e2 = env2->StartEpisode(0, 0);
  EXPECT_EQ(e2.messages()[0].content, "Sell honestly.");
  EXPECT_EQ(e2.max_turns(), 5);
}

TEST(Environment, EndsOnResolutionWithoutAUserTurn) {
  auto env = MakeEnv(Options({Make("1", "customer_service")}));
  Episode e = env->StartEpisode(0, 0);
  auto r = env->Step(&e, "Sorry! I will send a replacement today.");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->done);
  EXPECT_EQ(r->end_reason, EndReason::kResolved);
  EXPECT_FALSE(r->user_turn.has_value());
  EXPECT_EQ(e.messages().back().role, Role::kAssistant);
  EXPECT_EQ(e.assistant_turns(), 1);
}

TEST(Environment, UserTurnsThenMaxTurns) {
  auto env = MakeEnv(Options({Make("1", "customer_service")}));
  Episode e = env->StartEpisode(0, 0);
  auto r1 = env->Step(&e, "Let me look.");
  ASSERT_TRUE(r1.ok());
  EXPECT_FALSE(r1->done);
  ASSERT_TRUE(r1->user_turn.has_value());
  EXPECT_EQ(r1->user_turn->content, "Any news?");
  auto r2 = env->Step(&e, "Could you tell me your order number?");
  EXPECT_THAT(r2->user_turn->content, HasSubstr("A-1"));
  auto r3 = env->Step(&e, "Checking.");
  EXPECT_TRUE(r3->done);
  EXPECT_EQ(r3->end_reason, EndReason::kMaxTurns);
  EXPECT_EQ(e.messages().size(), 2u + 5u);  // system, opening, 3 assistant, 2 user

  auto again = env->Step(&e, "Hello?");
  EXPECT_EQ(again.status().code(), common::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            "episode of scenario '1' has ended (max_turns); it takes no more turns");
}

TEST(Environment, TheUserEndsByRuleOrWhenOutOfThingsToSay) {
  auto env = MakeEnv(Options({Make("1", "customer_service")}));
  Episode e = env->StartEpisode(0, 0);
  auto r = env->Step(&e, "OK, goodbye.");
  EXPECT_TRUE(r->done);
  EXPECT_EQ(r->end_reason, EndReason::kUserEnded);
  EXPECT_EQ(r->user_turn->content, "Bye then.");
  EXPECT_EQ(e.messages().back().content, "Bye then.");

  Scenario quiet = Make("2", "sales");
  quiet.user_replies.clear();
  quiet.max_turns = 10;
  auto env2 = MakeEnv(Options({quiet}));
  Episode q = env2->StartEpisode(0, 0);
  auto end = env2->Step(&q, "Hmm.");
  EXPECT_TRUE(end->done);
  EXPECT_EQ(end->end_reason, EndReason::kUserEnded);
  EXPECT_FALSE(end->user_turn.has_value());
}

TEST(Environment, BranchesAreIndependentCopies) {
  auto env = MakeEnv(Options({Make("1", "customer_service")}));
  const Episode start = env->StartEpisode(0, 0);
  Episode a = start, b = start;
  auto results = env->StepBatch({&a, &b}, {"I will send a replacement.", "Let me look."});
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE(a.done());
  EXPECT_FALSE(b.done());
  EXPECT_EQ(b.messages().back().content, "Any news?");
  EXPECT_EQ(start.messages().size(), 2u);
}

// A user simulator that always fails.
class BrokenUser : public UserSimulator {
 public:
  std::string_view name() const override { return "broken"; }
  common::StatusOr<std::vector<UserTurn>> NextTurns(const std::vector<UserContext>&) override {
    return common::UnavailableError("user model is down");
  }
};

TEST(Environment, AFailedStepChangesNoEpisode) {
  auto env = ConversationEnvironment::Create(Options({Make("1", "customer_service")}),
                                             std::make_unique<BrokenUser>());
  ASSERT_TRUE(env.ok());
  Episode a = (*env)->StartEpisode(0, 0), b = a;
  auto r = (*env)->StepBatch({&a, &b}, {"I will send a replacement.", "Let me look."});
  EXPECT_EQ(r.status().message(), "user model is down");
  EXPECT_EQ(a.messages().size(), 2u);
  EXPECT_FALSE(a.done());
  EXPECT_EQ(b.messages().size(), 2u);
  EXPECT_EQ((*env)->StepBatch({&a}, {"x", "y"}).status().message(),
            "StepBatch: 1 episodes but 2 assistant turns");
}

// A scripted agent: asks for the order number, then stalls, then resolves on turn 3.
std::string Play(const ConversationEnvironment& env, std::uint64_t step, std::uint64_t index) {
  Episode e = env.StartEpisode(step, index);
  const char* agent[] = {"Could you give me your order number?", "Thanks, one moment.",
                         "I will send a replacement."};
  for (const char* text : agent) {
    if (e.done()) break;
    EXPECT_TRUE(env.Step(&e, text).ok());
  }
  return e.scenario().id + "\n" + Transcript(e);
}

TEST(Environment, EpisodesAreReproducibleForASeed) {
  std::vector<Scenario> pool;
  for (int i = 0; i < 12; ++i) pool.push_back(Make(std::to_string(i), "customer_service"));
  auto a = MakeEnv(Options(pool, 7));
  auto b = MakeEnv(Options(pool, 7));
  auto c = MakeEnv(Options(pool, 8));
  int differ = 0;
  for (std::uint64_t step = 0; step < 3; ++step) {
    for (std::uint64_t i = 0; i < 8; ++i) {
      EXPECT_EQ(Play(*a, step, i), Play(*b, step, i));
      EXPECT_EQ(a->EpisodeSeed(step, i), b->EpisodeSeed(step, i));
      differ += a->SampleScenario(step, i).id != c->SampleScenario(step, i).id ? 1 : 0;
    }
  }
  EXPECT_GT(differ, 10);  // another seed draws other scenarios (24 draws over 12 scenarios)
  // Order does not matter: prompt 5 of step 2 is the same whatever was drawn before.
  EXPECT_EQ(a->SampleScenario(2, 5).id, b->SampleScenario(2, 5).id);
}

// Each count within 4 standard deviations of n p.
void ExpectFrequencies(const std::map<std::string, int>& counts,
                       const std::map<std::string, double>& probabilities, int n) {
  for (const auto& [key, p] : probabilities) {
    const double expected = n * p;
    const double sigma = std::sqrt(n * p * (1 - p));
    const int got = counts.count(key) ? counts.at(key) : 0;
    EXPECT_NEAR(got, expected, 4 * sigma) << key;
  }
}

TEST(Environment, MixturesFollowTheirWeights) {
  EnvironmentOptions o =
      Options({Make("cs1", "customer_service"), Make("cs2", "customer_service"),
               Make("ts1", "technical_support"), Make("ts2", "technical_support"),
               Make("ts3", "technical_support"), Make("s1", "sales")});
  o.task_weights = {{"customer_service", 0.4}, {"technical_support", 0.3}, {"sales", 0.3}};
  auto env = MakeEnv(o);
  constexpr int kDraws = 10000;
  std::map<std::string, int> tasks, ids;
  for (int i = 0; i < kDraws; ++i) {
    const Scenario& s = env->SampleScenario(static_cast<std::uint64_t>(i / 8), i % 8);
    ++tasks[s.task];
    ++ids[s.id];
  }
  ExpectFrequencies(tasks, {{"customer_service", 0.4}, {"technical_support", 0.3}, {"sales", 0.3}},
                    kDraws);
  ExpectFrequencies(
      ids, {{"cs1", 0.2}, {"cs2", 0.2}, {"ts1", 0.1}, {"ts2", 0.1}, {"ts3", 0.1}, {"s1", 0.3}},
      kDraws);
}

TEST(Environment, WithoutWeightsEveryScenarioIsEquallyLikely) {
  std::vector<Scenario> pool;
  std::map<std::string, double> p;
  for (int i = 0; i < 5; ++i) {
    pool.push_back(Make("s" + std::to_string(i), i < 4 ? "sales" : "customer_service"));
    p["s" + std::to_string(i)] = 0.2;
  }
  auto env = MakeEnv(Options(pool));
  std::map<std::string, int> ids;
  for (int i = 0; i < 10000; ++i) ++ids[env->SampleScenario(1, static_cast<std::uint64_t>(i)).id];
  ExpectFrequencies(ids, p, 10000);
}

TEST(Environment, OptionsAreChecked) {
  const auto error = [](EnvironmentOptions o) {
    auto env = ConversationEnvironment::Create(std::move(o));
    return env.ok() ? std::string("OK") : env.status().message();
  };
  EXPECT_EQ(error(Options({})), "environment.scenarios: no scenarios to train on");
  EXPECT_EQ(error(Options({Make("1", "sales"), Make("1", "sales")})),
            "test:1: scenario.id: '1' is already the id of the scenario at test:1");
  EnvironmentOptions weights = Options({Make("1", "sales")});
  weights.task_weights = {{"sales", 1}, {"customer_service", 0}};
  EXPECT_EQ(error(weights),
            "environment.mixture.customer_service: expected a weight > 0, got 0\n"
            "environment.mixture.customer_service: no scenario has task customer_service");
  EnvironmentOptions unweighted = Options({Make("1", "sales"), Make("2", "custom")});
  unweighted.task_weights = {{"sales", 1}};
  EXPECT_EQ(error(unweighted),
            "test:2: scenario.task: scenario '2' has task custom, which has no weight in "
            "environment.mixture, so it would never be picked");
  EnvironmentOptions turns = Options({Make("1", "sales")});
  turns.max_turns = 0;
  EXPECT_EQ(error(turns), "environment.max_turns: expected an integer between 1 and 64, got 0");
  Scenario bad = Make("1", "sales");
  bad.opening_message = "";
  EXPECT_EQ(error(Options({bad})),
            "test:1: scenario.opening_message: required: the user's first message");
}

}  // namespace
}  // namespace gspo::env
