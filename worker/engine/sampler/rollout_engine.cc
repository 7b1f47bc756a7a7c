#include "worker/engine/sampler/rollout_engine.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>

namespace gspo::engine {
namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

common::StatusOr<std::vector<Generation>> RolloutEngine::Generate(const RolloutRequest& request,
                                                                  RolloutTimings* timings) const {
  const std::int64_t p = static_cast<std::int64_t>(request.prompts.size());
  const std::int64_t g = request.samples_per_prompt;
  if (p == 0 || g < 1 || request.max_new_tokens < 1) {
    return common::InvalidArgumentError("rollout: expected prompts, samples_per_prompt >= 1 and "
                                        "max_new_tokens >= 1");
  }
  std::int64_t longest = 0;
  for (const auto& prompt : request.prompts) {
    if (prompt.empty()) return common::InvalidArgumentError("rollout: empty prompt");
    longest = std::max<std::int64_t>(longest, prompt.size());
  }
  c10::NoGradGuard no_grad;
  const at::Device device = model_->device();
  const auto long_opts = at::TensorOptions().dtype(at::kLong);

  // Left-padded prompts: every row's last prompt token sits in the last column.
  at::Tensor ids = at::zeros({p, longest}, long_opts);
  at::Tensor valid = at::zeros({p, longest}, long_opts.dtype(at::kBool));
  at::Tensor positions = at::zeros({p, longest}, long_opts);
  for (std::int64_t i = 0; i < p; ++i) {
    const auto& prompt = request.prompts[i];
    const std::int64_t n = prompt.size(), pad = longest - n;
    ids[i].narrow(0, pad, n).copy_(at::tensor(prompt, long_opts));
    valid[i].narrow(0, pad, n).fill_(true);
    positions[i].narrow(0, pad, n).copy_(at::arange(n, long_opts));
  }
  const auto start = std::chrono::steady_clock::now();
  KvCache cache(model_->config(), p, longest + request.max_new_tokens, model_->dtype(), device);
  ForwardInput prefill{ids.to(device), positions.to(device), valid.to(device), request.use_adapters};
  at::Tensor hidden = model_->Hidden(prefill, &cache);
  at::Tensor logits = model_->Logits(hidden.select(1, longest - 1));  // [P,V]

  // One prefill per prompt, shared by its G samples: copy the cache rows.
  at::Tensor rows = at::arange(p, long_opts).repeat_interleave(g).to(device);
  cache.SelectRows(rows);
  logits = logits.index_select(0, rows);
  at::Tensor next_position = at::tensor(std::vector<std::int64_t>(p), long_opts);
  for (std::int64_t i = 0; i < p; ++i) next_position[i] = static_cast<std::int64_t>(request.prompts[i].size());
  next_position = next_position.repeat_interleave(g).to(device);
  if (timings != nullptr) timings->prefill_seconds += Seconds(start);

  const auto decode_start = std::chrono::steady_clock::now();
  std::vector<Generation> out(p * g);
  for (std::int64_t r = 0; r < p * g; ++r) out[r].prompt_index = r / g;
  std::vector<std::int64_t> active(p * g);  // output index of each batch row
  for (std::int64_t r = 0; r < p * g; ++r) active[r] = r;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(request.seed);
  for (std::int64_t step = 0; step < request.max_new_tokens && !active.empty(); ++step) {
    SampledTokens next = SampleNext(logits, request.sampling, generator);
    at::Tensor tokens_cpu = next.tokens.to(at::kCPU);
    at::Tensor logprobs_cpu = next.logprobs.to(at::kCPU);
    std::vector<std::int64_t> keep;
    for (std::size_t r = 0; r < active.size(); ++r) {
      Generation& gen = out[active[r]];
      const std::int64_t token = tokens_cpu[r].item<std::int64_t>();
      gen.tokens.push_back(token);
      gen.logprobs.push_back(logprobs_cpu[r].item<float>());
      if (std::find(request.stop_ids.begin(), request.stop_ids.end(), token) != request.stop_ids.end()) {
        gen.finish = FinishReason::kStop;
      } else if (step + 1 < request.max_new_tokens) {
        keep.push_back(static_cast<std::int64_t>(r));
      }
    }
    if (keep.empty()) break;
    at::Tensor step_ids = next.tokens.unsqueeze(1);
    if (keep.size() < active.size()) {
      // Compaction: finished rows leave the batch and the cache.
      at::Tensor index = at::tensor(keep, long_opts).to(device);
      cache.SelectRows(index);
      step_ids = step_ids.index_select(0, index);
      next_position = next_position.index_select(0, index);
      std::vector<std::int64_t> still;
      for (std::int64_t r : keep) still.push_back(active[r]);
      active.swap(still);
    }
    ForwardInput decode{step_ids, next_position.unsqueeze(1), {}, request.use_adapters};
    logits = model_->Logits(model_->Hidden(decode, &cache).select(1, 0));
    next_position = next_position + 1;
    if (timings != nullptr) ++timings->decode_steps;
  }
  if (timings != nullptr) timings->decode_seconds += Seconds(decode_start);
  return out;
}

}  // namespace gspo::engine
