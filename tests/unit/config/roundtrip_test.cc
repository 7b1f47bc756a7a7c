// What the encoder writes, the loader reads back identically (YAML and JSON), for every preset
// and task and for a spec that sets every field; the set of job.yaml keys is frozen and each key
// is documented; every example job is valid.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/config/spec_encoder.h"
#include "common/files.h"
#include "common/strings.h"
#include "tests/unit/config/config_test_util.h"

namespace gspo::config {
namespace {

using google::protobuf::util::MessageDifferencer;
using test::Resolve;

std::string ReadSourceFile(const std::string& relative) {
  auto text = common::ReadFileToString(std::string(GSPO_SOURCE_DIR) + "/" + relative, 1 << 22);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

void ExpectRoundTrip(const v1::JobSpec& spec) {
  const std::string yaml = EncodeYaml(spec, "header line");
  auto from_yaml = Resolve(yaml);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status() << "\n" << yaml;
  std::string diff;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(spec, from_yaml->spec)) << diff << "\n" << yaml;

  const std::string json = EncodeJson(spec);
  auto from_json = Resolve(json);
  ASSERT_TRUE(from_json.ok()) << from_json.status() << "\n" << json;
  diff.clear();
  MessageDifferencer json_differ;
  json_differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(json_differ.Compare(spec, from_json->spec)) << diff << "\n" << json;
}

class PresetRoundTrip : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(PresetRoundTrip, ResolvedSpecReadsBackIdentically) {
  const auto [model, task] = GetParam();
  std::string yaml = "apiVersion: gspo/v1\nmodel:\n  name_or_path: " + std::string(model) +
                     "\nenvironment:\n  task: " + task + "\n";
  if (std::string(task) == "mixture") {
    yaml += "  mixture: {customer_service: 0.4, technical_support: 0.3, sales: 0.3}\n";
  }
  auto job = Resolve(yaml);
  ASSERT_TRUE(job.ok()) << job.status();
  ExpectRoundTrip(job->spec);
}

INSTANTIATE_TEST_SUITE_P(
    EveryPresetAndTask, PresetRoundTrip,
    ::testing::Combine(::testing::Values("google/gemma-2-2b-it", "google/gemma-2-9b-it",
                                         "google/gemma-2-27b-it", "acme/assistant"),
                       ::testing::Values("customer_service", "technical_support", "sales",
                                         "mixture")));

// Sets every field of the schema (checked below), with values that need quoting in YAML.
constexpr char kEveryField[] = R"(apiVersion: gspo/v1
name: every-field
model:
  name_or_path: "/models/with space/gemma-2-9b-it"
  torch_dtype: bfloat16
  attn_implementation: sdpa
  use_4bit: true
  use_8bit: false
  use_double_quant: true
  gradient_checkpointing: false
preset: 9b
lora:
  use_lora: true
  lora_r: 32
  lora_alpha: 64.5
  lora_dropout: 0.0
  lora_target_modules: [q_proj, down_proj]
  use_rslora: true
gspo:
  num_generations: 6
  clip_range_left: 2.5e-4
  clip_range_right: 3.5e-4
  beta: 0.01
  use_gspo_token: true
  num_iterations: 2
  minibatches: 2
  recompute_old_logprobs: "true"
training:
  learning_rate: 3.0e-6
  lr_scheduler_type: linear
  warmup_steps: 2
  max_grad_norm: 0.5
  weight_decay: 0.01
  num_outer_iterations: 10
  prompts_per_step: 4
  per_device_train_batch_size: 2
  gradient_accumulation_steps: 3
  seed: 7
  optimizer_offload: true
generation:
  max_prompt_length: 4096
  max_completion_length: 2048
  temperature: 0.9
  top_p: 0.95
  top_k: 0
environment:
  task: mixture
  max_turns: 10
  system_prompt: "You are: \"helpful\".\nAlways."
  scenarios:
    - packs/extra.yaml
    - id: late-order
      task: customer_service
      system_prompt: "Custom prompt"
      opening_message: "My order #A-1 is late: where is it?"
      persona: impatient
      facts: {order_number: "A-1", "true": "yes"}
      resolution: [refund, "new delivery date"]
      user_replies: ["It's been 2 weeks", "ok"]
      max_turns: 3
      forbidden: ["full refund"]
      reference: "I'll send a replacement today."
      reply_rules:
        - {when_agent_says: [tracking], reply: "It hasn't moved.", end: false}
  mixture: {customer_service: 0.4, technical_support: 0.3, sales: 0.3}
  user_simulator:
    type: llm
    model: google/gemma-2-2b-it
    max_new_tokens: 48
    temperature: 0.9
reward:
  preset: mixture
  components:
    - {name: empathy, weight: 0.5}
    - {name: task_resolution, weight: 1.5}
  remote: {address: "rewards.internal:50051", timeout_ms: 2000, max_retries: 1, weight: 0.25}
resources:
  gpus: 4
  mode: disaggregated
  rollout_gpus: 2
  max_restarts: 1
  priority: -5
output:
  output_dir: "./outputs/every field"
  save_steps: 5
  save_total_limit: 0
  export: [adapter, merged]
  resume_from_checkpoint: latest
logging:
  tensorboard: false
  log_every: 2
  run_name: "yes"
  level: debug
)";

// "environment.scenarios[1].facts" -> "environment.scenarios[].facts"
std::string WithoutIndices(const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    out += path[i];
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') ++i;
    }
  }
  return out;
}

TEST(RoundTrip, SpecWithEveryFieldSet) {
  auto job = Resolve(kEveryField);
  ASSERT_TRUE(job.ok()) << job.status();
  // 4 prompts x 6 = 24 sequences over 2 learner ranks = 12 = 2 updates x 3 x 2.
  EXPECT_EQ(job->spec.gspo().minibatches(), 2);
  EXPECT_EQ(job->spec.model().name_or_path(), "/models/with space/gemma-2-9b-it");
  EXPECT_EQ(job->spec.environment().system_prompt(), "You are: \"helpful\".\nAlways.");
  ExpectRoundTrip(job->spec);

  // Every leaf of the schema is set somewhere in this spec.
  std::set<std::string> set_paths;
  std::vector<const v1::Scenario*> elements;
  for (const std::string& path : SetLeafPaths(job->spec)) set_paths.insert(WithoutIndices(path));
  for (const auto& scenario : job->spec.environment().scenarios()) {
    for (const std::string& path : SetLeafPaths(scenario)) {
      set_paths.insert("environment.scenarios[]." + path);
    }
    for (const auto& rule : scenario.reply_rules()) {
      for (const std::string& path : SetLeafPaths(rule)) {
        set_paths.insert("environment.scenarios[].reply_rules[]." + path);
      }
    }
  }
  for (const auto& component : job->spec.reward().components()) {
    for (const std::string& path : SetLeafPaths(component)) {
      set_paths.insert("reward.components[]." + path);
    }
  }
  std::vector<std::string> missing;
  for (const std::string& path : AllFieldPaths(*v1::JobSpec::descriptor())) {
    const bool is_section = path.find('.') == std::string::npos &&
                            v1::JobSpec::descriptor()->FindFieldByName(path) != nullptr &&
                            v1::JobSpec::descriptor()->FindFieldByName(path)->message_type();
    const bool is_container =
        path == "reward.remote" || path == "environment.scenarios" || path == "reward.components" ||
        path == "environment.user_simulator";
    // dataset.path belongs to algorithm: sft, which this GSPO spec cannot also be;
    // RoundTrip.SftSpec covers it.
    if (is_section || is_container || path == "dataset.path") continue;
    if (!set_paths.count(path)) missing.push_back(path);
  }
  EXPECT_THAT(missing, ::testing::IsEmpty());
}

TEST(RoundTrip, SftSpec) {
  auto job = Resolve(R"(apiVersion: gspo/v1
model:
  name_or_path: /models/tiny
algorithm: sft
dataset:
  path: "data/conversations #1.jsonl"
lora:
  use_lora: false
)");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec.algorithm(), "sft");
  EXPECT_EQ(job->spec.dataset().path(), "data/conversations #1.jsonl");
  ExpectRoundTrip(job->spec);
}

TEST(RoundTrip, NumbersAreWrittenSoEveryYamlReaderSeesFloats) {
  EXPECT_EQ(FormatNumber(5e-6), "5.0e-06");
  EXPECT_EQ(FormatNumber(0.7), "0.7");
  EXPECT_EQ(FormatNumber(128), "128");
  EXPECT_EQ(FormatNumber(1.5e-4), "0.00015");
}

// Adding or renaming a job.yaml key is a deliberate change: update tests/data/job_keys.txt and
// docs/job-spec.md together.
TEST(JobKeys, TheSetOfKeysIsFrozen) {
  std::vector<std::string> frozen;
  std::istringstream lines(ReadSourceFile("tests/data/job_keys.txt"));
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') frozen.push_back(line);
  }
  EXPECT_EQ(AllFieldPaths(*v1::JobSpec::descriptor()), frozen);
}

TEST(JobKeys, EveryKeyIsDocumented) {
  const std::string doc = ReadSourceFile("docs/job-spec.md");
  std::vector<std::string> undocumented;
  for (const std::string& path : AllFieldPaths(*v1::JobSpec::descriptor())) {
    if (doc.find("`" + path + "`") == std::string::npos) undocumented.push_back(path);
  }
  EXPECT_THAT(undocumented, ::testing::IsEmpty()) << "add these to docs/job-spec.md";
}

TEST(Examples, EveryExampleJobIsValid) {
  int count = 0;
  const std::string dir = std::string(GSPO_SOURCE_DIR) + "/examples/jobs";
  const std::vector<std::string> names = common::ListDirectory(dir).value();
  for (const std::string& name : names) {
    if (!common::EndsWith(name, ".yaml")) continue;
    JobSource source;
    source.file = common::JoinPath(dir, name);
    auto job = ResolveJob(source);
    EXPECT_TRUE(job.ok()) << job.status();
    if (job.ok()) {
      EXPECT_THAT(job->warnings, ::testing::IsEmpty()) << name;
    }
    ++count;
  }
  EXPECT_GE(count, 10);
}

}  // namespace
}  // namespace gspo::config
