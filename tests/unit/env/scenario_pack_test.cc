// Scenario packs: decoding, defaults, and the exact error for each kind of mistake (position,
// field path, what was expected, what was found).
#include "worker/env/scenario_pack.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::env {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kPack[] = R"(task: customer_service
max_turns: 3
scenarios:
  - id: late-order
    opening_message: "Where is order {order_number}?"
    persona: Impatient.
    facts: {order_number: "A-1042", carrier: DHL}
    resolution: ["send a replacement", "refund & 5 business days"]
    forbidden: [full refund]
    reference: "I'll send a replacement today."
    user_replies: ["It's been two weeks."]
    reply_rules:
      - when_agent_says: [tracking]
        reply: "Tracking for {order_number} hasn't moved."
        end: true
  - id: other
    task: sales
    opening_message: Hi
    max_turns: 6
)";

std::string ErrorOf(const std::string& text) {
  auto pack = ParseScenarioPack("pack.yaml", text);
  return pack.ok() ? "OK" : pack.status().message();
}

// A pack with one scenario whose lines after "- id: s1" are `body` (indented 4 spaces).
std::string One(const std::string& body) {
  return "task: customer_service\nscenarios:\n  - id: s1\n    opening_message: Hi\n" + body;
}

TEST(ScenarioPack, DecodesEveryField) {
  auto pack = ParseScenarioPack("pack.yaml", kPack);
  ASSERT_TRUE(pack.ok()) << pack.status();
  ASSERT_EQ(pack->size(), 2u);
  const Scenario& s = (*pack)[0];
  EXPECT_EQ(s.id, "late-order");
  EXPECT_EQ(s.task, "customer_service");  // from the pack
  EXPECT_EQ(s.opening_message, "Where is order {order_number}?");
  EXPECT_EQ(s.persona, "Impatient.");
  EXPECT_THAT(s.facts, ElementsAre(Pair("carrier", "DHL"), Pair("order_number", "A-1042")));
  EXPECT_THAT(s.resolution, ElementsAre("send a replacement", "refund & 5 business days"));
  EXPECT_THAT(s.forbidden, ElementsAre("full refund"));
  EXPECT_EQ(s.reference, "I'll send a replacement today.");
  EXPECT_THAT(s.user_replies, ElementsAre("It's been two weeks."));
  ASSERT_EQ(s.reply_rules.size(), 1u);
  EXPECT_THAT(s.reply_rules[0].when_agent_says, ElementsAre("tracking"));
  EXPECT_EQ(s.reply_rules[0].reply, "Tracking for {order_number} hasn't moved.");
  EXPECT_TRUE(s.reply_rules[0].end);
  EXPECT_EQ(s.max_turns, 3);  // from the pack
  EXPECT_EQ(s.origin, "pack.yaml:4:5");
  EXPECT_EQ((*pack)[1].task, "sales");
  EXPECT_EQ((*pack)[1].max_turns, 6);
}

TEST(ScenarioPack, TaskFallsBackToTheJobsTask) {
  auto pack = ParseScenarioPack("p.yaml", "scenarios:\n  - {id: a, opening_message: Hi}\n",
                                "technical_support");
  ASSERT_TRUE(pack.ok()) << pack.status();
  EXPECT_EQ((*pack)[0].task, "technical_support");
  EXPECT_EQ(ErrorOf("scenarios:\n  - {id: a, opening_message: Hi}\n"),
            "pack.yaml:2:5: scenarios[0].task: required: one of customer_service, "
            "technical_support, sales, custom");
}

TEST(ScenarioPack, WrongTypesNameTheFieldAndWhatWasFound) {
  EXPECT_EQ(ErrorOf(One("    facts: [a, b]\n")),
            "pack.yaml:5:12: scenarios[0].facts: expected a mapping of strings, got a list");
  EXPECT_EQ(ErrorOf(One("    facts: {order_number: [1, 2]}\n")),
            "pack.yaml:5:27: scenarios[0].facts.order_number: expected a string, got a list");
  EXPECT_EQ(ErrorOf(One("    resolution: refund\n")),
            "pack.yaml:5:17: scenarios[0].resolution: expected a list of strings, got 'refund'");
  EXPECT_EQ(ErrorOf(One("    forbidden: [ok, {a: b}]\n")),
            "pack.yaml:5:21: scenarios[0].forbidden[1]: expected a string, got a mapping");
  EXPECT_EQ(ErrorOf(One("    persona: [a]\n")),
            "pack.yaml:5:14: scenarios[0].persona: expected a string, got a list");
  EXPECT_EQ(ErrorOf(One("    max_turns: three\n")),
            "pack.yaml:5:16: scenarios[0].max_turns: expected an integer, got 'three'");
  EXPECT_EQ(ErrorOf(One("    max_turns: \"3\"\n")),
            "pack.yaml:5:16: scenarios[0].max_turns: expected an integer, got the quoted string "
            "'3'");
  EXPECT_EQ(ErrorOf(One("    reply_rules: [{when_agent_says: [x], reply: y, end: yes}]\n")),
            "pack.yaml:5:57: scenarios[0].reply_rules[0].end: expected true or false, got 'yes'");
  EXPECT_EQ(ErrorOf(One("    reply_rules: {when_agent_says: x}\n")),
            "pack.yaml:5:18: scenarios[0].reply_rules: expected a list of reply rules, got a "
            "mapping");
  EXPECT_EQ(ErrorOf("task: sales\nscenarios:\n  - just text\n"),
            "pack.yaml:3:5: scenarios[0]: expected a mapping, got 'just text'");
  EXPECT_EQ(ErrorOf("- id: a\n"),
            "pack.yaml:1:1: expected a mapping with a 'scenarios' list at the top level, got a "
            "list");
}

TEST(ScenarioPack, UnknownKeysSuggestTheClosest) {
  EXPECT_EQ(ErrorOf(One("    persone: x\n")),
            "pack.yaml:5:5: scenarios[0].persone: unknown key; did you mean 'persona'?");
  EXPECT_EQ(ErrorOf(One("    reply_rules: [{when_agent_say: [x], reply: y}]\n")),
            "pack.yaml:5:20: scenarios[0].reply_rules[0].when_agent_say: unknown key; did you "
            "mean 'when_agent_says'?");
  EXPECT_EQ(ErrorOf("tsk: sales\nscenarios:\n  - {id: a, opening_message: Hi}\n"),
            "pack.yaml:1:1: tsk: unknown key; did you mean 'task'?");
  EXPECT_EQ(ErrorOf(One("    file: other.yaml\n")),
            "pack.yaml:5:5: scenarios[0].file: a scenario pack cannot include other files; list "
            "each pack in environment.scenarios");
  EXPECT_EQ(ErrorOf(One("    persona: a\n    persona: b\n")),
            "pack.yaml:6:5: scenarios[0].persona: duplicate key (first set on line 5)");
}

TEST(ScenarioPack, TypeErrorsAreAllReportedAtOnce) {
  EXPECT_EQ(ErrorOf(One("    facts: [a]\n    resolution: x\n")),
            "pack.yaml:5:12: scenarios[0].facts: expected a mapping of strings, got a list\n"
            "pack.yaml:6:17: scenarios[0].resolution: expected a list of strings, got 'x'");
}

TEST(ScenarioPack, ValueErrors) {
  EXPECT_EQ(ErrorOf("task: sales\nscenarios:\n  - {id: a}\n"),
            "pack.yaml:3:5: scenarios[0].opening_message: required: the user's first message");
  EXPECT_EQ(ErrorOf("task: sale\nscenarios:\n  - {id: a, opening_message: Hi}\n"),
            "pack.yaml:1:7: task: expected one of customer_service, technical_support, sales, "
            "custom; got 'sale' (did you mean 'sales'?)");
  EXPECT_EQ(ErrorOf(One("    max_turns: 0\n")),
            "pack.yaml:5:16: scenarios[0].max_turns: expected an integer between 1 and 64, got 0");
  EXPECT_EQ(ErrorOf("task: sales\nscenarios:\n  - {id: late order, opening_message: Hi}\n"),
            "pack.yaml:3:10: scenarios[0].id: expected 1 to 128 letters, digits, '-', '_' or '.', "
            "got 'late order'");
  EXPECT_EQ(ErrorOf(One("    facts: {Order Number: A-1}\n")),
            "pack.yaml:5:13: scenarios[0].facts.Order Number: expected a fact name of lower-case "
            "letters, digits and '_' (order_number), got 'Order Number'");
  EXPECT_EQ(
      ErrorOf(One("    facts: {order_number: A-1}\n    user_replies: [\"It's {order_id}\"]\n")),
      "pack.yaml:6:20: scenarios[0].user_replies[0]: '{order_id}' names no fact; the facts "
      "are order_number");
  EXPECT_EQ(ErrorOf(One("    facts: {order_number: A-1}\n"
                        "    reply_rules: [{when_agent_says: [x], reply: \"{order_numbr}\"}]\n")),
            "pack.yaml:6:49: scenarios[0].reply_rules[0].reply: '{order_numbr}' names no fact; "
            "the facts are order_number (did you mean 'order_number'?)");
  EXPECT_EQ(
      ErrorOf(One("    resolution: [\"issue a full refund\"]\n    forbidden: [full refund]\n")),
      "pack.yaml:5:18: scenarios[0].resolution[0]: contains the forbidden phrase 'full "
      "refund' (forbidden[0]): the case could not be resolved without breaking the rule");
  EXPECT_EQ(ErrorOf(One("    resolution: [\"...\"]\n")),
            "pack.yaml:5:18: scenarios[0].resolution[0]: expected a phrase with at least one "
            "word, got '...'");
  EXPECT_EQ(ErrorOf(One("    reply_rules: [{reply: y}]\n")),
            "pack.yaml:5:19: scenarios[0].reply_rules[0].when_agent_says: required: the phrases "
            "of the agent that trigger this reply, e.g. [\"order number\"]");
}

TEST(ScenarioPack, DuplicateIdsNameTheFirstOne) {
  EXPECT_EQ(ErrorOf("task: sales\nscenarios:\n  - {id: a, opening_message: Hi}\n"
                    "  - {id: a, opening_message: Hello}\n"),
            "pack.yaml:4:10: scenarios[1].id: 'a' is already the id of scenarios[0] "
            "(pack.yaml:3:5)");
}

TEST(ScenarioPack, MissingAndEmptyScenarioLists) {
  EXPECT_EQ(ErrorOf("task: sales\n"), "pack.yaml: scenarios: required: a list of scenarios");
  EXPECT_EQ(ErrorOf("task: sales\nscenarios: []\n"),
            "pack.yaml:2:12: scenarios: expected at least one scenario, got []");
}

TEST(ScenarioPack, TheYamlTextIsCheckedFirst) {
  EXPECT_EQ(ErrorOf("task: sales\nscenarios:\n\t- {id: a}\n"),
            "pack.yaml:3:1: tab character in indentation; YAML indents with spaces");
  EXPECT_EQ(ErrorOf("# only a comment\n\n"),
            "pack.yaml: empty document; expected a mapping with a 'scenarios' list");
  EXPECT_THAT(ErrorOf("task: [a\n"), ::testing::StartsWith("pack.yaml"));
}

TEST(ScenarioPack, LoadsFromAFile) {
  testing::ScopedTempDir dir;
  const std::string path = dir.Join("pack.yaml");
  ASSERT_TRUE(common::WriteFileAtomically(path, kPack).ok());
  auto pack = LoadScenarioPack(path);
  ASSERT_TRUE(pack.ok()) << pack.status();
  EXPECT_EQ((*pack)[1].origin, path + ":16:5");
  auto missing = LoadScenarioPack(dir.Join("none.yaml"));
  EXPECT_EQ(missing.status().code(), common::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gspo::env
