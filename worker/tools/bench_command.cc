#include "worker/tools/bench_command.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "common/files.h"
#include "common/strings.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/weight_names.h"
#include "worker/engine/runtime.h"
#include "worker/engine/sampler/decode_graph.h"
#include "worker/engine/sampler/rollout_engine.h"
#include "worker/engine/device_memory.h"
#include "worker/engine/env_switch.h"
#include "worker/engine/train/adamw.h"
#include "worker/engine/train/policy_learner.h"
#include "worker/engine/train/token_logprobs.h"
#include "worker/tools/flags.h"
#include "worker/tools/bench_support.h"
#include "worker/tools/kernel_trace.h"
#include "worker/tools/op_counter.h"
#include "worker/tools/model_commands.h"

namespace gspo::tools {
namespace {

using Clock = std::chrono::steady_clock;

common::Status Bench(const std::vector<std::string>& args) {
  Flags flags({"--model", "--device", "--dtype", "--reps", "--prefill-batch", "--prefill-len",
               "--decode-batch", "--decode-prompt", "--decode-steps"},
              {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::int64_t reps, flags.Int("--reps", 5));
  GSPO_ASSIGN_OR_RETURN(std::int64_t pb, flags.Int("--prefill-batch", 8));
  GSPO_ASSIGN_OR_RETURN(std::int64_t pt, flags.Int("--prefill-len", 512));
  GSPO_ASSIGN_OR_RETURN(std::int64_t db, flags.Int("--decode-batch", 64));
  GSPO_ASSIGN_OR_RETURN(std::int64_t dp, flags.Int("--decode-prompt", 128));
  GSPO_ASSIGN_OR_RETURN(std::int64_t steps, flags.Int("--decode-steps", 64));
  if (reps < 1 || pb < 1 || pt < 1 || db < 1 || dp < 1 || steps < 1) {
    return common::InvalidArgumentError("bench-model: every size must be >= 1");
  }
  engine::ConfigureRuntime();
  GSPO_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelFromFlags(flags));
  const engine::DecoderModel& model = *loaded.model;
  const auto opts = at::TensorOptions().device(loaded.device).dtype(at::kLong);
  c10::NoGradGuard no_grad;
  at::manual_seed(0);

  // Prefill: full forward (logits of every position) over [pb, pt].
  at::Tensor ids = at::randint(3, model.config().vocab_size, {pb, pt}, opts);
  std::vector<double> prefill_ms;
  for (std::int64_t r = 0; r <= reps; ++r) {
    Sync(ids);
    const auto start = Clock::now();
    Sync(model.Forward({ids, {}, {}}));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (r > 0) prefill_ms.push_back(ms);  // the first run warms up
  }

  // Decode: prefill [db, dp] into a cache, then greedy one-token steps.
  std::vector<double> step_ms;
  for (std::int64_t r = 0; r <= std::min<std::int64_t>(reps, 3); ++r) {
    engine::KvCache cache(model.config(), db, dp + steps, model.dtype(), loaded.device);
    at::Tensor prompt = at::randint(3, model.config().vocab_size, {db, dp}, opts);
    at::Tensor hidden = model.Hidden({prompt, {}, {}}, &cache);
    at::Tensor next = model.Logits(hidden.select(1, dp - 1)).argmax(-1, true);
    Sync(next);
    const auto start = Clock::now();
    for (std::int64_t s = 0; s < steps; ++s) {
      next = model.Logits(model.Hidden({next, {}, {}}, &cache).select(1, 0)).argmax(-1, true);
    }
    Sync(next);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (r > 0) step_ms.push_back(ms / steps);
  }
  const double prefill = Median(prefill_ms);
  std::cout << "{\"prefill_batch\": " << pb << ", \"prefill_len\": " << pt
            << ", \"prefill_ms\": " << JsonList(prefill_ms)
            << ", \"prefill_tokens_per_s\": " << (pb * pt) / (prefill / 1000.0)
            << ", \"decode_batch\": " << db << ", \"decode_prompt\": " << dp
            << ", \"decode_steps\": " << steps << ", \"decode_step_ms\": " << JsonList(step_ms)
            << ", \"decode_step_ms_median\": " << Median(step_ms)
            << ", \"decode_tokens_per_s\": " << db / (Median(step_ms) / 1000.0) << "}\n";
  return common::Status::Ok();
}

// gspo bench-rollout: the rollout engine on the GSPO baseline's setting (P prompts x G samples,
// random prompt ids, exactly --new-tokens sampled tokens), with and without CUDA graphs, with and
// without LoRA adapters; one JSON object per configuration on stdout.
common::Status BenchRollout(const std::vector<std::string>& args) {
  Flags flags({"--model", "--random-config", "--device", "--dtype", "--reps", "--prompts", "--samples",
               "--prompt-len", "--new-tokens", "--temperature", "--top-p", "--lora-r", "--lora-targets",
               "--quantize", "--configs"},
              {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(const RolloutSetting setting, ParseRolloutSetting("bench-rollout", flags));
  const std::int64_t reps = setting.reps, prompts = setting.prompts, samples = setting.samples;
  const std::int64_t prompt_len = setting.prompt_len, new_tokens = setting.new_tokens, lora_r = setting.lora_r;
  const std::string quantize = flags.Get("--quantize", "none");
  const auto config_name = [&](bool with_lora, bool graphs) {
    return (with_lora ? "lora_r" + std::to_string(lora_r) : std::string("base")) + (graphs ? "_graphs" : "_eager") +
           (quantize != "none" ? "_" + quantize : "");
  };
  // --configs base_graphs,lora_r16_eager,...: only those (default: all four). A name that matches
  // none would silently time nothing.
  std::vector<std::string> only = common::Split(flags.Get("--configs", ""), ',');
  if (only.size() == 1 && only.front().empty()) only.clear();
  const std::vector<std::string> names = {config_name(false, true), config_name(false, false),
                                          config_name(true, true), config_name(true, false)};
  for (const std::string& name : only) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return common::InvalidArgumentError("bench-rollout: --configs: expected names among " + common::Join(names, ", ") +
                                          " (these flags), got '" + name + "'");
    }
  }
  engine::ConfigureRuntime();
  GSPO_ASSIGN_OR_RETURN(LoadedModel loaded, LoadBenchModel(flags));
  std::unique_ptr<engine::DecoderModel> model = std::move(loaded.model);
  const at::Device device = loaded.device;
  for (const std::string& name : only) {
    if (!device.is_cuda() && (name == config_name(false, true) || name == config_name(true, true))) {
      return common::InvalidArgumentError("bench-rollout: --configs: " + name + " needs a CUDA device (CUDA graphs)");
    }
  }
  GSPO_RETURN_IF_ERROR(QuantizeFromFlag("bench-rollout", quantize, model.get()));
  c10::NoGradGuard no_grad;
  engine::RolloutRequest request = RandomPromptsRequest(setting, model->config().vocab_size, /*seed=*/1);
  std::unique_ptr<engine::LoraAdapters> adapters;
  const engine::LoraConfig lora = LoraFromFlags(flags, lora_r);
  for (const bool with_lora : {false, true}) {
    if (with_lora) {
      GSPO_ASSIGN_OR_RETURN(adapters, engine::LoraAdapters::Attach(model.get(), lora));
    }
    request.use_adapters = with_lora;
    for (const bool graphs : {true, false}) {
      if (graphs && !device.is_cuda()) continue;
      const std::string name = config_name(with_lora, graphs);
      if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
      ::setenv("GSPO_CUDA_GRAPHS", graphs ? "1" : "0", 1);
      std::vector<double> seconds, decode_ms;
      engine::RolloutTimings last;
      for (std::int64_t r = 0; r <= reps; ++r) {  // the first run warms up
        request.seed = static_cast<std::uint64_t>(r);
        engine::RolloutTimings timings;
        const auto start = Clock::now();
        GSPO_ASSIGN_OR_RETURN(std::vector<engine::Generation> out, engine::RolloutEngine(model.get()).Generate(request, &timings));
        const double s = std::chrono::duration<double>(Clock::now() - start).count();
        std::int64_t produced = 0;
        for (const auto& gen : out) produced += static_cast<std::int64_t>(gen.tokens.size());
        if (produced != prompts * samples * new_tokens) {
          return common::InternalError("bench-rollout: " + std::to_string(produced) + " tokens, expected " +
                                       std::to_string(prompts * samples * new_tokens));
        }
        if (r == 0) continue;
        seconds.push_back(s);
        decode_ms.push_back(1000.0 * timings.decode_seconds / std::max<std::int64_t>(1, timings.decode_steps));
        last = timings;
      }
      const double median = Median(seconds);
      std::cout << "{\"config\": \"" << name << "\", \"rows\": " << prompts * samples
                << ", \"prompt_len\": " << prompt_len << ", \"new_tokens\": " << new_tokens
                << ", \"seconds\": " << JsonList(seconds) << ", \"seconds_median\": " << median
                << ", \"generated_tokens_per_s\": " << prompts * samples * new_tokens / median
                << ", \"decode_step_ms\": " << JsonList(decode_ms) << ", \"decode_step_ms_median\": " << Median(decode_ms)
                << ", \"prefill_s\": " << last.prefill_seconds << ", \"graph_captures\": " << last.graph_captures
                << "}" << std::endl;
    }
  }
  ::unsetenv("GSPO_CUDA_GRAPHS");
  return common::Status::Ok();
}

// gspo bench-learner: one GSPO learning phase (forward with LoRA, chunked log-probs of the
// completion tokens, GSPO loss, backward, AdamW) over N sequences of prompt + completion tokens
// in micro-batches, as the peer baseline's learner does; tokens/s counts every token of every
// sequence, and the peak is the allocator's during the timed phase, optimizer steps included
// (with --optimizer-offload, AdamW's moments stay in host memory). As after a GSPO rollout, the
// sequences come in groups of --samples (default 8) that share their prompt; the learner runs
// each group's prompt once (as a GSPO job does), or every row in full with --no-prompt-sharing
// (the peer's way: it reports "prompt_sharing"). One JSON
// object. --trace PATH records one more learning phase after the timed ones with LibTorch's
// profiler (bench/gpu/trace_summary.py reads it); --op-counts counts the operators of one more
// phase ("op_counts" in the object: all, top-level, and the top-level names called most). The
// figures come from the untraced, uncounted runs.
common::Status BenchLearner(const std::vector<std::string>& args) {
  Flags flags({"--model", "--random-config", "--device", "--dtype", "--reps", "--sequences", "--samples",
               "--prompt-len", "--completion-len", "--micro-batch", "--lora-r", "--lora-targets", "--quantize",
               "--trace"},
              {"--gradient-checkpointing", "--optimizer-offload", "--no-prompt-sharing", "--op-counts"});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::int64_t reps, flags.Int("--reps", 3));
  GSPO_ASSIGN_OR_RETURN(std::int64_t n, flags.Int("--sequences", 64));
  GSPO_ASSIGN_OR_RETURN(std::int64_t prompt_len, flags.Int("--prompt-len", 128));
  GSPO_ASSIGN_OR_RETURN(std::int64_t completion_len, flags.Int("--completion-len", 256));
  GSPO_ASSIGN_OR_RETURN(std::int64_t micro_batch, flags.Int("--micro-batch", 8));
  GSPO_ASSIGN_OR_RETURN(std::int64_t lora_r, flags.Int("--lora-r", 16));
  GSPO_ASSIGN_OR_RETURN(std::int64_t samples, flags.Int("--samples", 8));
  if (reps < 1 || n < 2 || prompt_len < 1 || completion_len < 1 || micro_batch < 1 || lora_r < 1 || samples < 2 ||
      n % samples != 0) {
    return common::InvalidArgumentError(
        "sizes must be >= 1, --samples >= 2, and --sequences a multiple of --samples");
  }
  engine::ConfigureRuntime();
  const std::string quantize = flags.Get("--quantize", "none");
  GSPO_ASSIGN_OR_RETURN(LoadedModel loaded, LoadBenchModel(flags));
  std::unique_ptr<engine::DecoderModel> model = std::move(loaded.model);
  const at::Device device = loaded.device;
  GSPO_RETURN_IF_ERROR(QuantizeFromFlag("bench-learner", quantize, model.get()));
  GSPO_ASSIGN_OR_RETURN(auto adapters, engine::LoraAdapters::Attach(model.get(), LoraFromFlags(flags, lora_r)));
  engine::AdamWConfig adamw;
  adamw.offload_state = flags.Has("--optimizer-offload");
  engine::AdamW optimizer(adapters->Parameters(), adamw);
  engine::LearnerConfig config;
  config.micro_batch = micro_batch;
  config.gradient_checkpointing = flags.Has("--gradient-checkpointing");
  config.share_prompts = !flags.Has("--no-prompt-sharing");
  engine::PolicyLearner learner(model.get(), adapters.get(), &optimizer, config);

  const std::int64_t t = prompt_len + completion_len;
  at::manual_seed(2);
  engine::TrainBatch batch;
  batch.ids = at::randint(3, model->config().vocab_size, {n, t}, at::kLong);
  for (std::int64_t row = 0; row < n; ++row) {  // each group's samples continue one prompt
    batch.ids[row].narrow(0, 0, prompt_len).copy_(batch.ids[row - row % samples].narrow(0, 0, prompt_len));
  }
  batch.valid = at::ones({n, t}, at::kBool);
  batch.assistant_mask = at::zeros({n, t}, at::kBool);
  batch.assistant_mask.narrow(1, prompt_len, completion_len).fill_(true);
  batch.rewards = at::randn({n});
  batch.group_size = samples;
  {
    // pi_old = the current policy, as on the first update after a rollout (ratio 1).
    c10::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    for (std::int64_t start = 0; start < n; start += micro_batch) {
      const std::int64_t len = std::min(micro_batch, n - start);
      at::Tensor ids = batch.ids.narrow(0, start, len).to(device);
      at::Tensor hidden = model->Hidden({ids, {}, {}});
      parts.push_back(engine::ComputeTokenLogProbs(*model, hidden, ids,
                                                   batch.assistant_mask.narrow(0, start, len).to(device), 1.0)
                          .logp.to(at::kCPU));
    }
    batch.old_logp = at::cat(parts, 0);
  }
  std::vector<double> seconds;
  std::int64_t peak = 0;
  for (std::int64_t r = 0; r <= reps; ++r) {  // the first run warms up
    engine::ResetPeakMemory(device);
    Sync(batch.rewards.to(device));
    const auto start = Clock::now();
    GSPO_RETURN_IF_ERROR(learner.Learn(batch, [](std::int64_t) { return 1e-5; }).status());
    Sync(adapters->Parameters().front());
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    if (r == 0) continue;
    seconds.push_back(s);
    peak = std::max(peak, engine::QueryDeviceMemory(device).peak_allocated);
  }
  std::string op_counts;
  if (flags.Has("--op-counts")) {
    OpCounter counter;
    GSPO_RETURN_IF_ERROR(counter.Start());
    GSPO_RETURN_IF_ERROR(learner.Learn(batch, [](std::int64_t) { return 1e-5; }).status());
    Sync(adapters->Parameters().front());
    counter.Stop();
    op_counts = ", \"op_counts\": " + counter.ToJson(30);
  }
  const double median = Median(seconds);
  std::cout << "{\"config\": \"lora_r" << lora_r << "_" << flags.Get("--lora-targets", "q_proj,k_proj,v_proj,o_proj")
            << (config.gradient_checkpointing ? "_gc" : "") << (quantize != "none" ? "_" + quantize : "")
            << "\", \"weights_GiB\": " << static_cast<double>(model->WeightBytes()) / (1 << 30)
            << ", \"sequences\": " << n
            << ", \"tokens_per_sequence\": " << t
            << ", \"micro_batch\": " << micro_batch
            << ", \"optimizer_offload\": " << (adamw.offload_state ? "true" : "false")
            << ", \"samples_per_prompt\": " << samples
            << ", \"prompt_sharing\": " << (config.share_prompts && engine::SwitchedOn("GSPO_PROMPT_SHARING") ? "true" : "false")
            << ", \"seconds\": " << JsonList(seconds)
            << ", \"seconds_median\": " << median << ", \"tokens_per_s\": " << n * t / median
            << ", \"peak_GiB\": " << static_cast<double>(peak) / (1 << 30) << op_counts << "}" << std::endl;
  if (flags.Has("--trace")) {  // after the figures are out, so a failed trace loses none
    KernelTrace trace;
    GSPO_RETURN_IF_ERROR(trace.Start(device.is_cuda()));
    GSPO_RETURN_IF_ERROR(learner.Learn(batch, [](std::int64_t) { return 1e-5; }).status());
    Sync(adapters->Parameters().front());
    GSPO_RETURN_IF_ERROR(trace.Finish(flags.Get("--trace", "")));
  }
  return common::Status::Ok();
}

}  // namespace

int RunBenchLearner(const std::vector<std::string>& args) {
  return GuardedCommand("bench-learner", [&] { return BenchLearner(args); });
}

int RunBenchRollout(const std::vector<std::string>& args) {
  return GuardedCommand("bench-rollout", [&] { return BenchRollout(args); });
}

int RunBenchModel(const std::vector<std::string>& args) {
  return GuardedCommand("bench-model", [&] { return Bench(args); });
}

}  // namespace gspo::tools
