// Layering: presets chosen from the model's size, task presets, precedence of the command
// line, derived fields and the batch shape. Expected values are the reference guide's tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/model_size.h"
#include "common/files.h"
#include "tests/fakes/temp_dir.h"
#include "tests/unit/config/config_test_util.h"

namespace gspo::config {
namespace {

using test::ErrorOf;
using test::kMinimal;
using test::Resolve;
using test::ResolveFlags;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string JobFor(const std::string& model) {
  return "apiVersion: gspo/v1\nname: t\nmodel:\n  name_or_path: " + model + "\n";
}

std::vector<std::string> Modules(const v1::JobSpec& spec) {
  return {spec.lora().lora_target_modules().begin(), spec.lora().lora_target_modules().end()};
}

TEST(Resolve, SmallModelGetsTheGuides2bConfig) {
  auto job = Resolve(JobFor("google/gemma-2-2b-it"));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::JobSpec& s = job->spec;
  EXPECT_EQ(job->size_preset, "2b");
  EXPECT_EQ(s.preset(), "2b");
  EXPECT_EQ(s.gspo().num_generations(), 4);
  EXPECT_DOUBLE_EQ(s.gspo().clip_range_left(), 3e-4);
  EXPECT_DOUBLE_EQ(s.gspo().clip_range_right(), 4e-4);
  EXPECT_DOUBLE_EQ(s.training().learning_rate(), 1e-5);
  EXPECT_EQ(s.training().per_device_train_batch_size(), 4);
  EXPECT_EQ(s.training().gradient_accumulation_steps(), 2);
  EXPECT_EQ(s.lora().lora_r(), 16);
  EXPECT_DOUBLE_EQ(s.lora().lora_alpha(), 32);
  EXPECT_THAT(Modules(s), ElementsAre("q_proj", "k_proj", "v_proj", "o_proj"));
  EXPECT_FALSE(s.model().use_4bit());
  // 8 prompts x 4 generations = 32 sequences, in updates of 4 x 2 = 8.
  EXPECT_EQ(s.gspo().minibatches(), 4);
}

TEST(Resolve, MediumModelGetsTheGuides9bConfig) {
  auto job = Resolve(JobFor("google/gemma-2-9b-it"));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::JobSpec& s = job->spec;
  EXPECT_EQ(job->size_preset, "9b");
  EXPECT_EQ(job->size_basis, "9B parameters, from the name 'google/gemma-2-9b-it'");
  EXPECT_EQ(s.gspo().num_generations(), 6);
  EXPECT_DOUBLE_EQ(s.gspo().clip_range_left(), 2e-4);
  EXPECT_DOUBLE_EQ(s.gspo().clip_range_right(), 3e-4);
  EXPECT_DOUBLE_EQ(s.training().learning_rate(), 5e-6);
  EXPECT_EQ(s.training().per_device_train_batch_size(), 1);
  EXPECT_EQ(s.training().gradient_accumulation_steps(), 8);
  EXPECT_EQ(s.lora().lora_r(), 64);
  EXPECT_DOUBLE_EQ(s.lora().lora_alpha(), 128);
  EXPECT_THAT(Modules(s), ElementsAre("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                      "up_proj", "down_proj"));
  EXPECT_TRUE(s.model().use_4bit());
  EXPECT_TRUE(s.model().gradient_checkpointing());
  EXPECT_EQ(s.gspo().minibatches(), 6);  // 8 x 6 = 48 sequences in updates of 8
}

TEST(Resolve, LargeModelGetsTheGuides27bConfig) {
  auto job = Resolve(JobFor("google/gemma-2-27b-it"));
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::JobSpec& s = job->spec;
  EXPECT_EQ(job->size_preset, "27b");
  EXPECT_EQ(s.gspo().num_generations(), 8);
  EXPECT_DOUBLE_EQ(s.gspo().clip_range_left(), 1.5e-4);
  EXPECT_DOUBLE_EQ(s.gspo().clip_range_right(), 2.5e-4);
  EXPECT_DOUBLE_EQ(s.training().learning_rate(), 3e-6);
  EXPECT_EQ(s.training().gradient_accumulation_steps(), 16);
  EXPECT_TRUE(s.model().use_4bit());
  EXPECT_EQ(s.gspo().minibatches(), 4);  // 8 x 8 = 64 sequences in updates of 16
}

TEST(Resolve, SizeFromOtherFamiliesNames) {
  EXPECT_EQ(ParameterCountFromName("Qwen/Qwen2.5-0.5B-Instruct"), 0.5);
  EXPECT_EQ(ParameterCountFromName("meta-llama/Llama-3.1-8B"), 8.0);
  EXPECT_EQ(ParameterCountFromName("Qwen/Qwen3-30B-A3B"), 30.0);
  EXPECT_EQ(ParameterCountFromName("google/gemma-3-1b-it"), 1.0);
  EXPECT_EQ(ParameterCountFromName("my-model"), std::nullopt);
  EXPECT_EQ(ParameterCountFromName("gpt2b"), std::nullopt);
  auto job = Resolve(JobFor("meta-llama/Llama-3.1-8B-Instruct"));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->size_preset, "9b");
}

// gemma-2-9b's config: 42 layers of hidden 3584, 16 heads and 8 KV heads of 256, MLP 14336,
// vocabulary 256000, tied embeddings. By hand: attention 3584*256*(2*16+2*8) = 44,040,192;
// MLP 3*3584*14336 = 154,140,672; 42 layers = 8,323,596,288; embeddings 917,504,000;
// total 9,241,100,288.
constexpr char kGemma2_9bConfig[] = R"({
  "model_type": "gemma2", "hidden_size": 3584, "num_hidden_layers": 42,
  "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 256,
  "intermediate_size": 14336, "vocab_size": 256000, "tie_word_embeddings": true
})";

TEST(Resolve, SizeFromALocalConfigJson) {
  EXPECT_NEAR(ParameterCountFromConfigJson(kGemma2_9bConfig).value(), 9.241100288, 1e-9);
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("config.json"), kGemma2_9bConfig).ok());
  auto job = Resolve(JobFor(dir.path()));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->size_preset, "9b");
  EXPECT_EQ(job->size_basis, "9.2B parameters, from config.json at " + dir.path());
}

TEST(Resolve, SizeFromTheHuggingFaceCache) {
  gspo::testing::ScopedTempDir dir;
  const std::string repo = dir.Join("models--acme--chat");
  ASSERT_TRUE(common::MakeDirectories(repo + "/refs").ok());
  ASSERT_TRUE(common::MakeDirectories(repo + "/snapshots/abc123").ok());
  ASSERT_TRUE(common::WriteFileAtomically(repo + "/refs/main", "abc123\n").ok());
  ASSERT_TRUE(
      common::WriteFileAtomically(repo + "/snapshots/abc123/config.json", kGemma2_9bConfig).ok());
  setenv("HF_HUB_CACHE", dir.path().c_str(), 1);
  auto job = Resolve(JobFor("acme/chat"));
  unsetenv("HF_HUB_CACHE");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->size_preset, "9b");
  EXPECT_EQ(job->size_basis, "9.2B parameters, from config.json at " + repo + "/snapshots/abc123");
}

TEST(Resolve, UnknownSizeFallsBackToDefaultsWithAWarning) {
  auto job = Resolve(JobFor("acme/assistant"));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->size_preset, "none");
  EXPECT_EQ(job->spec.preset(), "none");
  EXPECT_THAT(job->warnings, ElementsAre(HasSubstr("preset: auto could not tell the size of "
                                                   "'acme/assistant'")));
}

TEST(Resolve, ExplicitPresetWinsOverTheName) {
  auto job = Resolve(JobFor("google/gemma-2-2b-it") + "preset: 27b\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.gspo().num_generations(), 8);
  EXPECT_EQ(ErrorOf(JobFor("google/gemma-2-2b-it") + "preset: 7b\n"),
            "job.yaml:5:9: preset: expected one of auto, none, 2b, 9b, 27b; got '7b' (did you "
            "mean '2b'?)");
}

TEST(Resolve, JobYamlOverridesThePreset) {
  auto job = Resolve(JobFor("google/gemma-2-9b-it") + "lora:\n  lora_r: 8\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.lora().lora_r(), 8);
  EXPECT_DOUBLE_EQ(job->spec.lora().lora_alpha(), 128);  // still the preset's
  EXPECT_EQ(job->sources.Where("lora.lora_r"), "job.yaml:6:11");
  EXPECT_EQ(job->sources.Where("lora.lora_alpha"), "job.yaml (preset 9b)");
  EXPECT_EQ(job->sources.Where("gspo.beta"), "job.yaml (default)");
}

TEST(Resolve, SetOverridesJobYamlInOrder) {
  auto job = Resolve(std::string(kMinimal) + "lora:\n  lora_r: 8\n",
                     {ParseSetOverride("lora.lora_r=32").value(),
                      ParseSetOverride("lora.lora_target_modules=[q_proj, v_proj]").value(),
                      ParseSetOverride("lora.lora_r=48").value()});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.lora().lora_r(), 48);
  EXPECT_THAT(Modules(job->spec), ElementsAre("q_proj", "v_proj"));
  EXPECT_EQ(job->sources.Where("lora.lora_r"), "--set lora.lora_r=48");
}

TEST(Resolve, SetErrorsNameTheOverride) {
  EXPECT_EQ(ErrorOf(kMinimal, {ParseSetOverride("lora.lora_r=abc").value()}),
            "--set lora.lora_r=abc: lora.lora_r: expected an integer, got 'abc'");
  EXPECT_EQ(ErrorOf(kMinimal, {ParseSetOverride("gspo.num_generation=4").value()}),
            "--set gspo.num_generation=4: gspo.num_generation: unknown key; did you mean "
            "'num_generations'?");
  EXPECT_EQ(ErrorOf(kMinimal, {ParseSetOverride("gspo.num_generations=1").value()}),
            "--set gspo.num_generations=1: gspo.num_generations: expected an integer between 2 "
            "and 256, got 1");
  EXPECT_EQ(ErrorOf(kMinimal, {ParseSetOverride("lora..lora_r=1").value()}),
            "--set lora..lora_r=1: expected a field path like lora.lora_r, got 'lora..lora_r'");
  EXPECT_EQ(ErrorOf(kMinimal, {ParseSetOverride("lora.lora_r=").value()}),
            "--set lora.lora_r=: expected a value after '='");
  EXPECT_EQ(ParseSetOverride("lora_r").status().message(),
            "--set lora_r: expected FIELD=VALUE, e.g. --set lora.lora_r=32");
}

TEST(Resolve, GuideFlagsBuildAJobWithoutYaml) {
  auto job = ResolveFlags({"--model", "google/gemma-2-9b-it", "--task", "sales", "--use-lora",
                           "--use-4bit", "--output-dir", "./outputs/prod", "--wandb-project",
                           "gemma3-sales"});
  ASSERT_TRUE(job.ok()) << job.status();
  const v1::JobSpec& s = job->spec;
  EXPECT_EQ(s.name(), "gemma-2-9b-it-sales");
  EXPECT_EQ(s.environment().task(), "sales");
  EXPECT_EQ(s.environment().max_turns(), 5);
  EXPECT_EQ(s.reward().preset(), "sales");
  EXPECT_TRUE(s.lora().use_lora());
  EXPECT_TRUE(s.model().use_4bit());
  EXPECT_EQ(s.output().output_dir(), "./outputs/prod");
  EXPECT_EQ(s.logging().run_name(), "gemma3-sales");
  EXPECT_TRUE(s.logging().tensorboard());
  EXPECT_EQ(job->sources.Where("model.name_or_path"), "--model google/gemma-2-9b-it");
}

TEST(Resolve, GuideFlagErrorsNameTheFlag) {
  EXPECT_EQ(
      ResolveFlags({"--model", "google/gemma-2-2b-it", "--task", "billing"}).status().message(),
      "--task billing: environment.task: expected one of customer_service, "
      "technical_support, sales, custom, mixture; got 'billing'");
  std::vector<std::string> args = {"--model"};
  std::size_t i = 0;
  std::vector<Override> overrides;
  EXPECT_EQ(ParseGuideFlag(args, &i, &overrides).status().message(), "--model needs a value");
  args = {"--use-4bit=yes"};
  EXPECT_EQ(ParseGuideFlag(args, &i, &overrides).status().message(), "--use-4bit takes no value");
}

TEST(Resolve, UserQuantizationChoiceReplacesThePresets) {
  auto job = ResolveFlags({"--model", "google/gemma-2-9b-it", "--use-8bit"});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_TRUE(job->spec.model().use_8bit());
  EXPECT_FALSE(job->spec.model().use_4bit());
}

TEST(Resolve, NoLoraWithThe9bPresetIsExplained) {
  EXPECT_EQ(ResolveFlags({"--model", "google/gemma-2-9b-it", "--no-lora"}).status().message(),
            "--no-lora: lora.use_lora: a quantized base model (model.use_4bit) trains through LoRA "
            "adapters only; set lora.use_lora: true");
}

TEST(Resolve, WithoutLoraTheDefaultExportIsTheMergedModel) {
  auto job = ResolveFlags({"--model", "google/gemma-2-2b-it", "--no-lora"});
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->spec.output().export__size(), 1);
  EXPECT_EQ(job->spec.output().export_(0), "merged");
}

TEST(Resolve, DerivedNameAndOutputDir) {
  auto job = Resolve("apiVersion: gspo/v1\nmodel:\n  name_or_path: /models/Gemma_2-2B-IT/\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.name(), "gemma-2-2b-it-customer-service");
  EXPECT_EQ(job->size_preset, "2b");
  auto named = ResolveFlags({"--model", "google/Gemma-2-2b-IT", "--task", "technical_support"});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->spec.name(), "gemma-2-2b-it-technical-support");
  EXPECT_EQ(named->spec.output().output_dir(), "./outputs/gemma-2-2b-it-technical-support");
}

TEST(Resolve, TaskPresetsSetTheEnvironmentAndReward) {
  auto job = Resolve(std::string(kMinimal) + "environment:\n  task: technical_support\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.environment().max_turns(), 6);
  EXPECT_EQ(job->spec.reward().preset(), "technical_support");
  ASSERT_EQ(job->spec.reward().components_size(), 6);
  EXPECT_EQ(job->spec.reward().components(0).name(), "task_resolution");
  EXPECT_DOUBLE_EQ(job->spec.reward().components(0).weight(), 0.3);
}

TEST(Resolve, MixtureRewardWeighsEachTasksComponents) {
  auto job = Resolve(std::string(kMinimal) +
                     "environment:\n  mixture: {customer_service: 0.5, sales: 0.5}\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.environment().task(), "mixture");
  EXPECT_EQ(job->spec.environment().max_turns(), 10);
  double empathy = -1, total = 0;
  for (const auto& c : job->spec.reward().components()) {
    if (c.name() == "empathy") empathy = c.weight();
    total += c.weight();
  }
  EXPECT_DOUBLE_EQ(empathy, 0.5 * 0.25 + 0.5 * 0.15);
  EXPECT_NEAR(total, 1.0, 1e-9);
}

TEST(Resolve, ExplicitComponentsReplaceThePreset) {
  auto job =
      Resolve(std::string(kMinimal) + "reward:\n  components: [{name: empathy, weight: 2}]\n");
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_EQ(job->spec.reward().components_size(), 1);
  EXPECT_DOUBLE_EQ(job->spec.reward().components(0).weight(), 2);
}

TEST(Resolve, RemoteRewardGetsDefaults) {
  auto job = Resolve(std::string(kMinimal) + "reward:\n  remote: {address: \"rewards:50051\"}\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.reward().remote().timeout_ms(), 5000);
  EXPECT_EQ(job->spec.reward().remote().max_retries(), 3);
  EXPECT_DOUBLE_EQ(job->spec.reward().remote().weight(), 1.0);
}

TEST(Resolve, MinibatchesDeriveGradientAccumulation) {
  auto job = Resolve(JobFor("google/gemma-2-9b-it") + "gspo:\n  minibatches: 3\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.training().gradient_accumulation_steps(), 16);  // 48 / (3 x 1)
}

TEST(Resolve, BatchShapeThatDoesNotDivide) {
  EXPECT_EQ(ErrorOf(JobFor("google/gemma-2-9b-it") + "gspo:\n  minibatches: 5\n"),
            "job.yaml:6:16: gspo.minibatches: 5 updates of 1-sequence micro-batches do not divide "
            "48 sequences per rank per step (8 prompts x 6 generations / 1 ranks)");
  EXPECT_EQ(
      ErrorOf(JobFor("google/gemma-2-9b-it") + "training:\n  gradient_accumulation_steps: 5\n"),
      "job.yaml:6:32: training.gradient_accumulation_steps: updates of 5 x 1 sequences "
      "(gradient_accumulation_steps x per_device_train_batch_size) do not divide 48 "
      "sequences per rank per step (8 prompts x 6 generations / 1 ranks)");
  EXPECT_EQ(ErrorOf(JobFor("google/gemma-2-9b-it") +
                    "gspo:\n  minibatches: 4\ntraining:\n  gradient_accumulation_steps: 8\n"),
            "job.yaml:6:16: gspo.minibatches: expected 6 to match 48 sequences per rank per step "
            "(8 prompts x 6 generations / 1 ranks) in updates of 8 sequences, got 4; set one of "
            "gspo.minibatches and training.gradient_accumulation_steps");
}

TEST(Resolve, PromptsMustSplitEvenlyOverRanks) {
  EXPECT_EQ(ErrorOf(JobFor("google/gemma-2-2b-it") + "resources:\n  gpus: 3\n"),
            "job.yaml (default): training.prompts_per_step: 8 prompt groups cannot be shared "
            "evenly by 3 rollout ranks; use a multiple of 3");
  auto job = Resolve(JobFor("google/gemma-2-2b-it") + "resources:\n  gpus: 2\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.gspo().minibatches(), 2);  // 16 sequences per rank in updates of 8
}

TEST(Resolve, DisaggregatedSplitsRanks) {
  auto job = Resolve(JobFor("google/gemma-2-9b-it") +
                     "resources:\n  gpus: 8\n  mode: disaggregated\n  rollout_gpus: 6\n"
                     "training:\n  prompts_per_step: 24\n");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.gspo().minibatches(), 9);  // 144 sequences / 2 learners = 72, updates of 8
  EXPECT_EQ(job->spec.resources().max_staleness(), 1);  // derived: the overlap is on
  auto colocated = Resolve(JobFor("google/gemma-2-9b-it"));
  ASSERT_TRUE(colocated.ok()) << colocated.status();
  EXPECT_FALSE(colocated->spec.resources().has_max_staleness());  // colocated specs unchanged
}

}  // namespace
}  // namespace gspo::config
