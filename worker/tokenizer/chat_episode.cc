#include "worker/tokenizer/chat_episode.h"

#include <algorithm>
#include <string>
#include <utility>

namespace gspo::tokenizer {

using common::InvalidArgumentError;
using common::StatusOr;

EpisodeBuilder::EpisodeBuilder(const Tokenizer& tokenizer, const ChatFormat& format,
                               ChatOptions options, std::vector<std::int32_t> end_of_turn_ids,
                               std::int32_t end_of_turn_id)
    : tokenizer_(&tokenizer),
      format_(&format),
      options_(std::move(options)),
      end_of_turn_ids_(std::move(end_of_turn_ids)),
      end_of_turn_id_(end_of_turn_id) {
  options_.add_generation_prompt = true;
}

StatusOr<EpisodeBuilder> EpisodeBuilder::Create(const Tokenizer& tokenizer,
                                                const ChatFormat& format,
                                                const ChatOptions& options) {
  GSPO_ASSIGN_OR_RETURN(std::int32_t end_of_turn_id, format.EndOfTurnId(tokenizer));
  GSPO_ASSIGN_OR_RETURN(std::vector<std::int32_t> end_of_turn_ids, format.EndOfTurnIds(tokenizer));
  return EpisodeBuilder(tokenizer, format, options, std::move(end_of_turn_ids), end_of_turn_id);
}

common::Status EpisodeBuilder::Expect(State state, const char* action) const {
  if (state_ == state) return common::Status::Ok();
  static const char* const kNames[] = {"before Start()", "while awaiting the assistant's turn",
                                       "after an assistant turn", "after Finish()"};
  return common::FailedPreconditionError(std::string("episode: cannot ") + action + " " +
                                         kNames[static_cast<int>(state_)]);
}

std::vector<std::int32_t> EpisodeBuilder::AppendText(const std::string& text) {
  std::vector<std::int32_t> ids = tokenizer_->Encode(text, /*add_special_tokens=*/false);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  mask_.insert(mask_.end(), ids.size(), 0);
  return ids;
}

bool EpisodeBuilder::IsEndOfTurn(std::int32_t id) const {
  return std::find(end_of_turn_ids_.begin(), end_of_turn_ids_.end(), id) != end_of_turn_ids_.end();
}

StatusOr<std::vector<std::int32_t>> EpisodeBuilder::Start(std::string_view system_prompt,
                                                          std::string_view user_message) {
  std::vector<ChatMessage> messages;
  if (!system_prompt.empty()) messages.push_back({"system", std::string(system_prompt), {}});
  messages.push_back({"user", std::string(user_message), {}});
  return Start(messages);
}

StatusOr<std::vector<std::int32_t>> EpisodeBuilder::Start(
    const std::vector<ChatMessage>& messages) {
  GSPO_RETURN_IF_ERROR(Expect(State::kEmpty, "start"));
  if (!messages.empty() &&
      (messages.back().role == "assistant" || messages.back().role == "system")) {
    return InvalidArgumentError("episode: the opening conversation ends with a '" +
                                messages.back().role +
                                "' turn; it must end with one the "
                                "assistant answers");
  }
  GSPO_ASSIGN_OR_RETURN(std::string text, format_->Render(messages, options_));
  state_ = State::kAwaitingAssistant;
  return AppendText(text);
}

StatusOr<std::vector<std::int32_t>> EpisodeBuilder::AppendAssistant(
    const std::vector<std::int32_t>& sampled) {
  GSPO_RETURN_IF_ERROR(Expect(State::kAwaitingAssistant, "append an assistant turn"));
  const std::int32_t vocab_size = tokenizer_->vocab_size();
  for (std::size_t i = 0; i < sampled.size(); ++i) {
    if (sampled[i] < 0 || sampled[i] >= vocab_size) {
      return InvalidArgumentError("episode: sampled id " + std::to_string(sampled[i]) +
                                  " at position " + std::to_string(i) + " is outside [0, " +
                                  std::to_string(vocab_size) + ")");
    }
    if (i + 1 < sampled.size() && IsEndOfTurn(sampled[i])) {
      return InvalidArgumentError("episode: sampled ids continue after end-of-turn id " +
                                  std::to_string(sampled[i]) + " at position " + std::to_string(i));
    }
  }
  ids_.insert(ids_.end(), sampled.begin(), sampled.end());
  mask_.insert(mask_.end(), sampled.size(), 1);
  std::vector<std::int32_t> closing;
  if (sampled.empty() || !IsEndOfTurn(sampled.back())) {
    closing.push_back(end_of_turn_id_);
    ids_.push_back(end_of_turn_id_);
    mask_.push_back(0);
  }
  ++assistant_turns_;
  state_ = State::kAfterAssistant;
  return closing;
}

StatusOr<std::vector<std::int32_t>> EpisodeBuilder::AppendUser(std::string_view content) {
  return AppendTurn({"user", std::string(content), {}});
}

StatusOr<std::vector<std::int32_t>> EpisodeBuilder::AppendTurn(const ChatMessage& message) {
  GSPO_RETURN_IF_ERROR(Expect(State::kAfterAssistant, "append a turn"));
  GSPO_ASSIGN_OR_RETURN(std::string turn, format_->RenderFollowUpTurn(message));
  state_ = State::kAwaitingAssistant;
  return AppendText(std::string(format_->AfterEndOfTurn()) + turn +
                    format_->GenerationPrompt(options_));
}

StatusOr<std::vector<std::int32_t>> EpisodeBuilder::Finish() {
  GSPO_RETURN_IF_ERROR(Expect(State::kAfterAssistant, "finish"));
  state_ = State::kFinished;
  return AppendText(std::string(format_->AfterEndOfTurn()));
}

}  // namespace gspo::tokenizer
