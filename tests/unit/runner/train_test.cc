// `gspo train` end to end on the tiny CPU model: metrics.jsonl has the documented fields, the
// exports are written, and a run resumed from a checkpoint repeats the uninterrupted run.
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"
#include "worker/tokenizer/chat_episode.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/tokenizer.h"
#include "tests/fakes/json_lines.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::runner {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct TrainRun {
  int exit_code;
  std::string output;
};

// A small, fast variant of examples/jobs/tiny-cpu.yaml written into `out`.
TrainRun Train(const std::string& out, const std::string& extra = "") {
  const std::string command =
      "cd '" + std::string(GSPO_SOURCE_DIR) + "' && '" + std::string(GSPO_BINARY_DIR) +
      "/bin/gspo' train examples/jobs/tiny-cpu.yaml --no-progress --set output.output_dir=" + out +
      " --set training.num_outer_iterations=4 --set training.prompts_per_step=2"
      " --set gspo.num_generations=2 --set training.per_device_train_batch_size=2"
      " --set generation.max_completion_length=12 --set output.save_steps=2 " + extra + " 2>&1";
  const gspo::testing::CommandResult r = gspo::testing::RunShellCommand(command);
  return {r.exit_code, r.output};
}

std::vector<common::Json> JsonLines(const std::string& path) {
  auto rows = gspo::testing::ReadJsonLines(path);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<common::Json>{};
}

std::vector<common::Json> Metrics(const std::string& out) { return JsonLines(out + "/metrics.jsonl"); }

double Value(const common::Json& row, const char* key) {
  const common::Json* v = row.Find(key);
  EXPECT_NE(v, nullptr) << key;
  return v == nullptr || !v->is_number() ? -1e300 : v->AsDouble();
}

// The tensor bytes of a safetensors file, from the format alone: the file less its 8-byte
// header length and the JSON header.
double SafetensorsDataGiB(const std::string& path) {
  auto bytes = common::ReadFileToString(path, 1 << 26);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok() || bytes->size() < 8) return -1;
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = header << 8 | static_cast<unsigned char>((*bytes)[i]);
  return static_cast<double>(bytes->size() - 8 - header) / (1024.0 * 1024.0 * 1024.0);
}

const std::string kTinyWeights = std::string(GSPO_SOURCE_DIR) + "/examples/models/tiny-chat/model.safetensors";

TEST(GspoTrain, WritesMetricsCheckpointsAndExports) {
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("run");
  TrainRun run = Train(out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::vector<common::Json> rows = Metrics(out);
  ASSERT_EQ(rows.size(), 4u);
  for (const char* key : {"step", "reward_mean", "reward_std", "loss", "clip_fraction", "ratio_mean",
                          "kl", "entropy", "grad_norm", "lr", "tokens_generated", "tokens_trained",
                          "seconds_rollout", "seconds_learn", "tokens_per_second",
                          "reward/empathy", "reward/professionalism", "logprob_mismatch", "tokens_prefilled"}) {
    EXPECT_NE(rows[0].Find(key), nullptr) << key;
  }
  EXPECT_EQ(Value(rows[3], "step"), 4);
  EXPECT_EQ(Value(rows[3], "kl"), 0);  // gspo.beta is 0: no reference pass
  EXPECT_LT(Value(rows[0], "logprob_mismatch"), 1e-5);  // sampler and learner agree on CPU
  EXPECT_GT(Value(rows[0], "tokens_generated"), 0);
  // Memory accounting: float32 weights as stored on disk, a KV cache, no device allocator.
  EXPECT_NEAR(Value(rows[0], "memory_weights_gib"), SafetensorsDataGiB(kTinyWeights), 1e-9);
  EXPECT_GT(Value(rows[0], "memory_kv_cache_gib"), 0);
  EXPECT_LT(Value(rows[0], "memory_kv_cache_gib"), 0.01);
  EXPECT_EQ(Value(rows[0], "memory_rollout_peak_gib"), 0);
  EXPECT_EQ(Value(rows[0], "memory_learn_peak_gib"), 0);
  for (const char* path : {"/checkpoints/step-2/adapter/adapter_model.safetensors",
                           "/checkpoints/step-4/optimizer.safetensors",
                           "/final/adapter/adapter_config.json", "/final/merged/model.safetensors",
                           "/final/merged/tokenizer.json", "/job.yaml"}) {
    EXPECT_TRUE(common::PathExists(out + path)) << path;
  }
}

TEST(GspoExport, CheckpointToAdapterAndMerged) {
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("run");
  ASSERT_EQ(Train(out).exit_code, 0);
  const std::string gspo = "'" + std::string(GSPO_BINARY_DIR) + "/bin/gspo' export ";
  const auto run = [&](const std::string& args) {
    return gspo::testing::RunShellCommand("cd '" + std::string(GSPO_SOURCE_DIR) + "' && " + gspo + args + " 2>&1");
  };
  // The last checkpoint holds the final adapters: exporting it gives the run's own exports.
  auto adapter = run("--checkpoint " + out + "/checkpoints/step-4 --adapter " + dir.Join("adapter"));
  ASSERT_EQ(adapter.exit_code, 0) << adapter.output;
  auto merged = run("--checkpoint " + out + "/checkpoints/step-4 --merged " + dir.Join("merged"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  for (const auto& [mine, theirs] : std::vector<std::pair<std::string, std::string>>{
           {dir.Join("adapter/adapter_model.safetensors"), out + "/final/adapter/adapter_model.safetensors"},
           {dir.Join("merged/tokenizer.json"), out + "/final/merged/tokenizer.json"}}) {
    auto a = common::ReadFileToString(mine, 1 << 26);
    auto b = common::ReadFileToString(theirs, 1 << 26);
    ASSERT_TRUE(a.ok() && b.ok()) << mine;
    EXPECT_TRUE(*a == *b) << mine << " differs from " << theirs;
  }
  // The merged weights equal the run's own merge (which ran on the training device: on a GPU
  // host the products W + s B A round differently from the CPU's, hence a tolerance).
  auto exported = engine::SafetensorsFile::Open(dir.Join("merged/model.safetensors"));
  auto trained = engine::SafetensorsFile::Open(out + "/final/merged/model.safetensors");
  ASSERT_TRUE(exported.ok() && trained.ok());
  ASSERT_EQ((*exported)->tensors().size(), (*trained)->tensors().size());
  for (const engine::TensorView& view : (*exported)->tensors()) {
    const engine::TensorView* other = (*trained)->Find(view.name);
    ASSERT_NE(other, nullptr) << view.name;
    EXPECT_TRUE(at::allclose(engine::ViewAsTensor(view), engine::ViewAsTensor(*other), 1e-5, 1e-6)) << view.name;
  }
  // A PEFT directory works as the source too.
  EXPECT_EQ(run("--checkpoint " + out + "/final/adapter --adapter " + dir.Join("again")).exit_code, 0);

  auto missing = run("--checkpoint " + dir.Join("nothing") + " --adapter " + dir.Join("x"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.output, HasSubstr("not a checkpoint"));
  auto both = run("--checkpoint " + out + "/checkpoints/step-4 --adapter a --merged b");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.output, HasSubstr("exactly one of --adapter OUT and --merged OUT"));
  EXPECT_FALSE(common::PathExists(dir.Join("x")));
}

TEST(GspoTrain, ResumedRunRepeatsTheUninterruptedRun) {
  gspo::testing::ScopedTempDir dir;
  const std::string whole = dir.Join("whole"), resumed = dir.Join("resumed");
  ASSERT_EQ(Train(whole).exit_code, 0);
  // The second run starts from a copy of the first run's step-2 checkpoint.
  ASSERT_TRUE(common::MakeDirectories(resumed + "/checkpoints/step-2/adapter").ok());
  for (const char* file : {"adapter/adapter_model.safetensors", "adapter/adapter_config.json",
                           "optimizer.safetensors", "trainer_state.json"}) {
    auto bytes = common::ReadFileToString(whole + "/checkpoints/step-2/" + file, 1 << 26);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ASSERT_TRUE(common::WriteFileAtomically(resumed + "/checkpoints/step-2/" + file, *bytes).ok());
  }
  TrainRun run = Train(resumed, "--set output.resume_from_checkpoint=latest");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::vector<common::Json> a = Metrics(whole), b = Metrics(resumed);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 2u);  // steps 3 and 4
  for (int i = 0; i < 2; ++i) {
    for (const char* key : {"step", "reward_mean", "loss", "clip_fraction", "ratio_mean", "grad_norm",
                            "tokens_generated", "lr"}) {
      EXPECT_EQ(Value(a[i + 2], key), Value(b[i], key)) << key << " at step " << i + 3;
    }
  }
  auto final_a = common::ReadFileToString(whole + "/final/adapter/adapter_model.safetensors", 1 << 26);
  auto final_b = common::ReadFileToString(resumed + "/final/adapter/adapter_model.safetensors", 1 << 26);
  ASSERT_TRUE(final_a.ok() && final_b.ok());
  EXPECT_TRUE(*final_a == *final_b);
}

std::vector<common::Json> Samples(const std::string& out) { return JsonLines(out + "/samples.jsonl"); }

// The user turns (after the opening message) of a samples.jsonl line.
std::vector<std::string> UserTurns(const common::Json& sample) {
  std::vector<std::string> turns;
  const common::Json* messages = sample.Find("messages");
  if (messages == nullptr) return turns;
  bool opening = true;
  for (const common::Json& m : messages->elements()) {
    if (m.Find("role")->AsString() != "user") continue;
    if (!opening) turns.push_back(m.Find("content")->AsString());
    opening = false;
  }
  return turns;
}

TEST(GspoTrain, ModelPlaysTheUserReproducibly) {
  gspo::testing::ScopedTempDir dir;
  const std::string llm = "--set environment.user_simulator.type=llm --set environment.max_turns=3 "
                          "--set environment.user_simulator.max_new_tokens=8";
  const std::string a = dir.Join("a"), b = dir.Join("b"), scripted = dir.Join("scripted");
  TrainRun run = Train(a, llm);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("llm user"));
  ASSERT_EQ(Train(b, llm).exit_code, 0);
  ASSERT_EQ(Train(scripted, "--set environment.max_turns=3").exit_code, 0);
  std::vector<common::Json> sa = Samples(a), sb = Samples(b), ss = Samples(scripted);
  ASSERT_EQ(sa.size(), 4u);
  ASSERT_EQ(sb.size(), 4u);
  ASSERT_EQ(ss.size(), 4u);
  int model_turns = 0;
  for (std::size_t i = 0; i < sa.size(); ++i) {
    // Same seed, same conversations, user turns included.
    EXPECT_EQ(common::WriteJson(sa[i]), common::WriteJson(sb[i])) << "step " << i + 1;
    EXPECT_EQ(sa[i].Find("scenario")->AsString(), ss[i].Find("scenario")->AsString());
    const std::vector<std::string> model_user = UserTurns(sa[i]), scripted_user = UserTurns(ss[i]);
    model_turns += static_cast<int>(model_user.size());
    // The random tiny model does not write the scenario's scripted replies.
    for (const std::string& turn : model_user) {
      EXPECT_EQ(std::find(scripted_user.begin(), scripted_user.end(), turn), scripted_user.end()) << turn;
    }
  }
  EXPECT_GT(model_turns, 0);
  std::vector<common::Json> ma = Metrics(a), mb = Metrics(b);
  ASSERT_EQ(ma.size(), mb.size());
  for (std::size_t i = 0; i < ma.size(); ++i) {
    EXPECT_EQ(Value(ma[i], "reward_mean"), Value(mb[i], "reward_mean"));
    EXPECT_EQ(Value(ma[i], "tokens_generated"), Value(mb[i], "tokens_generated"));
  }
}

// QLoRA: the base weights are quantized (NF4 with double-quantized scales, and int8), the run
// trains and reports, and the merged export is dequantized into a loadable checkpoint.
TEST(GspoTrain, TrainsOnQuantizedBaseWeights) {
  for (const std::string& quant : {std::string("--set model.use_4bit=true --set model.use_double_quant=true"),
                                   std::string("--set model.use_8bit=true")}) {
    gspo::testing::ScopedTempDir dir;
    const std::string out = dir.Join("run");
    TrainRun run = Train(out, quant);
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_THAT(run.output, HasSubstr(quant.find("4bit") != std::string::npos ? "base weights in NF4 (double-quantized"
                                                                             : "base weights in int8"));
    const std::vector<common::Json> rows = Metrics(out);
    ASSERT_EQ(rows.size(), 4u);
    for (const common::Json& row : rows) EXPECT_TRUE(std::isfinite(Value(row, "loss"))) << quant;
    // The quantized projections take less than their float32 bytes (embeddings and norms stay).
    EXPECT_LT(Value(rows[0], "memory_weights_gib"), SafetensorsDataGiB(kTinyWeights)) << quant;
    auto merged = engine::SafetensorsFile::Open(out + "/final/merged/model.safetensors");
    ASSERT_TRUE(merged.ok()) << merged.status();
    EXPECT_NE((*merged)->Find("model.layers.0.self_attn.q_proj.weight"), nullptr);
  }
}

// gspo.beta > 0: the learner takes the adapters-off reference and the run reports a KL that is
// positive once the adapters have moved (fresh adapters are the base model).
TEST(GspoTrain, KlPenaltyAgainstTheAdaptersOffModel) {
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("run");
  TrainRun run = Train(out, "--set gspo.beta=0.05");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<common::Json> rows = Metrics(out);
  ASSERT_EQ(rows.size(), 4u);
  for (const common::Json& row : rows) {
    const double kl = Value(row, "kl");
    EXPECT_TRUE(std::isfinite(kl) && kl >= 0) << kl;
  }
  EXPECT_GT(Value(rows.back(), "kl"), 0.0);
}

// The tokens of a sample's opening (its system prompt and first user message) as the run
// renders them for the tiny model.
std::int64_t OpeningTokens(const common::Json& sample) {
  const std::string model = std::string(GSPO_SOURCE_DIR) + "/examples/models/tiny-chat";
  auto tok = tokenizer::Tokenizer::FromDirectory(model);
  auto format = tokenizer::ChatFormat::FromDirectory(model);
  EXPECT_TRUE(tok.ok() && format.ok());
  if (!tok.ok() || !format.ok()) return -1;
  auto builder = tokenizer::EpisodeBuilder::Create(**tok, *format);
  EXPECT_TRUE(builder.ok()) << builder.status();
  const auto& messages = sample.Find("messages")->elements();
  auto prompt = builder->Start(messages[0].Find("content")->AsString(), messages[1].Find("content")->AsString());
  EXPECT_TRUE(prompt.ok()) << prompt.status();
  return prompt.ok() ? static_cast<std::int64_t>(prompt->size()) : -1;
}

std::vector<std::string> AssistantTurns(const common::Json& sample) {
  std::vector<std::string> turns;
  for (const common::Json& m : sample.Find("messages")->elements()) {
    if (m.Find("role")->AsString() == "assistant") turns.push_back(m.Find("content")->AsString());
  }
  return turns;
}

// generation.max_prompt_length bounds every prompt the model sees: with the limit at the
// opening's own length the conversation ends after the first answer (which is unchanged); one
// token less fails the run with exit code 2; and the limit plus max_completion_length must fit
// the model's context (4096 for the tiny model).
TEST(GspoTrain, PromptsStayWithinMaxPromptLength) {
  gspo::testing::ScopedTempDir dir;
  const std::string one_step = "--set environment.max_turns=3 --set training.num_outer_iterations=1 "
                               "--set training.prompts_per_step=1 --set gspo.minibatches=1 ";
  const std::string free = dir.Join("free"), bounded = dir.Join("bounded");
  TrainRun run = Train(free, one_step);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<common::Json> unbounded = Samples(free);
  ASSERT_EQ(unbounded.size(), 1u);
  ASSERT_GT(AssistantTurns(unbounded[0]).size(), 1u);  // the rule-based user carries on
  const std::int64_t opening = OpeningTokens(unbounded[0]);
  ASSERT_GT(opening, 0);

  run = Train(bounded, one_step + "--set generation.max_prompt_length=" + std::to_string(opening));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<common::Json> cut = Samples(bounded);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(AssistantTurns(cut[0]), std::vector<std::string>{AssistantTurns(unbounded[0]).front()});
  EXPECT_EQ(Value(Metrics(bounded).at(0), "turns_mean"), 1);

  run = Train(dir.Join("short"), one_step + "--set generation.max_prompt_length=" + std::to_string(opening - 1));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("its opening (system prompt and first user message) is " +
                                    std::to_string(opening) + " tokens, more than generation.max_prompt_length = " +
                                    std::to_string(opening - 1)));
  run = Train(dir.Join("long"), "--set generation.max_prompt_length=4090");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("generation.max_prompt_length + generation.max_completion_length = 4102 "
                                    "tokens, more than the model's context of 4096"));
  EXPECT_FALSE(common::PathExists(dir.Join("long") + "/metrics.jsonl"));
}

// generation.max_rollout_rows: one group per rollout batch, four batches a step, gives the
// conversations of one batch for all (each row draws from its own seed); the sampled
// log-probabilities may differ in float32 rounding, so the loss is compared within 1e-5. A
// limit below a group is refused.
TEST(GspoTrain, RolloutBatchesOfWholeGroupsGiveTheSameEpisodes) {
  gspo::testing::ScopedTempDir dir;
  const std::string job = "--set environment.max_turns=3 --set training.num_outer_iterations=3 "
                          "--set training.prompts_per_step=4 --set gspo.minibatches=1 ";
  const std::string whole = dir.Join("whole"), batched = dir.Join("batched");
  ASSERT_EQ(Train(whole, job).exit_code, 0);
  TrainRun run = Train(batched, job + "--set generation.max_rollout_rows=2");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::vector<common::Json> a = Samples(whole), b = Samples(batched);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(common::WriteJson(a[i]), common::WriteJson(b[i])) << i;
  const std::vector<common::Json> ma = Metrics(whole), mb = Metrics(batched);
  ASSERT_EQ(ma.size(), 3u);
  ASSERT_EQ(mb.size(), ma.size());
  for (std::size_t i = 0; i < ma.size(); ++i) {
    EXPECT_EQ(Value(ma[i], "rollout_batches"), 1);
    EXPECT_EQ(Value(mb[i], "rollout_batches"), 4);
    EXPECT_EQ(Value(ma[i], "reward_mean"), Value(mb[i], "reward_mean"));
    EXPECT_EQ(Value(ma[i], "tokens_generated"), Value(mb[i], "tokens_generated"));
    EXPECT_EQ(Value(ma[i], "tokens_prefilled"), Value(mb[i], "tokens_prefilled"));
    EXPECT_NEAR(Value(ma[i], "loss"), Value(mb[i], "loss"), 1e-5);
  }
  run = Train(dir.Join("x"), job + "--set generation.max_rollout_rows=1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("generation.max_rollout_rows: expected 0 (as many as fit) or at least "
                                    "gspo.num_generations (2: a group's samples are generated together), got 1"));
}

TEST(GspoTrain, BadJobExitsTwo) {
  gspo::testing::ScopedTempDir dir;
  TrainRun run = Train(dir.Join("x"), "--set gspo.num_generations=1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("gspo.num_generations: expected an integer between 2 and 256, got 1"));
  run = Train(dir.Join("x"), "--set model.attn_implementation=sdpa");  // the tiny model soft-caps
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("model.attn_implementation: sdpa and flash cannot apply this model's attention "
                                    "soft-cap (attn_logit_softcapping 50)"));
  run = Train(dir.Join("x"), "--set model.name_or_path=/nonexistent/model");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("model.name_or_path: '/nonexistent/model' is not a directory"));
  EXPECT_THAT(run.output, Not(HasSubstr("huggingface-cli")));  // a path, not a repo id
  run = Train(dir.Join("x"), "--set model.name_or_path=acme/not-cached");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("then `huggingface-cli login` and `huggingface-cli download acme/not-cached`"));
}

}  // namespace
}  // namespace gspo::runner
