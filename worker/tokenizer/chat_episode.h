// Token-in/token-out multi-turn episodes. A rollout builds one id sequence per episode:
//
//   Start(system, user)        -> prompt ids, ending with the generation prompt   (mask 0)
//   AppendAssistant(sampled)   -> the sampler's ids exactly as sampled             (mask 1)
//                                 + the end-of-turn id when the turn was cut by length (mask 0)
//   AppendUser(text)           -> "\n" after the end-of-turn token where the template has one,
//                                 the user turn, the next generation prompt         (mask 0)
//   ... AppendAssistant / AppendUser ...
//   Finish()                   -> the template's text after the last end-of-turn   (mask 0)
//
// The conversation is never re-encoded from text: re-encoding changes ids (a sampled "\n" next
// to the generation prompt's "\n" encodes as one "\n\n" token, say), and the learner must score
// exactly the ids the sampler produced (docs/tokenizers.md). When every assistant turn's ids are
// Encode(content) + the end-of-turn id, the sequence equals the template's rendering of the
// whole conversation, id for id — except for what a template rewrites in past turns (Qwen3
// drops the <think> blocks of assistant turns before the last user message; Gemma and Llama 3
// trim contents): the sequence keeps what the model saw and produced.
//
// Not thread-safe; one builder per episode. Borrows the tokenizer and the format, which must
// outlive it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer {

class EpisodeBuilder {
 public:
  // Looks up the end-of-turn ids; kNotFound when the tokenizer lacks the family's token.
  // `options.enable_thinking` applies to every generation prompt; add_generation_prompt is
  // ignored.
  static common::StatusOr<EpisodeBuilder> Create(const Tokenizer& tokenizer,
                                                 const ChatFormat& format,
                                                 const ChatOptions& options = {});

  // Opens the episode with `system_prompt` (none when empty) and the first user message.
  // Returns the prompt ids, which end with the generation prompt.
  common::StatusOr<std::vector<std::int32_t>> Start(std::string_view system_prompt,
                                                    std::string_view user_message);
  // The same for any opening conversation the template renders (few-shot turns included; they
  // are context, mask 0); it must end with a turn that an assistant answers.
  common::StatusOr<std::vector<std::int32_t>> Start(const std::vector<ChatMessage>& messages);

  // Appends the assistant's sampled ids as they are (mask 1). They end with an end-of-turn id
  // (end_of_turn_ids()), or were cut by length: then the builder closes the turn with the
  // format's end-of-turn id (mask 0). Returns the ids the builder added after `sampled`: empty,
  // or that one id. kInvalidArgument for ids outside the vocabulary or ids after an end-of-turn
  // id.
  common::StatusOr<std::vector<std::int32_t>> AppendAssistant(
      const std::vector<std::int32_t>& sampled);

  // Appends the next user turn; returns exactly the ids appended: the template's text after the
  // end-of-turn token, the turn, the next generation prompt (all mask 0).
  common::StatusOr<std::vector<std::int32_t>> AppendUser(std::string_view content);
  // The same for any turn ChatFormat::RenderFollowUpTurn takes (ChatML tool results, say).
  common::StatusOr<std::vector<std::int32_t>> AppendTurn(const ChatMessage& message);

  // Ends the episode after an assistant turn with the template's text after its end-of-turn
  // token ("\n" for Gemma and ChatML, nothing for Llama 3); returns the ids appended.
  common::StatusOr<std::vector<std::int32_t>> Finish();

  const std::vector<std::int32_t>& ids() const { return ids_; }
  // One entry per id: 1 for ids the assistant sampled (its end-of-turn id included), else 0.
  const std::vector<std::uint8_t>& assistant_mask() const { return mask_; }
  // The ids that end an assistant turn (ChatFormat::EndOfTurnIds); the sampler stops on them.
  const std::vector<std::int32_t>& end_of_turn_ids() const { return end_of_turn_ids_; }
  int assistant_turns() const { return assistant_turns_; }
  // True between a prompt and the assistant's answer to it.
  bool awaiting_assistant() const { return state_ == State::kAwaitingAssistant; }

 private:
  enum class State { kEmpty, kAwaitingAssistant, kAfterAssistant, kFinished };

  EpisodeBuilder(const Tokenizer& tokenizer, const ChatFormat& format, ChatOptions options,
                 std::vector<std::int32_t> end_of_turn_ids, std::int32_t end_of_turn_id);
  common::Status Expect(State state, const char* action) const;
  std::vector<std::int32_t> AppendText(const std::string& text);
  bool IsEndOfTurn(std::int32_t id) const;

  const Tokenizer* tokenizer_;
  const ChatFormat* format_;
  ChatOptions options_;
  std::vector<std::int32_t> end_of_turn_ids_;
  std::int32_t end_of_turn_id_;
  State state_ = State::kEmpty;
  int assistant_turns_ = 0;
  std::vector<std::int32_t> ids_;
  std::vector<std::uint8_t> mask_;
};

}  // namespace gspo::tokenizer
