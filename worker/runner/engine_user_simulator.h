// EngineUserSimulator: the LLM user simulator served by the rollout engine. A model plays the
// user: the policy's own base model with its adapters switched off (no extra memory), or a
// second model loaded for the purpose. Each call renders every prompt with the user model's
// chat template and generates all replies in one batch.
//
// Borrows the model, tokenizer and chat format, which must outlive it. Not thread-safe (one
// generation at a time, like the rollout engine).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "worker/engine/model/decoder_model.h"
#include "worker/env/llm_user_simulator.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::runner {

struct UserModelSampling {
  std::int64_t max_new_tokens = 64;
  double temperature = 0.7;
  double top_p = 0.95;
};

class EngineUserSimulator : public env::LlmUserSimulator {
 public:
  EngineUserSimulator(const engine::DecoderModel* model, const tokenizer::Tokenizer* tokenizer,
                      const tokenizer::ChatFormat* format, UserModelSampling sampling)
      : model_(model), tokenizer_(tokenizer), format_(format), sampling_(sampling) {}

 protected:
  common::StatusOr<std::vector<std::string>> GenerateUserTexts(
      const std::vector<env::UserModelPrompt>& prompts) override;

 private:
  const engine::DecoderModel* model_;
  const tokenizer::Tokenizer* tokenizer_;
  const tokenizer::ChatFormat* format_;
  UserModelSampling sampling_;
};

}  // namespace gspo::runner
