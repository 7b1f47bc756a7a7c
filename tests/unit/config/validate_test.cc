// Ranges, accepted names and combinations: each error names where the value came from, the
// field path, what was expected and what was found.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/config/config_test_util.h"

namespace gspo::config {
namespace {

using test::ErrorOf;
using test::kMinimal;
using test::Resolve;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string With(const std::string& more) { return std::string(kMinimal) + more; }

TEST(Validate, NumGenerationsBelowTwo) {
  EXPECT_EQ(ErrorOf(With("gspo:\n  num_generations: 1\n")),
            "job.yaml:6:20: gspo.num_generations: expected an integer between 2 and 256, got 1");
}

TEST(Validate, TopPOutsideZeroOne) {
  EXPECT_EQ(ErrorOf(With("generation:\n  top_p: 1.5\n")),
            "job.yaml:6:10: generation.top_p: expected a number in (0, 1], got 1.5");
  EXPECT_EQ(ErrorOf(With("generation:\n  top_p: 0\n")),
            "job.yaml:6:10: generation.top_p: expected a number in (0, 1], got 0");
  EXPECT_EQ(ErrorOf(With("generation:\n  top_p: 1\n")), "OK");
}

TEST(Validate, FourBitWithEightBit) {
  EXPECT_EQ(ErrorOf("apiVersion: gspo/v1\nmodel:\n  name_or_path: x/gemma-2-2b\n"
                    "  use_4bit: true\n  use_8bit: true\n"),
            "job.yaml:5:13: model.use_8bit: cannot be combined with model.use_4bit; choose one "
            "quantization");
}

TEST(Validate, QuantizedModelNeedsLora) {
  EXPECT_EQ(
      ErrorOf(With("  use_4bit: true\nlora:\n  use_lora: false\noutput:\n  export: [merged]\n")),
      "job.yaml:7:13: lora.use_lora: a quantized base model (model.use_4bit) trains through "
      "LoRA adapters only; set lora.use_lora: true");
}

TEST(Validate, UnknownLoraTargetModuleSuggestsTheClosest) {
  EXPECT_EQ(ErrorOf(With("lora:\n  lora_target_modules: [q_proj, qproj]\n")),
            "job.yaml:6:33: lora.lora_target_modules[1]: expected one of q_proj, k_proj, v_proj, "
            "o_proj, gate_proj, up_proj, down_proj; got 'qproj' (did you mean 'q_proj'?)");
}

TEST(Validate, LoraTargetModuleListedTwice) {
  EXPECT_EQ(ErrorOf(With("lora:\n  lora_target_modules: [q_proj, q_proj]\n")),
            "job.yaml:6:33: lora.lora_target_modules[1]: 'q_proj' is listed twice");
}

TEST(Validate, EmptyLoraTargetModules) {
  EXPECT_EQ(ErrorOf(With("lora:\n  lora_target_modules: []\n")),
            "job.yaml:6:24: lora.lora_target_modules: expected at least one module, e.g. "
            "[q_proj, v_proj]");
}

TEST(Validate, LoraDropoutRangeAndWarning) {
  EXPECT_EQ(ErrorOf(With("lora:\n  lora_dropout: 1\n")),
            "job.yaml:6:17: lora.lora_dropout: expected a number in [0, 1), got 1");
  auto job = Resolve(With("lora:\n  lora_dropout: 0.05\n"));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_THAT(job->warnings, ElementsAre(HasSubstr("lora.lora_dropout: dropout makes the GSPO "
                                                   "importance ratio noisy")));
}

TEST(Validate, NegativeRewardWeight) {
  EXPECT_EQ(ErrorOf(With("reward:\n  components:\n    - {name: empathy, weight: 1}\n"
                         "    - {name: politeness, weight: -0.5}\n")),
            "job.yaml:8:34: reward.components[1].weight: expected a weight in [0, 1000], got -0.5");
}

TEST(Validate, UnknownRewardComponentSuggestsTheClosest) {
  EXPECT_EQ(ErrorOf(With("reward:\n  components:\n    - {name: empaty, weight: 1}\n")),
            "job.yaml:7:14: reward.components[0].name: expected one of empathy, "
            "action_orientation, professionalism, length_appropriateness, reference_similarity, "
            "task_resolution, politeness, format_penalty, safety_penalty; got 'empaty' (did you "
            "mean 'empathy'?)");
}

TEST(Validate, AllRewardWeightsZero) {
  EXPECT_EQ(ErrorOf(With("reward:\n  components:\n    - {name: empathy, weight: 0}\n")),
            "job.yaml:7:5: reward.components: expected at least one weight > 0");
}

TEST(Validate, UnknownTaskInMixture) {
  EXPECT_EQ(ErrorOf(With("environment:\n  task: mixture\n"
                         "  mixture: {customer_service: 0.5, billing: 0.5}\n")),
            "job.yaml:7:45: environment.mixture.billing: expected one of customer_service, "
            "technical_support, sales; got 'billing'");
}

TEST(Validate, MixtureWithASingleTask) {
  EXPECT_EQ(ErrorOf(With("environment:\n  task: sales\n  mixture: {sales: 1}\n")),
            "job.yaml:6:9: environment.task: expected 'mixture' when environment.mixture is set, "
            "got 'sales'");
}

TEST(Validate, MixtureWeightMustBePositive) {
  EXPECT_EQ(ErrorOf(With("environment:\n  mixture: {sales: 1, customer_service: 0}\n")),
            "job.yaml:6:41: environment.mixture.customer_service: expected a weight > 0, got 0");
}

TEST(Validate, UnknownTaskSuggestsTheClosest) {
  EXPECT_EQ(ErrorOf(With("environment:\n  task: customer_servce\n")),
            "job.yaml:6:9: environment.task: expected one of customer_service, technical_support, "
            "sales, custom, mixture; got 'customer_servce' (did you mean 'customer_service'?)");
}

TEST(Validate, CustomTaskNeedsScenariosAndARewardAndSaysWhoChose) {
  EXPECT_EQ(ErrorOf(With("environment:\n  task: custom\n")),
            "job.yaml: environment.scenarios: task: custom needs scenarios (files or inline)\n"
            "job.yaml (derived): reward.components: no reward: set reward.preset, "
            "reward.components or reward.remote");
}

TEST(Validate, InlineScenarioNeedsAnOpeningMessage) {
  EXPECT_EQ(ErrorOf(With("environment:\n  scenarios:\n    - {id: s1}\n")),
            "job.yaml:7:7: environment.scenarios[0].opening_message: required for an inline "
            "scenario: the user's first message");
}

TEST(Validate, ScenarioIsAFileOrInlineNotBoth) {
  EXPECT_EQ(ErrorOf(With("environment:\n  scenarios:\n    - {file: a.yaml, id: s1}\n")),
            "job.yaml:7:7: environment.scenarios[0]: a scenario entry is either {file: ...} or an "
            "inline scenario, not both");
}

TEST(Validate, JobNameMustBeADnsLabel) {
  EXPECT_EQ(ErrorOf("apiVersion: gspo/v1\nname: My Job\nmodel:\n  name_or_path: x/gemma-2-2b\n"),
            "job.yaml:2:7: name: expected 1 to 63 characters of [a-z0-9-] that start and end with "
            "a letter or digit, got 'My Job'");
}

TEST(Validate, ApiVersionMustBeV1) {
  EXPECT_EQ(ErrorOf("apiVersion: gspo/v2\nname: t\nmodel:\n  name_or_path: x/gemma-2-2b\n"),
            "job.yaml:1:13: apiVersion: expected 'gspo/v1', got 'gspo/v2'");
}

TEST(Validate, ModelIsRequired) {
  EXPECT_EQ(ErrorOf("apiVersion: gspo/v1\nname: t\n"),
            "job.yaml: model.name_or_path: required: the model to fine-tune (a local Hugging Face "
            "directory, or a repo id in the local Hugging Face cache)");
}

TEST(Validate, UnknownDtype) {
  EXPECT_EQ(ErrorOf(With("  torch_dtype: bf16\n")),
            "job.yaml:5:16: model.torch_dtype: expected one of auto, bfloat16, float16, float32; "
            "got 'bf16'");
}

TEST(Validate, Float16OnGemmaWarns) {
  auto job = Resolve(With("  torch_dtype: float16\n"));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_THAT(job->warnings, ElementsAre(HasSubstr("float16 overflows on Gemma activations")));
}

TEST(Validate, DisaggregatedNeedsTwoRanksAndSaysTheValueIsADefault) {
  EXPECT_EQ(ErrorOf(With("resources:\n  mode: disaggregated\n")),
            "job.yaml (default): resources.gpus: disaggregated mode needs at least 2 ranks "
            "(rollout + learner), got 1");
}

TEST(Validate, RolloutGpusOnlyWhenDisaggregated) {
  EXPECT_EQ(ErrorOf(With("resources:\n  gpus: 2\n  rollout_gpus: 1\n")),
            "job.yaml:7:17: resources.rollout_gpus: applies to resources.mode: disaggregated only");
  EXPECT_EQ(ErrorOf(With("resources:\n  gpus: 4\n  mode: disaggregated\n  rollout_gpus: 4\n")),
            "job.yaml:8:17: resources.rollout_gpus: expected an integer between 1 and 3, got 4");
}

TEST(Validate, MaxStalenessIsZeroOrOneAndOnlyWhenDisaggregated) {
  EXPECT_EQ(ErrorOf(With("resources:\n  gpus: 2\n  max_staleness: 0\n")),
            "job.yaml:7:18: resources.max_staleness: applies to resources.mode: disaggregated only");
  EXPECT_EQ(ErrorOf(With("resources:\n  gpus: 2\n  mode: disaggregated\n  max_staleness: 2\n")),
            "job.yaml:8:18: resources.max_staleness: expected an integer between 0 and 1, got 2");
}

TEST(Validate, WarmupLongerThanTraining) {
  EXPECT_EQ(ErrorOf(With("training:\n  num_outer_iterations: 3\n  warmup_steps: 5\n")),
            "job.yaml:7:17: training.warmup_steps: expected at most "
            "training.num_outer_iterations (3), got 5");
}

TEST(Validate, RemoteRewardAddressNeedsAPort) {
  EXPECT_EQ(ErrorOf(With("reward:\n  remote: {address: localhost}\n")),
            "job.yaml:6:21: reward.remote.address: expected host:port with a port in 1..65535, "
            "got 'localhost'");
  EXPECT_EQ(ErrorOf(With("reward:\n  remote: {address: \"localhost:99999\"}\n")),
            "job.yaml:6:21: reward.remote.address: expected host:port with a port in 1..65535, "
            "got 'localhost:99999'");
}

TEST(Validate, ExportNamesAndAdapterNeedsLora) {
  EXPECT_EQ(ErrorOf(With("output:\n  export: [adapter, gguf]\n")),
            "job.yaml:6:21: output.export[1]: expected one of adapter, merged; got 'gguf'");
  EXPECT_EQ(ErrorOf(With("lora:\n  use_lora: false\noutput:\n  export: [adapter]\n")),
            "job.yaml:8:12: output.export[0]: an adapter export needs lora.use_lora: true");
}

TEST(Validate, SignedRangesAndEnumerations) {
  EXPECT_EQ(ErrorOf(With("gspo:\n  beta: -0.01\n")),
            "job.yaml:6:9: gspo.beta: expected a number in [0, 10], got -0.01");
  EXPECT_EQ(ErrorOf(With("gspo:\n  clip_range_left: 0\n")),
            "job.yaml:6:20: gspo.clip_range_left: expected a number in (0, 1), got 0");
  EXPECT_EQ(ErrorOf(With("logging:\n  level: verbose\n")),
            "job.yaml:6:10: logging.level: expected one of debug, info, warning, error; got "
            "'verbose'");
  EXPECT_EQ(ErrorOf(With("gspo:\n  recompute_old_logprobs: true\n")), "OK");
  EXPECT_EQ(ErrorOf(With("gspo:\n  recompute_old_logprobs: sometimes\n")),
            "job.yaml:6:27: gspo.recompute_old_logprobs: expected one of auto, true, false; got "
            "'sometimes'");
}

TEST(Validate, LongStringsAreCapped) {
  EXPECT_EQ(ErrorOf(With("environment:\n  system_prompt: " + std::string(70000, 'a') + "\n")),
            "job.yaml:6:18: environment.system_prompt: expected at most 65536 characters, got "
            "70000");
}

}  // namespace
}  // namespace gspo::config
