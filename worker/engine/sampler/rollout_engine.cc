#include "worker/engine/sampler/rollout_engine.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>

#include "worker/engine/sampler/decode_loop.h"

namespace gspo::engine {
namespace {

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

common::Status CheckTurn(const RolloutRequest& request, std::int64_t rows) {
  if (request.max_new_tokens < 1) return common::InvalidArgumentError("rollout: expected max_new_tokens >= 1");
  if (!request.row_seeds.empty() && static_cast<std::int64_t>(request.row_seeds.size()) != rows) {
    return common::InvalidArgumentError("rollout: " + std::to_string(request.row_seeds.size()) +
                                        " row seeds for " + std::to_string(rows) + " rows");
  }
  return common::Status::Ok();
}

bool FusedSampling(const DecoderModel& model, const SamplingParams& sampling) {
  // The fused sampler (one kernel per step, no vocabulary sort) takes raw logits and caps them
  // itself; top-k keeps the reference sampler.
  const std::int64_t vocab = model.config().vocab_size;
  return model.FusedDecodeAvailable() && (sampling.greedy || sampling.top_k <= 0 || sampling.top_k >= vocab);
}

}  // namespace

common::StatusOr<std::vector<Generation>> RolloutEngine::Generate(const RolloutRequest& request,
                                                                  RolloutTimings* timings) const {
  RolloutSession session(model_, /*keep_caches=*/false);
  return session.Start(request, timings);
}

common::StatusOr<std::vector<Generation>> RolloutSession::Start(const RolloutRequest& request,
                                                                RolloutTimings* timings) {
  const std::int64_t p = static_cast<std::int64_t>(request.prompts.size());
  const std::int64_t g = request.samples_per_prompt;
  if (p == 0 || g < 1) {
    return common::InvalidArgumentError("rollout: expected prompts and samples_per_prompt >= 1");
  }
  GSPO_RETURN_IF_ERROR(CheckTurn(request, p * g));
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
    if (timings != nullptr) timings->prefill_tokens += len;
  }
  const auto start = std::chrono::steady_clock::now();
  if (request.use_adapters && model_->FusedDecodeAvailable()) model_->PrepareDecodeAdapters();
  const bool fused_sampling = FusedSampling(*model_, request.sampling);
  KvCache cache(model_->config(), p, longest + request.max_new_tokens, model_->dtype(), device);
  ForwardInput prefill{ids.to(device), positions.to(device), valid.to(device), request.use_adapters};
  const at::Tensor prompt_hidden = model_->Hidden(prefill, &cache).select(1, longest - 1);
  at::Tensor prompt_logits = fused_sampling ? model_->RawLogits(prompt_hidden) : model_->Logits(prompt_hidden);

  // One prefill per prompt, shared by its G samples: copy the cache rows.
  const std::int64_t total = p * g;
  const at::Tensor prompt_of_row = at::arange(p, long_opts).repeat_interleave(g).to(device);
  cache.SelectRows(prompt_of_row);
  // The copies are equal, so decode attention may read each prompt's prefix from its first
  // sample's row: one copy per prompt in L2 instead of G from memory.
  if (g > 1) cache.SharePrefix(prompt_of_row * g, longest);
  if (timings != nullptr) timings->kv_cache_bytes = std::max(timings->kv_cache_bytes, cache.Bytes());
  DecodeStart s{&cache, prompt_logits.index_select(0, prompt_of_row)};
  s.seeds = request.row_seeds;
  for (std::int64_t r = 0; r < total; ++r) {
    if (request.row_seeds.empty()) s.seeds.push_back(RowSeed(request.seed, r / g, r % g));
    s.next_position.push_back(static_cast<std::int64_t>(request.prompts[r / g].size()));
  }
  s.column = longest;
  s.fused_sampling = fused_sampling;
  s.keep_caches = keep_caches_;
  if (timings != nullptr) timings->prefill_seconds += Seconds(start);
  DecodeEnd end = DecodeRows(*model_, request, std::move(s), timings);
  for (std::int64_t r = 0; r < total; ++r) end.generations[r].prompt_index = r / g;
  std::vector<std::vector<std::int64_t>> contexts;
  if (keep_caches_) {
    for (std::int64_t r = 0; r < total; ++r) contexts.push_back(request.prompts[r / g]);
  }
  Remember(std::move(end.cache), end.column, end.generations, std::move(contexts));
  return std::move(end.generations);
}

common::StatusOr<std::vector<Generation>> RolloutSession::Continue(
    const std::vector<std::int64_t>& rows, const std::vector<std::vector<std::int64_t>>& conversations,
    const RolloutRequest& request, RolloutTimings* timings) {
  if (!cache_) return common::FailedPreconditionError("rollout: Continue before a Start that keeps caches");
  const std::int64_t b = static_cast<std::int64_t>(rows.size());
  if (b == 0 || conversations.size() != rows.size()) {
    return common::InvalidArgumentError("rollout: Continue needs one conversation per continuing row");
  }
  GSPO_RETURN_IF_ERROR(CheckTurn(request, b));
  const std::int64_t known = static_cast<std::int64_t>(seen_.size());
  std::vector<std::int64_t> appended_from(b);
  std::int64_t longest = 0;
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t r = rows[i];
    if (r < 0 || r >= known || (i > 0 && r <= rows[i - 1])) {
      return common::InvalidArgumentError("rollout: continuing rows must be increasing indices below " +
                                          std::to_string(known));
    }
    const auto& seen = seen_[r];
    const auto& conversation = conversations[i];
    if (conversation.size() < seen.size() || !std::equal(seen.begin(), seen.end(), conversation.begin())) {
      return common::InvalidArgumentError("rollout: the conversation of row " + std::to_string(r) +
                                          " does not extend what the row has generated");
    }
    appended_from[i] = fed_[r];  // the cache holds all but the row's last sampled token
    longest = std::max<std::int64_t>(longest, static_cast<std::int64_t>(conversation.size()) - fed_[r]);
  }
  if (cache_->RingsAt(column_ + longest + request.max_new_tokens)) {
    // A sliding-window layer wraps around (or would): rows that stopped early wrote foreign
    // tokens into its ring, and columns run ahead of their positions; prefill whole
    // conversations instead (the same seeds: row i of a one-sample request).
    RolloutRequest whole = request;
    whole.prompts = conversations;
    whole.samples_per_prompt = 1;
    return Start(whole, timings);
  }
  c10::NoGradGuard no_grad;
  const at::Device device = model_->device();
  const auto long_opts = at::TensorOptions().dtype(at::kLong);
  const auto start = std::chrono::steady_clock::now();
  // The new tokens, left-padded so every row's last one sits in the last column; they take the
  // cache columns [column_, column_ + longest).
  at::Tensor ids = at::zeros({b, longest}, long_opts);
  at::Tensor valid = at::zeros({b, longest}, long_opts.dtype(at::kBool));
  at::Tensor positions = at::zeros({b, longest}, long_opts);
  DecodeStart s{};
  for (std::int64_t i = 0; i < b; ++i) {
    const auto& conversation = conversations[i];
    const std::int64_t len = static_cast<std::int64_t>(conversation.size()) - appended_from[i], pad = longest - len;
    ids[i].narrow(0, pad, len).copy_(at::tensor(std::vector<std::int64_t>(conversation.begin() + appended_from[i],
                                                                          conversation.end()), long_opts));
    valid[i].narrow(0, pad, len).fill_(true);
    positions[i].narrow(0, pad, len).copy_(at::arange(appended_from[i], appended_from[i] + len, long_opts));
    s.next_position.push_back(static_cast<std::int64_t>(conversation.size()));
    if (timings != nullptr) timings->prefill_tokens += len;
  }
  if (request.use_adapters && model_->FusedDecodeAvailable()) model_->PrepareDecodeAdapters();
  const bool fused_sampling = FusedSampling(*model_, request.sampling);
  // Selected layer by layer in place: Rows would copy them while the whole cache is still held.
  KvCache cache = std::move(*cache_);
  cache_.reset();
  cache.SelectRows(at::tensor(rows, long_opts).to(device));
  cache.Grow(column_ + longest + request.max_new_tokens);
  cache.SetLength(column_);
  ForwardInput prefill{ids.to(device), positions.to(device), valid.to(device), request.use_adapters};
  const at::Tensor hidden = model_->Hidden(prefill, &cache).select(1, longest - 1);
  if (timings != nullptr) timings->kv_cache_bytes = std::max(timings->kv_cache_bytes, cache.Bytes());
  s.cache = &cache;
  s.logits = fused_sampling ? model_->RawLogits(hidden) : model_->Logits(hidden);
  s.seeds = request.row_seeds;
  for (std::int64_t i = 0; i < b; ++i) {
    if (request.row_seeds.empty()) s.seeds.push_back(RowSeed(request.seed, i, 0));
  }
  s.column = column_ + longest;
  s.fused_sampling = fused_sampling;
  s.keep_caches = true;
  if (timings != nullptr) timings->prefill_seconds += Seconds(start);
  DecodeEnd end = DecodeRows(*model_, request, std::move(s), timings);
  for (std::int64_t i = 0; i < b; ++i) end.generations[i].prompt_index = i;
  Remember(std::move(end.cache), end.column, end.generations, conversations);
  return std::move(end.generations);
}

void RolloutSession::Remember(std::optional<KvCache> cache, std::int64_t column,
                              const std::vector<Generation>& generations,
                              std::vector<std::vector<std::int64_t>> contexts) {
  if (!keep_caches_) return;
  cache_ = std::move(cache);
  column_ = column;
  const std::int64_t rows = static_cast<std::int64_t>(generations.size());
  seen_ = std::move(contexts);
  fed_.assign(rows, 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto& tokens = generations[r].tokens;
    seen_[r].insert(seen_[r].end(), tokens.begin(), tokens.end());
    fed_[r] = static_cast<std::int64_t>(seen_[r].size()) - 1;
  }
}

}  // namespace gspo::engine
