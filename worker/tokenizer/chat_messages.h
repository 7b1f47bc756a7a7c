// Conversations as JSON, the shape transformers' apply_chat_template takes:
//   [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi!"}]
// or an object holding that list under "messages" (so a golden case can be passed as it is).
// "reasoning_content" (string or null) is kept for ChatML with reasoning; other keys are ignored,
// except "tool_calls", which no chat format here renders (an error rather than a silent drop).
//
// Pure functions; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/chat_format.h"

namespace gspo::tokenizer {

// Errors are kInvalidArgument naming `source` and the element: "msgs.json: messages[1]: "content"
// must be a string".
common::StatusOr<std::vector<ChatMessage>> ParseChatMessages(std::string_view json_text,
                                                             const std::string& source);
common::StatusOr<std::vector<ChatMessage>> ChatMessagesFromJson(const common::Json& json,
                                                                const std::string& source);

common::Json ChatMessagesToJson(const std::vector<ChatMessage>& messages);

}  // namespace gspo::tokenizer
