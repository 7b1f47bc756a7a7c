#include "worker/tools/bench_command.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "worker/engine/model/decoder_model.h"
#include "worker/engine/runtime.h"
#include "worker/tools/flags.h"
#include "worker/tools/model_commands.h"

namespace gspo::tools {
namespace {

using Clock = std::chrono::steady_clock;

// Waits for the device: copying a scalar to the host waits for the stream's earlier work.
void Sync(const at::Tensor& t) { (void)t.sum().item<double>(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string JsonList(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

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

}  // namespace

int RunBenchModel(const std::vector<std::string>& args) {
  return GuardedCommand("bench-model", [&] { return Bench(args); });
}

}  // namespace gspo::tools
