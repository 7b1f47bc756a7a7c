// gspo bench-step: whole GSPO steps on the peer baseline's setting, as the peer times its own
// (rollout of P x G rows with exactly --new-tokens tokens each, rewards, one learning phase on
// the prompts + completions); tokens/s counts every token of every sequence per step second.
// The reward is synthetic and cheap (the share of even token ids in a completion): what it
// rewards does not matter to the timing, only that groups get different rewards.
#include <chrono>
#include <iostream>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "worker/engine/device_memory.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/runtime.h"
#include "worker/engine/sampler/rollout_engine.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/tools/bench_command.h"
#include "worker/tools/bench_support.h"

namespace gspo::tools {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

common::Status BenchStep(const std::vector<std::string>& args) {
  Flags flags({"--model", "--random-config", "--device", "--dtype", "--reps", "--prompts", "--samples",
               "--prompt-len", "--new-tokens", "--temperature", "--top-p", "--lora-r", "--lora-targets",
               "--micro-batch", "--quantize"},
              {"--gradient-checkpointing"});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(const RolloutSetting setting, ParseRolloutSetting("bench-step", flags));
  const std::int64_t reps = setting.reps, prompts = setting.prompts, samples = setting.samples;
  const std::int64_t prompt_len = setting.prompt_len, new_tokens = setting.new_tokens;
  GSPO_ASSIGN_OR_RETURN(std::int64_t micro_batch, flags.Int("--micro-batch", 8));
  if (samples < 2 || micro_batch < 1) {
    return common::InvalidArgumentError("bench-step: sizes must be >= 1 and --samples >= 2 (a group)");
  }
  engine::ConfigureRuntime();
  GSPO_ASSIGN_OR_RETURN(LoadedModel loaded, LoadBenchModel(flags));
  std::unique_ptr<engine::DecoderModel> model = std::move(loaded.model);
  const at::Device device = loaded.device;
  const std::string quantize = flags.Get("--quantize", "none");
  GSPO_RETURN_IF_ERROR(QuantizeFromFlag("bench-step", quantize, model.get()));
  GSPO_ASSIGN_OR_RETURN(auto adapters, engine::LoraAdapters::Attach(model.get(), LoraFromFlags(flags, setting.lora_r)));
  engine::AdamW optimizer(adapters->Parameters(), engine::AdamWConfig{});
  engine::LearnerConfig config;
  config.micro_batch = micro_batch;
  config.temperature = setting.temperature;
  config.gradient_checkpointing = flags.Has("--gradient-checkpointing");
  engine::PolicyLearner learner(model.get(), adapters.get(), &optimizer, config);

  at::Tensor prompt_ids;
  engine::RolloutRequest request = RandomPromptsRequest(setting, model->config().vocab_size, /*seed=*/3, &prompt_ids);
  const std::int64_t rows = prompts * samples, length = prompt_len + new_tokens;
  std::vector<double> step_s, rollout_s, learn_s;
  std::int64_t peak = 0;
  for (std::int64_t r = 0; r <= reps; ++r) {  // the first step warms up
    engine::ResetPeakMemory(device);
    const auto start = Clock::now();
    request.seed = static_cast<std::uint64_t>(r);
    std::vector<engine::Generation> generations;
    {
      c10::NoGradGuard no_grad;
      GSPO_ASSIGN_OR_RETURN(generations, engine::RolloutEngine(model.get()).Generate(request));
    }
    const double rolled = Since(start);
    engine::TrainBatch batch;
    batch.ids = at::zeros({rows, length}, at::kLong);
    batch.valid = at::ones({rows, length}, at::kBool);
    batch.assistant_mask = at::zeros({rows, length}, at::kBool);
    batch.assistant_mask.narrow(1, prompt_len, new_tokens).fill_(true);
    batch.old_logp = at::zeros({rows, length}, at::kFloat);
    batch.rewards = at::zeros({rows}, at::kFloat);
    batch.group_size = samples;
    for (std::int64_t i = 0; i < rows; ++i) {
      const engine::Generation& gen = generations[i];
      if (static_cast<std::int64_t>(gen.tokens.size()) != new_tokens) {
        return common::InternalError("bench-step: a row generated " + std::to_string(gen.tokens.size()) +
                                     " tokens, expected " + std::to_string(new_tokens));
      }
      batch.ids[i].narrow(0, 0, prompt_len).copy_(prompt_ids[i / samples]);
      batch.ids[i].narrow(0, prompt_len, new_tokens).copy_(at::tensor(gen.tokens, at::kLong));
      batch.old_logp[i].narrow(0, prompt_len, new_tokens).copy_(at::tensor(gen.logprobs));
      std::int64_t even = 0;
      for (std::int64_t token : gen.tokens) even += token % 2 == 0;
      batch.rewards[i] = static_cast<float>(even) / static_cast<float>(new_tokens);
    }
    GSPO_RETURN_IF_ERROR(learner.Learn(batch, [](std::int64_t) { return 1e-5; }).status());
    Sync(adapters->Parameters().front());
    const double total = Since(start);
    if (r == 0) continue;
    step_s.push_back(total);
    rollout_s.push_back(rolled);
    learn_s.push_back(total - rolled);
    peak = std::max(peak, engine::QueryDeviceMemory(device).peak_allocated);
  }
  const double median = Median(step_s);
  std::cout << "{\"config\": \"step_lora_r" << setting.lora_r << (config.gradient_checkpointing ? "_gc" : "")
            << (quantize != "none" ? "_" + quantize : "") << "\", \"rows\": " << rows
            << ", \"tokens_per_sequence\": " << length << ", \"seconds\": " << JsonList(step_s)
            << ", \"seconds_median\": " << median << ", \"rollout_seconds\": " << JsonList(rollout_s)
            << ", \"learn_seconds\": " << JsonList(learn_s) << ", \"tokens_per_s\": " << rows * length / median
            << ", \"peak_GiB\": " << static_cast<double>(peak) / (1 << 30) << "}" << std::endl;
  return common::Status::Ok();
}

}  // namespace

int RunBenchStep(const std::vector<std::string>& args) {
  return GuardedCommand("bench-step", [&] { return BenchStep(args); });
}

}  // namespace gspo::tools
