#include "worker/runner/engine_user_simulator.h"

#include "worker/engine/sampler/rollout_engine.h"

namespace gspo::runner {

common::StatusOr<std::vector<std::string>> EngineUserSimulator::GenerateUserTexts(
    const std::vector<env::UserModelPrompt>& prompts) {
  engine::RolloutRequest request;
  request.samples_per_prompt = 1;
  request.max_new_tokens = sampling_.max_new_tokens;
  request.sampling.temperature = sampling_.temperature;
  request.sampling.top_p = sampling_.top_p;
  // Each user turn draws from its own prompt's seed (which follows its episode's seed and
  // turn), so a conversation's user turns do not depend on which others share the batch.
  for (const env::UserModelPrompt& prompt : prompts) request.row_seeds.push_back(prompt.seed);
  // The policy's base model plays the user without the policy's adapters; a separate user
  // model has none.
  request.use_adapters = false;
  tokenizer::ChatOptions options;
  options.add_generation_prompt = true;
  options.enable_thinking = false;
  for (const env::UserModelPrompt& prompt : prompts) {
    std::vector<tokenizer::ChatMessage> messages;
    for (const env::Message& m : prompt.messages) messages.push_back({std::string(env::RoleName(m.role)), m.content, {}});
    GSPO_ASSIGN_OR_RETURN(std::vector<std::int32_t> ids, format_->RenderIds(*tokenizer_, messages, options));
    request.prompts.emplace_back(ids.begin(), ids.end());
  }
  GSPO_ASSIGN_OR_RETURN(std::vector<std::int32_t> stops, format_->EndOfTurnIds(*tokenizer_));
  request.stop_ids.assign(stops.begin(), stops.end());
  engine::RolloutEngine engine(model_);
  GSPO_ASSIGN_OR_RETURN(std::vector<engine::Generation> generations, engine.Generate(request));
  std::vector<std::string> texts;
  texts.reserve(generations.size());
  for (const engine::Generation& gen : generations) {
    std::vector<std::int32_t> tokens(gen.tokens.begin(), gen.tokens.end());
    texts.push_back(tokenizer_->Decode(tokens, /*skip_special_tokens=*/true));
  }
  return texts;
}

}  // namespace gspo::runner
