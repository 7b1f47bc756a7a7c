// The rollout engine on CUDA: the CUDA-graph decode path gives the same tokens as running the
// step directly and as the transformers greedy golden, compaction re-records the graph without
// changing any row, and bf16 sampled log-probs agree with the learner's recomputation.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"
#include "worker/engine/sampler/rollout_engine.h"
#include "worker/engine/train/token_logprobs.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";

std::unique_ptr<DecoderModel> Load(const std::string& arch, at::ScalarType dtype) {
  auto model = DecoderModel::Load(kModels + arch, dtype, at::Device("cuda:0"));
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(*model);
}

std::vector<std::int64_t> GoldenRow(const std::string& arch, std::int64_t row, std::int64_t start,
                                    std::int64_t len) {
  auto file = SafetensorsFile::Open(kModels + arch + "/golden.safetensors");
  EXPECT_TRUE(file.ok());
  at::Tensor slice = ViewAsTensor(*(*file)->Find("greedy"))[row].narrow(0, start, len).contiguous();
  return {slice.data_ptr<std::int64_t>(), slice.data_ptr<std::int64_t>() + len};
}

std::vector<Generation> GenerateWithGraphs(const DecoderModel& model, const RolloutRequest& request,
                                           bool graphs, RolloutTimings* timings) {
  ::setenv("GSPO_CUDA_GRAPHS", graphs ? "1" : "0", 1);
  auto out = RolloutEngine(&model).Generate(request, timings);
  ::unsetenv("GSPO_CUDA_GRAPHS");
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : std::vector<Generation>();
}

TEST(GpuRollout, GraphDecodeEqualsDirectDecodeAndTheGreedyGolden) {
  auto model = Load("gemma2", at::kFloat);
  RolloutRequest request;
  request.prompts = {GoldenRow("gemma2", 0, 0, 40), GoldenRow("gemma2", 1, 0, 40)};
  request.max_new_tokens = 30;
  request.sampling.greedy = true;
  RolloutTimings with, without;
  auto a = GenerateWithGraphs(*model, request, true, &with);
  auto b = GenerateWithGraphs(*model, request, false, &without);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(with.graph_captures, 1);
  EXPECT_EQ(without.graph_captures, 0);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(a[r].tokens, b[r].tokens) << r;
    EXPECT_EQ(a[r].tokens, GoldenRow("gemma2", r, 40, 30)) << r;
  }
}

TEST(GpuRollout, CompactionRecordsTheGraphAgainAndKeepsEveryRow) {
  auto model = Load("qwen3", at::kFloat);
  RolloutRequest request;
  request.prompts = {{5, 6, 7, 8}, {9, 10, 11, 12}};
  request.samples_per_prompt = 4;
  request.max_new_tokens = 40;
  request.sampling.temperature = 0.9;
  request.seed = 3;
  auto full = GenerateWithGraphs(*model, request, true, nullptr);
  ASSERT_EQ(full.size(), 8u);
  RolloutRequest stopping = request;
  stopping.stop_ids = {full[0].tokens[2]};
  RolloutTimings timings;
  auto cut = GenerateWithGraphs(*model, stopping, true, &timings);
  int stopped = 0;
  for (std::size_t r = 0; r < full.size(); ++r) {
    const auto& f = full[r].tokens;
    auto at = std::find(f.begin(), f.end(), stopping.stop_ids[0]);
    EXPECT_EQ(cut[r].tokens, std::vector<std::int64_t>(f.begin(), at == f.end() ? f.end() : at + 1)) << r;
    stopped += at != f.end();
  }
  ASSERT_GE(stopped, 1);
  // Rows still running after the first check leave the batch there: one more recording.
  if (stopped < 8) EXPECT_GE(timings.graph_captures, 2);
}

TEST(GpuRollout, Bf16SampledLogProbsMatchTheLearner) {
  auto model = Load("gemma2", at::kBFloat16);
  RolloutRequest request;
  request.prompts = {GoldenRow("gemma2", 0, 0, 40), GoldenRow("gemma2", 1, 0, 24)};
  request.samples_per_prompt = 4;
  request.max_new_tokens = 32;
  request.sampling.temperature = 0.7;
  request.sampling.top_p = 0.9;
  auto out = GenerateWithGraphs(*model, request, true, nullptr);
  c10::NoGradGuard no_grad;
  double sum = 0;
  std::int64_t count = 0;
  for (const Generation& gen : out) {
    std::vector<std::int64_t> seq = request.prompts[gen.prompt_index];
    const std::int64_t prompt_len = seq.size();
    seq.insert(seq.end(), gen.tokens.begin(), gen.tokens.end());
    at::Tensor ids = at::tensor(seq, at::kLong).unsqueeze(0).to(model->device());
    at::Tensor mask = at::zeros_like(ids, at::kBool);
    mask.narrow(1, prompt_len, gen.tokens.size()).fill_(true);
    at::Tensor logp = ComputeTokenLogProbs(*model, model->Hidden({ids, {}, {}}), ids, mask, 0.7).logp.to(at::kCPU);
    for (std::size_t t = 0; t < gen.tokens.size(); ++t) {
      sum += std::abs(logp[0][prompt_len + t].item<float>() - gen.logprobs[t]);
      ++count;
    }
  }
  ASSERT_GT(count, 0);
  EXPECT_LE(sum / count, 2e-2) << "mean |sampled - recomputed| log-prob over " << count << " tokens";
}

}  // namespace
}  // namespace gspo::engine
