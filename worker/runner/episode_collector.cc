#include "worker/runner/episode_collector.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "worker/engine/device_memory.h"
#include "worker/engine/model/kv_cache.h"

namespace gspo::runner {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A seed for one draw of the run, mixing the run seed with the step and a purpose.
std::uint64_t MixSeed(std::uint64_t seed, std::int64_t step, std::int64_t salt) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(step) * 0xBF58476D1CE4E5B9ULL +
                    static_cast<std::uint64_t>(salt) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

common::StatusOr<Rollout> EpisodeCollector::Collect(std::int64_t step,
                                                   const std::vector<std::int64_t>& global_groups,
                                                   StepMetrics* metrics) {
  const std::int64_t groups = static_cast<std::int64_t>(global_groups.size()), g = options_.group_size;
  Rollout rollout;
  engine::RolloutRequest request;
  request.samples_per_prompt = g;
  request.max_new_tokens = options_.max_completion_length;
  request.sampling.temperature = options_.temperature;
  request.sampling.top_p = options_.top_p;
  request.sampling.top_k = options_.top_k;
  std::vector<std::int64_t> max_turns(groups);
  std::vector<std::vector<std::int64_t>> prompts;
  std::vector<std::uint64_t> first_seeds;  // per row
  for (std::int64_t i = 0; i < groups; ++i) {
    GSPO_ASSIGN_OR_RETURN(EpisodeOpening opening, episodes_->Open(step, global_groups[i]));
    max_turns[i] = std::max<std::int64_t>(1, opening.max_turns);
    if (i == 0) rollout.first_scenario = opening.scenario_id;
    std::vector<std::int32_t> prompt;
    for (std::int64_t b = 0; b < g; ++b) {
      Branch branch;
      GSPO_ASSIGN_OR_RETURN(tokenizer::EpisodeBuilder builder,
                            tokenizer::EpisodeBuilder::Create(*tokenizer_, *format_));
      branch.builder = std::make_unique<tokenizer::EpisodeBuilder>(std::move(builder));
      GSPO_ASSIGN_OR_RETURN(prompt, branch.builder->Start(opening.system_prompt, opening.user_message));
      if (static_cast<std::int64_t>(prompt.size()) > options_.max_prompt_length) {
        return common::InvalidArgumentError(
            "scenario '" + opening.scenario_id + "': its opening (system prompt and first user message) is " +
            std::to_string(prompt.size()) + " tokens, more than generation.max_prompt_length = " +
            std::to_string(options_.max_prompt_length) + "; raise it or shorten the scenario");
      }
      GSPO_ASSIGN_OR_RETURN(branch.session, episodes_->StartSession(step, global_groups[i], b));
      // Seeded by the group's step-wide index, whichever rank runs it.
      first_seeds.push_back(engine::RowSeed(MixSeed(options_.seed, step, 1000), global_groups[i], b));
      branch.logp.assign(branch.builder->ids().size(), 0.0f);
      rollout.branches.push_back(std::move(branch));
    }
    prompts.emplace_back(prompt.begin(), prompt.end());
  }
  for (std::int32_t id : rollout.branches.front().builder->end_of_turn_ids()) request.stop_ids.push_back(id);

  // Whole groups per rollout batch, one batch after the other (GroupsPerBatch).
  double seconds_rollout = 0, seconds_env = 0;
  const std::int64_t per_batch = GroupsPerBatch(groups);
  for (std::int64_t first = 0; first < groups; first += per_batch) {
    const std::int64_t last = std::min(groups, first + per_batch);
    request.prompts.assign(prompts.begin() + first, prompts.begin() + last);
    request.row_seeds.assign(first_seeds.begin() + first * g, first_seeds.begin() + last * g);
    GSPO_RETURN_IF_ERROR(RunTurns(step, global_groups, max_turns, first * g, last * g, request, &rollout,
                                  &seconds_rollout, &seconds_env));
  }
  const auto start = Clock::now();
  std::vector<EpisodeSession*> sessions;
  for (Branch& branch : rollout.branches) {
    const auto& mask = branch.builder->assistant_mask();
    const std::int64_t sampled = std::count(mask.begin(), mask.end(), 1);
    branch.session->SetTokenCounts(static_cast<std::int64_t>(mask.size()) - sampled, sampled);
    sessions.push_back(branch.session.get());
  }
  GSPO_ASSIGN_OR_RETURN(rollout.scores, episodes_->Score(step, sessions));
  metrics->emplace_back("seconds_rollout", seconds_rollout);
  metrics->emplace_back("seconds_environment", seconds_env);
  metrics->emplace_back("seconds_reward", Since(start));
  metrics->emplace_back("rollout_batches", static_cast<double>((groups + per_batch - 1) / per_batch));
  return rollout;
}

std::int64_t EpisodeCollector::GroupsPerBatch(std::int64_t groups) const {
  std::int64_t rows = options_.max_rollout_rows;
  if (rows <= 0) {
    if (!model_->device().is_cuda()) return std::max<std::int64_t>(1, groups);
    // Each row with room for a whole prompt and completion, the most any turn needs.
    const engine::DeviceMemory memory = engine::QueryDeviceMemory(model_->device());
    const std::int64_t per_row = engine::KvCache::BytesPerRow(
        model_->config(), options_.max_prompt_length + options_.max_completion_length, model_->dtype());
    rows = memory.available / 2 / std::max<std::int64_t>(1, per_row);
  }
  return std::clamp<std::int64_t>(rows / options_.group_size, 1, std::max<std::int64_t>(1, groups));
}

common::Status EpisodeCollector::RunTurns(std::int64_t step, const std::vector<std::int64_t>& global_groups,
                                          const std::vector<std::int64_t>& max_turns, std::int64_t begin,
                                          std::int64_t end, engine::RolloutRequest request, Rollout* rollout,
                                          double* seconds_rollout, double* seconds_env) {
  const std::int64_t g = options_.group_size;
  // Later turns continue each conversation from its KV cache: only the new tokens are prefilled.
  engine::RolloutSession session(model_);
  std::vector<std::int64_t> branch_of_row, continuing;
  std::vector<std::vector<std::int64_t>> conversations;
  for (std::int64_t r = begin; r < end; ++r) branch_of_row.push_back(r);
  for (std::int64_t turn = 0; !branch_of_row.empty(); ++turn) {
    request.seed = MixSeed(options_.seed, step, 1000 + turn);
    auto start = Clock::now();
    engine::RolloutTimings timings;
    GSPO_ASSIGN_OR_RETURN(std::vector<engine::Generation> generations,
                          turn == 0 ? session.Start(request, &timings)
                                    : session.Continue(continuing, conversations, request, &timings));
    *seconds_rollout += Since(start);
    rollout->kv_cache_bytes = std::max(rollout->kv_cache_bytes, timings.kv_cache_bytes);
    rollout->tokens_prefilled += timings.prefill_tokens;
    start = Clock::now();
    std::vector<EpisodeSession*> sessions;
    std::vector<std::string> texts;
    for (std::size_t r = 0; r < generations.size(); ++r) {
      Branch& branch = rollout->branches[branch_of_row[r]];
      const engine::Generation& gen = generations[r];
      std::vector<std::int32_t> sampled(gen.tokens.begin(), gen.tokens.end());
      rollout->tokens_generated += static_cast<std::int64_t>(sampled.size());
      branch.logp.insert(branch.logp.end(), gen.logprobs.begin(), gen.logprobs.end());
      GSPO_ASSIGN_OR_RETURN(std::vector<std::int32_t> closing, branch.builder->AppendAssistant(sampled));
      branch.logp.insert(branch.logp.end(), closing.size(), 0.0f);
      ++branch.turns;
      sessions.push_back(branch.session.get());
      texts.push_back(tokenizer_->Decode(sampled, /*skip_special_tokens=*/true));
    }
    // The environment sees every assistant turn, the last included (rewards read them all),
    // and decides which conversations go on.
    GSPO_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> replies,
                          episodes_->UserReplies(sessions, texts));
    std::vector<std::int64_t> next_rows;
    continuing.clear();
    conversations.clear();
    for (std::size_t r = 0; r < replies.size(); ++r) {
      const std::int64_t index = branch_of_row[r];
      Branch& branch = rollout->branches[index];
      // The next prompt is the conversation so far and the reply: past
      // generation.max_prompt_length the conversation ends here instead, as at max_turns.
      std::optional<tokenizer::EpisodeBuilder> next;
      std::vector<std::int32_t> user;
      if (replies[r] && branch.turns < max_turns[index / options_.group_size]) {
        next = *branch.builder;
        GSPO_ASSIGN_OR_RETURN(user, next->AppendUser(*replies[r]));
        if (static_cast<std::int64_t>(next->ids().size()) > options_.max_prompt_length) next.reset();
      }
      if (!next) {
        GSPO_ASSIGN_OR_RETURN(std::vector<std::int32_t> tail, branch.builder->Finish());
        branch.logp.insert(branch.logp.end(), tail.size(), 0.0f);
        branch.active = false;
        continue;
      }
      *branch.builder = std::move(*next);
      branch.logp.insert(branch.logp.end(), user.size(), 0.0f);
      next_rows.push_back(index);
      continuing.push_back(static_cast<std::int64_t>(r));
      const auto& ids = branch.builder->ids();
      conversations.emplace_back(ids.begin(), ids.end());
    }
    *seconds_env += Since(start);
    // Branches diverged after the first turn: one sample each from here on.
    branch_of_row = std::move(next_rows);
    // Each branch keeps drawing from its own seed, whichever others are still running.
    request.row_seeds.clear();
    const std::uint64_t next_seed = MixSeed(options_.seed, step, 1000 + turn + 1);
    for (std::int64_t index : branch_of_row) {
      const std::int64_t global_branch = global_groups[index / g] * g + index % g;
      request.row_seeds.push_back(engine::RowSeed(next_seed, global_branch, 0));
    }
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
