// A job's environment: the built-in pack of its task, a mixture's packs and weights, the
// scenarios of job.yaml (files relative to the job, inline ones), and their errors.
#include "worker/env/job_environment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/job_config.h"
#include "common/files.h"
#include "gspo/v1/job.pb.h"
#include "tests/fakes/temp_dir.h"
#include "worker/env/scenario_pack.h"

namespace gspo::env {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kJob[] =
    "apiVersion: gspo/v1\nname: t\nmodel:\n  name_or_path: google/gemma-2-2b-it\n";

common::StatusOr<v1::JobSpec> Resolve(const std::string& yaml) {
  config::JobSource source;
  source.file = "job.yaml";
  source.text = yaml;
  auto job = config::ResolveJob(source);
  if (!job.ok()) return job.status();
  return job->spec;
}

std::size_t PackSize(const std::string& task) {
  return LoadScenarioPack(common::JoinPath(DefaultScenarioDir(), task + ".yaml"))->size();
}

TEST(JobEnvironment, ASingleTaskUsesItsBuiltInPack) {
  auto spec = Resolve(std::string(kJob) + "environment:\n  task: sales\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto options = EnvironmentOptionsForJob(*spec, {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->scenarios.size(), PackSize("sales"));
  EXPECT_TRUE(options->task_weights.empty());
  EXPECT_EQ(options->max_turns, 5);
  EXPECT_EQ(options->seed, 42u);
  EXPECT_THAT(options->system_prompt, ::testing::StartsWith("You are a knowledgeable sales"));
  EXPECT_TRUE(ConversationEnvironment::Create(*options).ok());
}

TEST(JobEnvironment, AMixtureDrawsEachTasksPackByWeight) {
  auto spec = Resolve(std::string(kJob) +
                      "environment:\n  mixture: {customer_service: 0.4, technical_support: 0.3, "
                      "sales: 0.3}\ntraining:\n  seed: 9\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto options = EnvironmentOptionsForJob(*spec, {});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->scenarios.size(),
            PackSize("customer_service") + PackSize("technical_support") + PackSize("sales"));
  EXPECT_THAT(options->task_weights, ElementsAre(Pair("customer_service", 0.4), Pair("sales", 0.3),
                                                 Pair("technical_support", 0.3)));
  EXPECT_EQ(options->seed, 9u);
  EXPECT_TRUE(ConversationEnvironment::Create(*options).ok());
}

TEST(JobEnvironment, CustomJobsTakeFilesAndInlineScenarios) {
  testing::ScopedTempDir dir;
  ASSERT_TRUE(common::MakeDirectories(dir.Join("packs")).ok());
  ASSERT_TRUE(common::WriteFileAtomically(
                  dir.Join("packs/returns.yaml"),
                  "scenarios:\n  - {id: r1, opening_message: I want to return a lamp.}\n")
                  .ok());
  auto spec = Resolve(std::string(kJob) + R"(environment:
  task: custom
  scenarios:
    - packs/returns.yaml
    - id: late-order
      opening_message: "Where is {order_number}?"
      facts: {order_number: A-1}
      forbidden: [full refund]
      reference: "I'll send a replacement."
      resolution: [send a replacement]
      reply_rules:
        - {when_agent_says: [tracking], reply: "Stuck.", end: true}
reward:
  components: [{name: empathy, weight: 1}]
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto options = EnvironmentOptionsForJob(*spec, {"", dir.path()});
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_EQ(options->scenarios.size(), 2u);
  EXPECT_EQ(options->scenarios[0].id, "r1");
  EXPECT_EQ(options->scenarios[0].task, "custom");
  EXPECT_EQ(options->scenarios[0].origin, dir.Join("packs/returns.yaml") + ":2:5");
  const Scenario& s = options->scenarios[1];
  EXPECT_EQ(s.task, "custom");
  EXPECT_EQ(s.origin, "job: environment.scenarios[1]");
  EXPECT_THAT(s.forbidden, ElementsAre("full refund"));
  EXPECT_EQ(s.reference, "I'll send a replacement.");
  ASSERT_EQ(s.reply_rules.size(), 1u);
  EXPECT_THAT(s.reply_rules[0].when_agent_says, ElementsAre("tracking"));
  EXPECT_EQ(s.reply_rules[0].reply, "Stuck.");
  EXPECT_TRUE(s.reply_rules[0].end);
  EXPECT_EQ(s.max_turns, 0);
  EXPECT_TRUE(ConversationEnvironment::Create(*options).ok());
}

TEST(JobEnvironment, ErrorsNameTheFieldAndTheFile) {
  auto spec = Resolve(std::string(kJob) +
                      "environment:\n  task: custom\n  scenarios: [missing.yaml]\n"
                      "reward:\n  components: [{name: empathy, weight: 1}]\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto options = EnvironmentOptionsForJob(*spec, {"", "/nonexistent"});
  EXPECT_EQ(options.status().message(),
            "environment.scenarios[0].file: /nonexistent/missing.yaml: no such file");
  EXPECT_EQ(EnvironmentOptionsForJob(*spec, {"/no/builtin", "/nonexistent"}).status().code(),
            common::StatusCode::kNotFound);
}

TEST(JobEnvironment, TheJobSpecChecksInlineScenarios) {
  const std::string mixture =
      std::string(kJob) + "environment:\n  mixture: {sales: 1}\n  scenarios:\n";
  EXPECT_EQ(Resolve(mixture + "    - {id: a, opening_message: Hi}\n").status().message(),
            "job.yaml:8:7: environment.scenarios[0].task: required with task: mixture: the task "
            "whose share the scenario belongs to (customer_service, technical_support or sales)");
  EXPECT_EQ(
      Resolve(mixture + "    - {id: a, task: custom, opening_message: Hi}\n").status().message(),
      "job.yaml:8:21: environment.scenarios[0].task: 'custom' has no weight in "
      "environment.mixture, so the scenario would never be picked; expected one of sales");
  EXPECT_EQ(
      Resolve(mixture + "    - {id: a b, task: sales, opening_message: Hi}\n").status().message(),
      "job.yaml:8:12: environment.scenarios[0].id: expected 1 to 128 letters, digits, '-', "
      "'_' or '.', got 'a b'");
  EXPECT_EQ(Resolve(mixture + "    - id: a\n      task: sales\n      opening_message: Hi\n"
                              "      reply_rules: [{reply: x}, {when_agent_says: [y]}]\n")
                .status()
                .message(),
            "job.yaml:11:21: environment.scenarios[0].reply_rules[0].when_agent_says: required: "
            "the phrases of the agent that trigger this reply, e.g. [\"order number\"]\n"
            "job.yaml:11:33: environment.scenarios[0].reply_rules[1].reply: required: what the "
            "user answers");
}

}  // namespace
}  // namespace gspo::env
