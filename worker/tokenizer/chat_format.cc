// Rendering of the three chat families. Each Render* follows its Jinja template statement by
// statement (the templates are quoted in docs/tokenizers.md); where a template would render
// something meaningless rather than fail (a system message in the middle of a Gemma
// conversation, an unknown role) this code returns an error instead.
#include "worker/tokenizer/chat_format.h"

#include <algorithm>
#include <utility>

#include "worker/tokenizer/chat_text.h"

namespace gspo::tokenizer {
namespace {

using common::InvalidArgumentError;
using common::StatusOr;

constexpr std::string_view kEmptyThink = "<think>\n\n</think>\n\n";

std::string Where(std::size_t index) { return "messages[" + std::to_string(index) + "]: "; }

common::Status UnknownRole(std::size_t index, const ChatMessage& message, ChatFamily family,
                           const char* roles) {
  return InvalidArgumentError(Where(index) + "unknown role '" + message.role + "' (" +
                              ChatFamilyName(family) + " takes " + roles + ")");
}

// Gemma and Llama 3 take no reasoning_content; ChatML without reasoning ignores it, as its
// template does.
common::Status CheckNoReasoning(std::size_t index, const ChatMessage& message, ChatFamily family) {
  if (!message.reasoning_content.has_value()) return common::Status::Ok();
  return InvalidArgumentError(Where(index) + "reasoning_content is not part of the " +
                              ChatFamilyName(family) + " chat format");
}

// Qwen3's split of an assistant message into reasoning and answer.
std::pair<std::string, std::string> SplitReasoning(const ChatMessage& message) {
  using namespace chat_text;  // NOLINT(build/namespaces)
  std::string content = message.content;
  std::string reasoning;
  if (message.reasoning_content.has_value()) {
    reasoning = *message.reasoning_content;
  } else if (message.content.find("</think>") != std::string::npos) {
    content = std::string(LStripChar(AfterLast(message.content, "</think>"), '\n'));
    reasoning = std::string(LStripChar(
        AfterLast(RStripChar(BeforeFirst(message.content, "</think>"), '\n'), "<think>"), '\n'));
  }
  return {std::move(content), std::move(reasoning)};
}

bool IsToolResponse(const std::string& content) {
  constexpr std::string_view kOpen = "<tool_response>";
  constexpr std::string_view kClose = "</tool_response>";
  return content.size() >= kOpen.size() && content.compare(0, kOpen.size(), kOpen) == 0 &&
         content.size() >= kClose.size() &&
         content.compare(content.size() - kClose.size(), kClose.size(), kClose) == 0;
}

}  // namespace

const char* ChatFamilyName(ChatFamily family) {
  switch (family) {
    case ChatFamily::kGemma:
      return "gemma";
    case ChatFamily::kChatMl:
      return "chatml";
    case ChatFamily::kLlama3:
      return "llama3";
  }
  return "unknown";
}

ChatFormat::ChatFormat(ChatFamily family, ChatTemplateTraits traits,
                       std::vector<std::int32_t> generation_eos_ids)
    : family_(family),
      traits_(std::move(traits)),
      generation_eos_ids_(std::move(generation_eos_ids)) {}

ChatFormat ChatFormat::ForFamily(ChatFamily family) {
  ChatTemplateTraits traits;
  if (family == ChatFamily::kGemma) traits.bos_token = "<bos>";
  if (family == ChatFamily::kLlama3) traits.bos_token = "<|begin_of_text|>";
  return {family, std::move(traits)};
}

StatusOr<std::string> ChatFormat::Render(const std::vector<ChatMessage>& messages,
                                         const ChatOptions& options) const {
  if (messages.empty()) return InvalidArgumentError("messages: the conversation is empty");
  switch (family_) {
    case ChatFamily::kGemma:
      return RenderGemma(messages, options);
    case ChatFamily::kChatMl:
      return RenderChatMl(messages, options);
    case ChatFamily::kLlama3:
      return RenderLlama3(messages, options);
  }
  return common::InternalError("unknown chat family");
}

StatusOr<std::vector<std::int32_t>> ChatFormat::RenderIds(const Tokenizer& tokenizer,
                                                          const std::vector<ChatMessage>& messages,
                                                          const ChatOptions& options) const {
  GSPO_ASSIGN_OR_RETURN(std::string text, Render(messages, options));
  return tokenizer.Encode(text, /*add_special_tokens=*/false);
}

// {{ bos_token }}; a first system message becomes the prefix "SYSTEM\n\n" of the first turn;
// the rest must alternate user/assistant; each turn is
// '<start_of_turn>' + role + '\n' + prefix-if-first + content|trim + '<end_of_turn>\n'.
StatusOr<std::string> ChatFormat::RenderGemma(const std::vector<ChatMessage>& messages,
                                              const ChatOptions& options) const {
  std::string out = traits_.bos_token;
  std::string first_user_prefix;
  std::size_t first = 0;
  if (messages[0].role == "system") {
    GSPO_RETURN_IF_ERROR(CheckNoReasoning(0, messages[0], family_));
    first_user_prefix = messages[0].content + "\n\n";
    first = 1;
  }
  for (std::size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (message.role != "user" && message.role != "assistant") {
      if (message.role == "system") {
        return InvalidArgumentError(Where(i) + "a system message must come first (gemma)");
      }
      return UnknownRole(i, message, family_, "system, user, assistant");
    }
    GSPO_RETURN_IF_ERROR(CheckNoReasoning(i, message, family_));
    const bool expect_user = (i - first) % 2 == 0;
    if ((message.role == "user") != expect_user) {
      return InvalidArgumentError(
          Where(i) + "roles must alternate user/assistant/user/... (gemma); got '" + message.role +
          "' where '" + (expect_user ? "user" : "assistant") + "' belongs");
    }
    out += "<start_of_turn>";
    out += message.role == "assistant" ? "model" : "user";
    out += '\n';
    if (i == first) out += first_user_prefix;
    out += chat_text::Trim(message.content);
    out += "<end_of_turn>\n";
  }
  if (options.add_generation_prompt) out += GenerationPrompt(options);
  return out;
}

// '<|im_start|>' + role + '\n' + content + '<|im_end|>\n' for every turn; with the reasoning
// trait (Qwen3), assistant turns after the last user query carry a <think> block (the last one
// always), earlier ones only their answer; tool results are wrapped in <tool_response> inside a
// user turn.
StatusOr<std::string> ChatFormat::RenderChatMl(const std::vector<ChatMessage>& messages,
                                               const ChatOptions& options) const {
  std::string out;
  if (messages[0].role == "system") {
    out += "<|im_start|>system\n" + messages[0].content + "<|im_end|>\n";
  } else if (!traits_.default_system.empty()) {
    out += "<|im_start|>system\n" + traits_.default_system + "<|im_end|>\n";
  }
  // The last user message that is not a tool result (Qwen3's ns.last_query_index).
  std::size_t last_query = messages.size() - 1;
  for (std::size_t i = messages.size(); i-- > 0;) {
    if (messages[i].role == "user" && !IsToolResponse(messages[i].content)) {
      last_query = i;
      break;
    }
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    const bool last = i + 1 == messages.size();
    if (message.role == "system" || message.role == "user") {
      if (i > 0 || message.role == "user") {
        out += "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n";
      }
    } else if (message.role == "assistant") {
      if (!traits_.reasoning) {
        out += "<|im_start|>assistant\n" + message.content + "<|im_end|>\n";
        continue;
      }
      auto [content, reasoning] = SplitReasoning(message);
      out += "<|im_start|>assistant\n";
      if (i > last_query && (last || !reasoning.empty())) {
        out += "<think>\n";
        out += chat_text::StripChar(reasoning, '\n');
        out += "\n</think>\n\n";
        out += chat_text::LStripChar(content, '\n');
      } else {
        out += content;
      }
      out += "<|im_end|>\n";
    } else if (message.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + message.content + "\n</tool_response>";
      if (last || messages[i + 1].role != "tool") out += "<|im_end|>\n";
    } else {
      return UnknownRole(i, message, family_, "system, user, assistant, tool");
    }
  }
  if (options.add_generation_prompt) out += GenerationPrompt(options);
  return out;
}

// Plain Llama 3: bos + '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + content|trim +
// '<|eot_id|>' per turn. Llama 3.1+ first writes a system header with the knowledge date, today's
// date and the (trimmed) system message, then the other turns the same way.
StatusOr<std::string> ChatFormat::RenderLlama3(const std::vector<ChatMessage>& messages,
                                               const ChatOptions& options) const {
  std::string out = traits_.bos_token;
  std::size_t first = 0;
  if (traits_.knowledge_date_header) {
    std::string_view system;
    if (messages[0].role == "system") {
      system = chat_text::Trim(messages[0].content);
      first = 1;
    }
    out += "<|start_header_id|>system<|end_header_id|>\n\n";
    out += "Cutting Knowledge Date: December 2023\n";
    out += "Today Date: " + options.date_string + "\n\n";
    out += system;
    out += "<|eot_id|>";
  }
  for (std::size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (message.role != "system" && message.role != "user" && message.role != "assistant") {
      return UnknownRole(i, message, family_, "system, user, assistant");
    }
    GSPO_RETURN_IF_ERROR(CheckNoReasoning(i, message, family_));
    out += "<|start_header_id|>" + message.role + "<|end_header_id|>\n\n";
    out += chat_text::Trim(message.content);
    out += "<|eot_id|>";
  }
  if (options.add_generation_prompt) out += GenerationPrompt(options);
  return out;
}

std::string ChatFormat::GenerationPrompt(const ChatOptions& options) const {
  switch (family_) {
    case ChatFamily::kGemma:
      return "<start_of_turn>model\n";
    case ChatFamily::kChatMl:
      return traits_.reasoning && !options.enable_thinking
                 ? "<|im_start|>assistant\n" + std::string(kEmptyThink)
                 : "<|im_start|>assistant\n";
    case ChatFamily::kLlama3:
      return "<|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  return "";
}

std::string_view ChatFormat::EndOfTurnToken() const {
  switch (family_) {
    case ChatFamily::kGemma:
      return "<end_of_turn>";
    case ChatFamily::kChatMl:
      return "<|im_end|>";
    case ChatFamily::kLlama3:
      return "<|eot_id|>";
  }
  return "";
}

std::string_view ChatFormat::AfterEndOfTurn() const {
  return family_ == ChatFamily::kLlama3 ? "" : "\n";
}

StatusOr<std::string> ChatFormat::RenderFollowUpTurn(const ChatMessage& message) const {
  const bool allowed = message.role == "user" ||
                       (family_ != ChatFamily::kGemma && message.role == "system") ||
                       (family_ == ChatFamily::kChatMl && message.role == "tool");
  if (!allowed) {
    return InvalidArgumentError("a '" + message.role + "' turn cannot follow an assistant turn (" +
                                ChatFamilyName(family_) + " takes " +
                                (family_ == ChatFamily::kGemma    ? "user"
                                 : family_ == ChatFamily::kChatMl ? "user, system, tool"
                                                                  : "user, system") +
                                ")");
  }
  if (message.reasoning_content.has_value()) {
    return InvalidArgumentError("reasoning_content belongs to assistant turns only");
  }
  switch (family_) {
    case ChatFamily::kGemma:
      return "<start_of_turn>user\n" + std::string(chat_text::Trim(message.content)) +
             "<end_of_turn>\n";
    case ChatFamily::kChatMl:
      if (message.role == "tool") {
        return "<|im_start|>user\n<tool_response>\n" + message.content +
               "\n</tool_response><|im_end|>\n";
      }
      return "<|im_start|>" + message.role + "\n" + message.content + "<|im_end|>\n";
    case ChatFamily::kLlama3:
      return "<|start_header_id|>" + message.role + "<|end_header_id|>\n\n" +
             std::string(chat_text::Trim(message.content)) + "<|eot_id|>";
  }
  return common::InternalError("unknown chat family");
}

StatusOr<std::int32_t> ChatFormat::EndOfTurnId(const Tokenizer& tokenizer) const {
  const std::string_view token = EndOfTurnToken();
  if (auto id = tokenizer.TokenToId(token)) return *id;
  return common::NotFoundError("the tokenizer has no " + std::string(token) +
                               " token, which ends " + "turns in the " + ChatFamilyName(family_) +
                               " chat format");
}

StatusOr<std::vector<std::int32_t>> ChatFormat::EndOfTurnIds(const Tokenizer& tokenizer) const {
  GSPO_ASSIGN_OR_RETURN(std::int32_t end_of_turn, EndOfTurnId(tokenizer));
  std::vector<std::int32_t> ids = generation_eos_ids_;
  if (std::find(ids.begin(), ids.end(), end_of_turn) == ids.end()) ids.push_back(end_of_turn);
  return ids;
}

}  // namespace gspo::tokenizer
