// The gspo tool's model commands, run as users run them: logits and greedy generation against
// the transformers goldens, init-model, and exit code 2 with a clear message for bad input.
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/json.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/temp_dir.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"

namespace gspo::engine {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";

struct ToolRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

// Runs build/bin/gspo with `args`; `env` ("NAME=value ...") is set for that process only.
ToolRun Gspo(const std::string& args, const std::string& env = "") {
  const gspo::testing::CommandResult r = gspo::testing::RunShellCommand(
      env + " " + std::string(GSPO_BINARY_DIR) + "/bin/gspo " + args + " 2>&1");
  return {r.exit_code, r.output};
}

at::Tensor Read(const std::string& path, const char* name) {
  auto file = SafetensorsFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  const TensorView* view = (*file)->Find(name);
  EXPECT_NE(view, nullptr) << name;
  return ViewAsTensor(*view).clone();
}

TEST(GspoTool, TrainHelpPrintsItsUsage) {
  ToolRun run = Gspo("train --help");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("usage: gspo train job.yaml [--set FIELD=VALUE]..."));
  EXPECT_THAT(run.output, HasSubstr("--use-4bit | --use-8bit"));
}

TEST(GspoTool, LogitsMatchTheGolden) {
  gspo::testing::ScopedTempDir dir;
  at::Tensor ids = Read(kModels + "gemma2/golden.safetensors", "input_ids");
  ASSERT_TRUE(SaveTensors(dir.Join("in.safetensors"), {{"input_ids", ids}}, {}).ok());
  ToolRun run = Gspo("logits --model " + kModels + "gemma2 --input " + dir.Join("in.safetensors") +
                 " --output " + dir.Join("out.safetensors"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  at::Tensor logits = Read(dir.Join("out.safetensors"), "logits");
  at::Tensor golden = Read(kModels + "gemma2/golden.safetensors", "logits");
  ASSERT_EQ(logits.sizes(), golden.sizes());
  EXPECT_LE((logits - golden).abs().max().item<double>() / golden.abs().max().item<double>(), 1e-4);
}

TEST(GspoTool, GreedyGenerationMatchesTheGolden) {
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(SaveTensors(dir.Join("in.safetensors"),
                          {{"input_ids", Read(kModels + "qwen3/golden.safetensors", "input_ids")}}, {})
                  .ok());
  ToolRun run = Gspo("generate --model " + kModels + "qwen3 --input " + dir.Join("in.safetensors") +
                 " --max-new-tokens 30 --greedy --output " + dir.Join("out.safetensors"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(at::equal(Read(dir.Join("out.safetensors"), "sequences"),
                        Read(kModels + "qwen3/golden.safetensors", "greedy")));
  at::Tensor logprobs = Read(dir.Join("out.safetensors"), "logprobs");
  EXPECT_EQ(logprobs.sizes(), (at::IntArrayRef{2, 30}));
  EXPECT_TRUE((logprobs <= 0).all().item<bool>());
}

TEST(GspoTool, ModelFromTheHuggingFaceCache) {
  // models--acme--tiny/snapshots/<rev> holding the llama golden model, found by repo id.
  gspo::testing::ScopedTempDir cache;
  const std::string snapshot = cache.Join("models--acme--tiny/snapshots/0123abc");
  ASSERT_TRUE(common::MakeDirectories(snapshot).ok());
  for (const char* file : {"config.json", "model.safetensors"}) {
    auto bytes = common::ReadFileToString(kModels + "llama/" + file, 1 << 22);
    ASSERT_TRUE(bytes.ok());
    ASSERT_TRUE(common::WriteFileAtomically(snapshot + "/" + file, *bytes).ok());
  }
  ASSERT_TRUE(common::MakeDirectories(cache.Join("models--acme--tiny/refs")).ok());
  ASSERT_TRUE(common::WriteFileAtomically(cache.Join("models--acme--tiny/refs/main"), "0123abc").ok());
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(SaveTensors(dir.Join("in.safetensors"),
                          {{"input_ids", Read(kModels + "llama/golden.safetensors", "input_ids")}}, {})
                  .ok());
  ToolRun run = Gspo("logits --model acme/tiny --input " + dir.Join("in.safetensors") + " --output " +
             dir.Join("out.safetensors"), "HF_HUB_CACHE=" + cache.path());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  at::Tensor golden = Read(kModels + "llama/golden.safetensors", "logits");
  EXPECT_LE((Read(dir.Join("out.safetensors"), "logits") - golden).abs().max().item<double>() /
                golden.abs().max().item<double>(),
            1e-4);
}

TEST(GspoTool, SamplingIsReproducibleForASeed) {
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(SaveTensors(dir.Join("in.safetensors"),
                          {{"input_ids", Read(kModels + "llama/golden.safetensors", "input_ids")}}, {})
                  .ok());
  const std::string base = "generate --model " + kModels + "llama --input " +
                           dir.Join("in.safetensors") + " --max-new-tokens 12 --temperature 0.9 "
                           "--top-p 0.9 --top-k 20 ";
  ASSERT_EQ(Gspo(base + "--seed 5 --output " + dir.Join("a.safetensors")).exit_code, 0);
  ASSERT_EQ(Gspo(base + "--seed 5 --output " + dir.Join("b.safetensors")).exit_code, 0);
  ASSERT_EQ(Gspo(base + "--seed 6 --output " + dir.Join("c.safetensors")).exit_code, 0);
  at::Tensor a = Read(dir.Join("a.safetensors"), "sequences");
  EXPECT_TRUE(at::equal(a, Read(dir.Join("b.safetensors"), "sequences")));
  EXPECT_FALSE(at::equal(a, Read(dir.Join("c.safetensors"), "sequences")));
}

TEST(GspoTool, InitModelWritesALoadableCheckpoint) {
  gspo::testing::ScopedTempDir dir;
  ToolRun run = Gspo("init-model --config " + kModels + "gemma3/config.json --out " + dir.Join("m") +
                 " --seed 3 --dtype bfloat16");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("gemma3_text, 7 layers, seed 3"));
  auto checkpoint = Checkpoint::Open(dir.Join("m"));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  // 1 embedding + 7 x (4 projections + 2 qk-norms + 3 MLP + 4 norms) + final norm.
  EXPECT_EQ(checkpoint->Names().size(), 1u + 7 * 13 + 1);
  EXPECT_EQ(checkpoint->Get("model.embed_tokens.weight")->dtype, DType::kBF16);
  ASSERT_TRUE(SaveTensors(dir.Join("in.safetensors"), {{"input_ids", at::arange(10).view({1, 10})}}, {}).ok());
  run = Gspo("logits --model " + dir.Join("m") + " --input " + dir.Join("in.safetensors") +
             " --output " + dir.Join("out.safetensors"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Read(dir.Join("out.safetensors"), "logits").sizes(), (at::IntArrayRef{1, 10, 256}));
}

TEST(GspoTool, BadInputsExitTwoWithTheirCause) {
  gspo::testing::ScopedTempDir dir;
  const std::string model = "--model " + kModels + "llama ";
  ASSERT_TRUE(SaveTensors(dir.Join("float.safetensors"), {{"input_ids", at::zeros({1, 4})}}, {}).ok());
  ASSERT_TRUE(SaveTensors(dir.Join("big.safetensors"), {{"input_ids", at::full({1, 4}, 999, at::kLong)}}, {}).ok());
  ASSERT_TRUE(SaveTensors(dir.Join("other.safetensors"), {{"tokens", at::zeros({1, 4}, at::kLong)}}, {}).ok());
  ToolRun r = Gspo("logits " + model + "--input " + dir.Join("float.safetensors") + " --output " + dir.Join("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("tensor 'input_ids': expected int64 [B,T] with T > 0"));
  r = Gspo("logits " + model + "--input " + dir.Join("big.safetensors") + " --output " + dir.Join("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("tensor 'input_ids': ids must be in [0, 256)"));
  r = Gspo("logits " + model + "--input " + dir.Join("other.safetensors") + " --output " + dir.Join("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("no tensor 'input_ids'"));
  r = Gspo("logits " + model + "--input " + dir.Join("missing.safetensors") + " --output " + dir.Join("o"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("missing.safetensors"));
  r = Gspo("logits " + model + "--inptu x --output y");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("unknown flag '--inptu'; did you mean '--input'?"));
  r = Gspo("logits " + model + "--input x --output y --dtype fp8");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--dtype: expected float32, bfloat16 or float16, got 'fp8'"));
  r = Gspo("generate " + model + "--input x --output y --max-new-tokens 4 --greedy --top-p 0.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--greedy cannot be combined"));
  r = Gspo("logits --model acme/not-cached --input x --output y");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--model acme/not-cached: not a directory, and not in the local "
                                  "Hugging Face cache"));
  r = Gspo("logits --model " + dir.path() + " --input x --output y");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr(dir.Join("config.json")));
}

// bench-step on a tiny random model: whole steps run and their figures add up; bad sizes and
// an unknown quantization exit 2.
TEST(GspoTool, BenchStepTimesWholeGspoSteps) {
  const std::string config = "--random-config " + kModels + "llama/config.json ";
  ToolRun r = Gspo("bench-step " + config + "--prompts 2 --samples 2 --prompt-len 5 --new-tokens 4 --reps 2 "
                   "--micro-batch 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto json = common::ParseJson(r.output.substr(r.output.find('{')), "bench-step");
  ASSERT_TRUE(json.ok()) << json.status() << r.output;
  EXPECT_EQ(json->Find("rows")->AsDouble(), 4);
  EXPECT_EQ(json->Find("tokens_per_sequence")->AsDouble(), 9);
  const double seconds = json->Find("seconds_median")->AsDouble();
  EXPECT_GT(seconds, 0);
  EXPECT_NEAR(json->Find("tokens_per_s")->AsDouble(), 4 * 9 / seconds, 1e-5 * 36 / seconds);  // printed to 6 digits
  r = Gspo("bench-step " + config + "--samples 1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--samples >= 2"));
  r = Gspo("bench-step " + config + "--quantize fp4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--quantize: expected none, nf4, nf4-dq or int8, got 'fp4'"));
}

// bench-rollout refuses configuration names it would not run, rather than timing nothing.
TEST(GspoTool, BenchRolloutRefusesUnknownConfigurations) {
  const std::string config = "bench-rollout --random-config " + kModels + "llama/config.json --prompts 1 --samples 2 "
                             "--prompt-len 3 --new-tokens 2 --reps 1 ";
  ToolRun r = Gspo(config + "--quantize nf4 --configs base_eager");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--configs: expected names among base_graphs_nf4, base_eager_nf4, "
                                  "lora_r16_graphs_nf4, lora_r16_eager_nf4 (these flags), got 'base_eager'"));
  r = Gspo(config + "--device cpu --configs lora_r16_graphs");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--configs: lora_r16_graphs needs a CUDA device"));
  r = Gspo(config + "--device cpu --configs base_eager");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"config\": \"base_eager\""));
  EXPECT_THAT(r.output, Not(HasSubstr("lora_r16_eager")));
}

}  // namespace
}  // namespace gspo::engine
