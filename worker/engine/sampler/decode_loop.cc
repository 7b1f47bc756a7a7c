#include "worker/engine/sampler/decode_loop.h"

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

DecodeEnd DecodeRows(const DecoderModel& model, const RolloutRequest& request, DecodeStart s,
                     RolloutTimings* timings) {
  const at::Device device = model.device();
  const auto long_opts = at::TensorOptions().dtype(at::kLong);
  const std::int64_t total = static_cast<std::int64_t>(s.next_position.size());
  const std::int64_t n = request.max_new_tokens;
  const SamplingParams& sampling = request.sampling;
  const std::optional<double> softcap = model.config().final_logit_softcap;
  KvCache& cache = *s.cache;
  DecodeBatch batch;
  batch.ids = at::zeros({total, 1}, long_opts.device(device));
  batch.positions = at::tensor(s.next_position, long_opts).unsqueeze(1).to(device);
  batch.column = at::full({1}, s.column, long_opts.device(device));
  batch.logits = s.logits;
  batch.rows = at::arange(total, long_opts.device(device));
  batch.uniforms = RowUniforms(s.seeds, n).to(device);
  batch.finished = at::zeros({total}, long_opts.dtype(at::kBool).device(device));
  at::Tensor stop;
  if (!request.stop_ids.empty()) stop = at::tensor(request.stop_ids, long_opts).to(device);
  at::Tensor out_tokens = at::zeros({total, n}, long_opts.device(device));
  at::Tensor out_logprobs = at::zeros({total, n}, at::TensorOptions(device).dtype(at::kFloat));
  std::optional<KvCache> parked;  // rows compacted away, when their caches are kept
  std::vector<at::Tensor> parked_rows;

  const auto decode_start = std::chrono::steady_clock::now();
  const auto sample = [&](std::int64_t step) {
    if (s.fused_sampling) {
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
    const at::Tensor hidden = model.Hidden(input, &cache).select(1, 0);
    if (s.fused_sampling) {
      model.RawLogitsInto(hidden, batch.logits);
    } else {
      batch.logits.copy_(model.Logits(hidden));
    }
  };
  sample(0);
  std::unique_ptr<StepGraph> graph;
  bool recorded = false;  // for the current batch size
  std::int64_t column = s.column;
  for (std::int64_t step = 1; step < n; ++step) {
    if (stop.defined() && step % kCheckEvery == 0) {
      const at::Tensor running = batch.finished.logical_not();
      const std::int64_t left = running.sum().item<std::int64_t>();
      if (left == 0) break;
      // Compaction: finished rows leave the batch and the cache once they are a quarter of it.
      if (4 * (batch.size() - left) >= batch.size()) {
        if (s.keep_caches) {
          const at::Tensor done = batch.finished.nonzero().squeeze(1);
          KvCache leaving = cache.Rows(done);
          if (parked) {
            parked->AppendRows(leaving);
          } else {
            parked.emplace(std::move(leaving));
          }
          parked_rows.push_back(batch.rows.index_select(0, done));
        }
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
    ++column;
    if (timings != nullptr) {
      ++timings->decode_steps;
      timings->row_steps += batch.size();
    }
  }

  DecodeEnd end;
  end.column = column;
  if (s.keep_caches) {
    // The buffers move rather than copy: a copy would hold two caches at once, the rollout's
    // largest allocation twice. Without compaction the rows are still in batch order.
    KvCache all = std::move(cache);
    if (parked) {
      // Back to batch order: the rows still in the batch, then the parked ones, sorted by row.
      std::vector<at::Tensor> order = {batch.rows};
      order.insert(order.end(), parked_rows.begin(), parked_rows.end());
      all.AppendRows(*parked);
      parked.reset();
      all.SelectRows(at::argsort(at::cat(order)));
    }
    end.cache.emplace(std::move(all));
  }
  const at::Tensor tokens_cpu = out_tokens.to(at::kCPU);
  const at::Tensor logprobs_cpu = out_logprobs.to(at::kCPU);
  if (timings != nullptr) timings->decode_seconds += Seconds(decode_start);
  const std::set<std::int64_t> stops(request.stop_ids.begin(), request.stop_ids.end());
  end.generations.resize(total);
  std::vector<std::int64_t> first_foreign_column(total);
  for (std::int64_t r = 0; r < total; ++r) {
    Generation& gen = end.generations[r];
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
    // Token t was fed at column s.column + t; the last one was never fed.
    first_foreign_column[r] = s.column + static_cast<std::int64_t>(gen.tokens.size()) - 1;
  }
  if (end.cache) end.cache->InvalidateFrom(first_foreign_column);
  return end;
}


}  // namespace gspo::engine
