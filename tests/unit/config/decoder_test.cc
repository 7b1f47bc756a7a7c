// job.yaml -> JobSpec: unknown keys, wrong types and duplicates, with exact messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/config/config_test_util.h"

namespace gspo::config {
namespace {

using test::ErrorOf;
using test::kMinimal;
using test::Resolve;

TEST(SpecDecoder, UnknownTopLevelKeySuggestsTheClosest) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "gpso:\n  beta: 0.1\n"),
            "job.yaml:5:1: gpso: unknown key; did you mean 'gspo'?");
}

TEST(SpecDecoder, UnknownNestedKeySuggestsTheClosest) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "lora:\n  lora_rank: 8\n"),
            "job.yaml:6:3: lora.lora_rank: unknown key; did you mean 'lora_r'?");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "generation:\n  temprature: 0.5\n"),
            "job.yaml:6:3: generation.temprature: unknown key; did you mean 'temperature'?");
}

TEST(SpecDecoder, UnknownKeyFarFromAnyListsTheValidOnes) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "lora:\n  xyz: 1\n"),
            "job.yaml:6:3: lora.xyz: unknown key; expected one of: use_lora, lora_r, lora_alpha, "
            "lora_dropout, lora_target_modules, use_rslora");
}

TEST(SpecDecoder, ApiVersionIsSpelledAsInKubernetes) {
  EXPECT_EQ(ErrorOf("api_version: gspo/v1\nmodel:\n  name_or_path: google/gemma-2-2b-it\n"),
            "job.yaml:1:1: api_version: unknown key; did you mean 'apiVersion'?");
}

TEST(SpecDecoder, WordForIntegerIsATypeError) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "gspo:\n  num_generations: six\n"),
            "job.yaml:6:20: gspo.num_generations: expected an integer, got 'six'");
}

TEST(SpecDecoder, FractionForIntegerIsATypeError) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "gspo:\n  num_generations: 4.5\n"),
            "job.yaml:6:20: gspo.num_generations: expected an integer, got '4.5'");
}

TEST(SpecDecoder, QuotedNumberIsAString) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "lora:\n  lora_r: \"64\"\n"),
            "job.yaml:6:11: lora.lora_r: expected an integer, got the quoted string '64'");
}

TEST(SpecDecoder, IntegerOutOfInt32Range) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "lora:\n  lora_r: 99999999999\n"),
            "job.yaml:6:11: lora.lora_r: integer '99999999999' is out of range");
}

TEST(SpecDecoder, NonFiniteNumbersAreRejected) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "training:\n  learning_rate: .nan\n"),
            "job.yaml:6:18: training.learning_rate: expected a number, got '.nan'");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "training:\n  learning_rate: inf\n"),
            "job.yaml:6:18: training.learning_rate: expected a number, got 'inf'");
}

TEST(SpecDecoder, YesIsNotABoolean) {
  EXPECT_EQ(ErrorOf("apiVersion: gspo/v1\nmodel:\n  name_or_path: x/gemma-2-2b\n  use_4bit: yes\n"),
            "job.yaml:4:13: model.use_4bit: expected true or false, got 'yes'");
}

TEST(SpecDecoder, ListWhereANumberBelongs) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "training:\n  learning_rate: [1, 2]\n"),
            "job.yaml:6:18: training.learning_rate: expected a number, got a list");
}

TEST(SpecDecoder, ScalarWhereAListBelongs) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "lora:\n  lora_target_modules: q_proj\n"),
            "job.yaml:6:24: lora.lora_target_modules: expected a list of strings, got 'q_proj'");
}

TEST(SpecDecoder, MappingInsideAListOfStrings) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "lora:\n  lora_target_modules: [q_proj, {a: 1}]\n"),
            "job.yaml:6:33: lora.lora_target_modules[1]: expected a string, got a mapping");
}

TEST(SpecDecoder, ScalarWhereASectionBelongs) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "gspo: 5\n"),
            "job.yaml:5:7: gspo: expected a mapping, got '5'");
}

TEST(SpecDecoder, TopLevelMustBeAMapping) {
  EXPECT_EQ(ErrorOf("- a\n- b\n"),
            "job.yaml:1:1: expected a mapping of job fields at the top level, got a list");
  EXPECT_EQ(ErrorOf("hello\n"),
            "job.yaml:1:1: expected a mapping of job fields at the top level, got 'hello'");
}

TEST(SpecDecoder, DuplicateKeysAreErrors) {
  EXPECT_EQ(
      ErrorOf("apiVersion: gspo/v1\nname: a\nname: b\nmodel:\n  name_or_path: x/gemma-2-2b\n"),
      "job.yaml:3:1: name: duplicate key (first set on line 2)");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "environment:\n  task: mixture\n  mixture:\n"
                                            "    sales: 0.5\n    sales: 0.5\n"),
            "job.yaml:9:5: environment.mixture.sales: duplicate key (first set on line 8)");
}

TEST(SpecDecoder, NullLeavesTheFieldToPresets) {
  auto job = Resolve(std::string(kMinimal) + "lora:\n  lora_r: null\n  lora_alpha:\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.lora().lora_r(), 16);
  EXPECT_EQ(job->spec.lora().lora_alpha(), 32);
}

TEST(SpecDecoder, EveryErrorIsReportedInOnePass) {
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "gpso: {}\nlora:\n  lora_r: x\n  dropout: 0\n"),
            "job.yaml:5:1: gpso: unknown key; did you mean 'gspo'?\n"
            "job.yaml:7:11: lora.lora_r: expected an integer, got 'x'\n"
            "job.yaml:8:3: lora.dropout: unknown key; did you mean 'lora_dropout'?");
}

TEST(SpecDecoder, ScenarioFileShorthand) {
  auto job =
      Resolve(std::string(kMinimal) +
              "environment:\n  scenarios:\n    - packs/extra.yaml\n"
              "    - {id: s1, opening_message: \"My order is late\", facts: {order: A-1}}\n");
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->spec.environment().scenarios_size(), 2);
  EXPECT_EQ(job->spec.environment().scenarios(0).file(), "packs/extra.yaml");
  EXPECT_EQ(job->spec.environment().scenarios(1).id(), "s1");
  EXPECT_EQ(job->spec.environment().scenarios(1).facts().at("order"), "A-1");
}

TEST(SpecDecoder, UnknownKeyInsideAListElement) {
  EXPECT_EQ(
      ErrorOf(std::string(kMinimal) + "reward:\n  components:\n    - {name: empathy, wieght: 1}\n"),
      "job.yaml:7:23: reward.components[0].wieght: unknown key; did you mean 'weight'?");
}

}  // namespace
}  // namespace gspo::config
