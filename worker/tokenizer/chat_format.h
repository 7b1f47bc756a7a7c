// Chat formats: how a checkpoint turns a conversation into the text (and ids) it was trained on,
// written out in C++ for the three families this project fine-tunes, so that no Jinja engine is
// needed and the output equals what the checkpoint's own chat_template renders:
//
//   Gemma 2/3  <bos><start_of_turn>user\nSYSTEM\n\nUSER<end_of_turn>\n<start_of_turn>model\n...
//   ChatML     <|im_start|>role\ncontent<|im_end|>\n            (Qwen 2/2.5/3)
//   Llama 3    <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
//
// docs/tokenizers.md lists exactly what each family renders. A ChatFormat is picked from a model
// directory's tokenizer_config.json / chat_template.jinja / config.json (chat_config.cc) and knows
// the ids that end an assistant turn (generation_config.json eos ids and the family's token).
//
// ChatFormat is an immutable value: every method is const and safe to call from many threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer {

enum class ChatFamily { kGemma, kChatMl, kLlama3 };

// "gemma", "chatml", "llama3".
const char* ChatFamilyName(ChatFamily family);

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"; ChatML also takes "tool"
  std::string content;
  // ChatML with reasoning (Qwen3): the assistant's thinking, rendered in a <think> block.
  std::optional<std::string> reasoning_content;
};

struct ChatOptions {
  bool add_generation_prompt = false;
  // Qwen3 (ChatML with reasoning): false appends an empty "<think>\n\n</think>\n\n" to the
  // generation prompt, as the template's enable_thinking=false does. Ignored elsewhere.
  bool enable_thinking = true;
  // Llama 3.1+ ("Cutting Knowledge Date" templates): the "Today Date:" line.
  std::string date_string = "26 Jul 2024";
};

// What a checkpoint's template adds to its family's skeleton, read from the template text.
struct ChatTemplateTraits {
  // Rendered first (Gemma "<bos>", Llama 3 "<|begin_of_text|>"); empty for ChatML.
  std::string bos_token;
  // ChatML: the system message rendered when a conversation has none (Qwen 2 / 2.5).
  std::string default_system;
  // ChatML: Qwen3's handling of <think> blocks in assistant turns and enable_thinking.
  bool reasoning = false;
  // Llama 3.1+: a system header with "Cutting Knowledge Date" / "Today Date" always comes first.
  bool knowledge_date_header = false;
};

class ChatFormat {
 public:
  // `generation_eos_ids`: generation_config.json's eos_token_id, in its order (may be empty).
  ChatFormat(ChatFamily family, ChatTemplateTraits traits,
             std::vector<std::int32_t> generation_eos_ids = {});

  // The family's plain form: Gemma with "<bos>", ChatML without default system or reasoning,
  // Llama 3 with "<|begin_of_text|>" and no knowledge-date header.
  static ChatFormat ForFamily(ChatFamily family);

  // Picks the family and traits from DIR/tokenizer_config.json, DIR/chat_template.jinja,
  // DIR/config.json and DIR/generation_config.json (each optional, at least one of the first
  // three required). Evidence, strongest first: the chat template's markers (<start_of_turn>,
  // <|im_start|>, <|start_header_id|>); the special tokens tokenizer_config.json declares;
  // tokenizer_class; config.json model_type. Unknown -> kInvalidArgument naming the files.
  static common::StatusOr<ChatFormat> FromDirectory(const std::string& dir);

  // The same from file contents; a missing file is an empty string_view. `dir` names the source
  // in error messages.
  struct ConfigFiles {
    std::string_view tokenizer_config;
    std::string_view chat_template_jinja;
    std::string_view config;
    std::string_view generation_config;
  };
  static common::StatusOr<ChatFormat> FromConfigFiles(const ConfigFiles& files,
                                                      const std::string& dir);

  ChatFamily family() const { return family_; }
  const ChatTemplateTraits& traits() const { return traits_; }
  const std::vector<std::int32_t>& generation_eos_ids() const { return generation_eos_ids_; }

  // The conversation as the template renders it. Errors (kInvalidArgument) name the message:
  // "messages[3]: unknown role 'bot' (gemma takes system, user, assistant)", roles that do not
  // alternate where the template requires it, a system message other than the first (Gemma).
  common::StatusOr<std::string> Render(const std::vector<ChatMessage>& messages,
                                       const ChatOptions& options) const;
  // Encode(Render(...), add_special_tokens=false): what apply_chat_template(tokenize=True) gives.
  common::StatusOr<std::vector<std::int32_t>> RenderIds(const Tokenizer& tokenizer,
                                                        const std::vector<ChatMessage>& messages,
                                                        const ChatOptions& options) const;

  // Pieces for building a conversation turn by turn (chat_episode.h).
  // The prompt that opens an assistant turn: "<start_of_turn>model\n", "<|im_start|>assistant\n"
  // (+ the empty think block when options.enable_thinking is false and the template reasons),
  // "<|start_header_id|>assistant<|end_header_id|>\n\n".
  std::string GenerationPrompt(const ChatOptions& options) const;
  // The token that ends a turn: "<end_of_turn>", "<|im_end|>", "<|eot_id|>".
  std::string_view EndOfTurnToken() const;
  // What the template writes right after that token: "\n" (Gemma, ChatML) or "" (Llama 3).
  std::string_view AfterEndOfTurn() const;
  // A turn that follows an assistant turn, as the template renders it there, from its start
  // marker through AfterEndOfTurn(): Gemma takes "user"; ChatML "user", "system", "tool"; Llama 3
  // "user", "system".
  common::StatusOr<std::string> RenderFollowUpTurn(const ChatMessage& message) const;

  // The id of EndOfTurnToken(); kNotFound when the tokenizer lacks it.
  common::StatusOr<std::int32_t> EndOfTurnId(const Tokenizer& tokenizer) const;
  // Every id that ends an assistant turn: generation_eos_ids() in order, then EndOfTurnId() when
  // not among them.
  common::StatusOr<std::vector<std::int32_t>> EndOfTurnIds(const Tokenizer& tokenizer) const;

 private:
  common::StatusOr<std::string> RenderGemma(const std::vector<ChatMessage>& messages,
                                            const ChatOptions& options) const;
  common::StatusOr<std::string> RenderChatMl(const std::vector<ChatMessage>& messages,
                                             const ChatOptions& options) const;
  common::StatusOr<std::string> RenderLlama3(const std::vector<ChatMessage>& messages,
                                             const ChatOptions& options) const;

  ChatFamily family_;
  ChatTemplateTraits traits_;
  std::vector<std::int32_t> generation_eos_ids_;
};

}  // namespace gspo::tokenizer
