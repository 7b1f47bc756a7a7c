#include "worker/engine/sampler/rollout_engine.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/sampler/decode_graph.h"

namespace gspo::engine {
namespace {

// Steps between two looks at which rows have stopped: each look waits for the device.
constexpr std::int64_t kCheckEvery = 8;

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The batch being decoded. Every tensor lives on the model's device and is addressed by a
// recorded step graph, so it is only ever written in place, until compaction replaces it.
struct DecodeBatch {
  at::Tensor ids;        // [B,1] int64: the token each row feeds next
  at::Tensor positions;  // [B,1] int64: its position
  at::Tensor column;     // [1] int64: the cache column it is written to (the same for all rows)
  at::Tensor logits;     // [B,V]: the step's output
  at::Tensor rows;       // [B] int64: each row's output index
  at::Tensor uniforms;   // [B,N] float32: each row's draws
  at::Tensor finished;   // [B] bool: the row has emitted a stop id

  std::int64_t size() const { return ids.size(0); }

  void Keep(const at::Tensor& index) {
    ids = ids.index_select(0, index);
    positions = positions.index_select(0, index);
    logits = logits.index_select(0, index);
    rows = rows.index_select(0, index);
    uniforms = uniforms.index_select(0, index);
    finished = finished.index_select(0, index);
  }
};

}  // namespace

common::StatusOr<std::vector<Generation>> RolloutEngine::Generate(const RolloutRequest& request,
                                                                  RolloutTimings* timings) const {
  const std::int64_t p = static_cast<std::int64_t>(request.prompts.size());
  const std::int64_t g = request.samples_per_prompt;
  const std::int64_t n = request.max_new_tokens;
  if (p == 0 || g < 1 || n < 1) {
    return common::InvalidArgumentError("rollout: expected prompts, samples_per_prompt >= 1 and "
                                        "max_new_tokens >= 1");
  }
  if (!request.row_seeds.empty() && static_cast<std::int64_t>(request.row_seeds.size()) != p * g) {
    return common::InvalidArgumentError("rollout: " + std::to_string(request.row_seeds.size()) +
                                        " row seeds for " + std::to_string(p * g) + " rows");
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
    const std::int64_t len = prompt.size(), pad = longest - len;
    ids[i].narrow(0, pad, len).copy_(at::tensor(prompt, long_opts));
    valid[i].narrow(0, pad, len).fill_(true);
    positions[i].narrow(0, pad, len).copy_(at::arange(len, long_opts));
  }
  const auto start = std::chrono::steady_clock::now();
  if (request.use_adapters && model_->FusedDecodeAvailable()) model_->PrepareDecodeAdapters();
  // The fused sampler (one kernel per step, no vocabulary sort) takes raw logits and caps them
  // itself; top-k keeps the reference sampler.
  const std::int64_t vocab = model_->config().vocab_size;
  const SamplingParams& sampling = request.sampling;
  const bool fused_sampling = model_->FusedDecodeAvailable() &&
                              (sampling.greedy || sampling.top_k <= 0 || sampling.top_k >= vocab);
  const std::optional<double> softcap = model_->config().final_logit_softcap;
  KvCache cache(model_->config(), p, longest + n, model_->dtype(), device);
  ForwardInput prefill{ids.to(device), positions.to(device), valid.to(device), request.use_adapters};
  const at::Tensor prompt_hidden = model_->Hidden(prefill, &cache).select(1, longest - 1);
  at::Tensor prompt_logits = fused_sampling ? model_->RawLogits(prompt_hidden) : model_->Logits(prompt_hidden);

  // One prefill per prompt, shared by its G samples: copy the cache rows.
  const std::int64_t total = p * g;
  at::Tensor prompt_of_row = at::arange(p, long_opts).repeat_interleave(g);
  cache.SelectRows(prompt_of_row.to(device));
  if (timings != nullptr) timings->kv_cache_bytes = std::max(timings->kv_cache_bytes, cache.Bytes());
  std::vector<std::uint64_t> seeds = request.row_seeds;
  std::vector<std::int64_t> next_position(total);
  for (std::int64_t r = 0; r < total; ++r) {
    if (request.row_seeds.empty()) seeds.push_back(RowSeed(request.seed, r / g, r % g));
    next_position[r] = static_cast<std::int64_t>(request.prompts[r / g].size());
  }
  DecodeBatch batch;
  batch.ids = at::zeros({total, 1}, long_opts.device(device));
  batch.positions = at::tensor(next_position, long_opts).unsqueeze(1).to(device);
  batch.column = at::full({1}, longest, long_opts.device(device));
  batch.logits = prompt_logits.index_select(0, prompt_of_row.to(device));
  batch.rows = at::arange(total, long_opts.device(device));
  batch.uniforms = RowUniforms(seeds, n).to(device);
  batch.finished = at::zeros({total}, long_opts.dtype(at::kBool).device(device));
  at::Tensor stop;
  if (!request.stop_ids.empty()) stop = at::tensor(request.stop_ids, long_opts).to(device);
  at::Tensor out_tokens = at::zeros({total, n}, long_opts.device(device));
  at::Tensor out_logprobs = at::zeros({total, n}, at::TensorOptions(device).dtype(at::kFloat));
  if (timings != nullptr) timings->prefill_seconds += Seconds(start);

  const auto decode_start = std::chrono::steady_clock::now();
  const auto sample = [&](std::int64_t step) {
    if (fused_sampling) {
      fused::Sample({batch.logits, softcap ? *softcap : 0.0, sampling.temperature, sampling.top_p, sampling.greedy,
                     batch.uniforms, step, batch.rows, out_tokens, out_logprobs, batch.ids, stop, batch.finished});
      return;
    }
    SampledTokens next = SampleNext(batch.logits, request.sampling, batch.uniforms.select(1, step));
    out_tokens.select(1, step).index_copy_(0, batch.rows, next.tokens);
    out_logprobs.select(1, step).index_copy_(0, batch.rows, next.logprobs);
    if (stop.defined()) batch.finished.logical_or_(at::isin(next.tokens, stop));
    batch.ids.copy_(next.tokens.unsqueeze(1));
  };
  const auto model_step = [&] {
    ForwardInput input{batch.ids, batch.positions, {}, request.use_adapters, false, batch.column};
    const at::Tensor hidden = model_->Hidden(input, &cache).select(1, 0);
    if (fused_sampling) {
      model_->RawLogitsInto(hidden, batch.logits);
    } else {
      batch.logits.copy_(model_->Logits(hidden));
    }
  };
  sample(0);
  std::unique_ptr<StepGraph> graph;
  bool recorded = false;  // for the current batch size
  for (std::int64_t step = 1; step < n; ++step) {
    if (stop.defined() && step % kCheckEvery == 0) {
      const at::Tensor running = batch.finished.logical_not();
      const std::int64_t left = running.sum().item<std::int64_t>();
      if (left == 0) break;
      // Compaction: finished rows leave the batch and the cache once they are a quarter of it.
      if (4 * (batch.size() - left) >= batch.size()) {
        const at::Tensor keep = running.nonzero().squeeze(1);
        cache.SelectRows(keep);
        batch.Keep(keep);
        graph.reset();
        recorded = false;
      }
    }
    if (!recorded) {
      graph = StepGraph::Capture(device, model_step);
      recorded = true;
      if (graph && timings != nullptr) ++timings->graph_captures;
    }
    if (graph) {
      graph->Replay();
    } else {
      model_step();
    }
    sample(step);
    batch.positions.add_(1);
    batch.column.add_(1);
    if (timings != nullptr) {
      ++timings->decode_steps;
      timings->row_steps += batch.size();
    }
  }

  const at::Tensor tokens_cpu = out_tokens.to(at::kCPU);
  const at::Tensor logprobs_cpu = out_logprobs.to(at::kCPU);
  if (timings != nullptr) timings->decode_seconds += Seconds(decode_start);
  const std::set<std::int64_t> stops(request.stop_ids.begin(), request.stop_ids.end());
  std::vector<Generation> out(total);
  for (std::int64_t r = 0; r < total; ++r) {
    Generation& gen = out[r];
    gen.prompt_index = r / g;
    const std::int64_t* row_tokens = tokens_cpu[r].data_ptr<std::int64_t>();
    const float* row_logprobs = logprobs_cpu[r].data_ptr<float>();
    for (std::int64_t t = 0; t < n; ++t) {
      gen.tokens.push_back(row_tokens[t]);
      gen.logprobs.push_back(row_logprobs[t]);
      if (stops.count(row_tokens[t])) {
        gen.finish = FinishReason::kStop;
        break;
      }
    }
  }
  return out;
}

}  // namespace gspo::engine
