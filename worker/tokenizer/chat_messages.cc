#include "worker/tokenizer/chat_messages.h"

#include <utility>

namespace gspo::tokenizer {

using common::InvalidArgumentError;
using common::Json;

common::StatusOr<std::vector<ChatMessage>> ChatMessagesFromJson(const Json& json,
                                                                const std::string& source) {
  const Json* list = &json;
  if (json.is_object()) list = json.Find("messages");
  if (list == nullptr || !list->is_array()) {
    return InvalidArgumentError(source +
                                ": expected a list of messages, or an object with one "
                                "under \"messages\"");
  }
  std::vector<ChatMessage> messages;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = list->elements()[i];
    const std::string where = source + ": messages[" + std::to_string(i) + "]: ";
    if (!item.is_object()) return InvalidArgumentError(where + "expected an object");
    const Json* role = item.Find("role");
    if (role == nullptr || !role->is_string()) {
      return InvalidArgumentError(where + "\"role\" must be a string");
    }
    const Json* content = item.Find("content");
    if (content == nullptr || !content->is_string()) {
      return InvalidArgumentError(where + "\"content\" must be a string");
    }
    if (item.Find("tool_calls") != nullptr) {
      return InvalidArgumentError(where + "\"tool_calls\" are not supported");
    }
    ChatMessage message{role->AsString(), content->AsString(), std::nullopt};
    if (const Json* reasoning = item.Find("reasoning_content");
        reasoning && !reasoning->is_null()) {
      if (!reasoning->is_string()) {
        return InvalidArgumentError(where + "\"reasoning_content\" must be a string or null");
      }
      message.reasoning_content = reasoning->AsString();
    }
    messages.push_back(std::move(message));
  }
  return messages;
}

common::StatusOr<std::vector<ChatMessage>> ParseChatMessages(std::string_view json_text,
                                                             const std::string& source) {
  GSPO_ASSIGN_OR_RETURN(Json json, common::ParseJson(json_text, source));
  return ChatMessagesFromJson(json, source);
}

Json ChatMessagesToJson(const std::vector<ChatMessage>& messages) {
  std::vector<Json> list;
  for (const ChatMessage& message : messages) {
    std::vector<Json::Member> members = {{"role", Json::String(message.role)},
                                         {"content", Json::String(message.content)}};
    if (message.reasoning_content) {
      members.emplace_back("reasoning_content", Json::String(*message.reasoning_content));
    }
    list.push_back(Json::Object(std::move(members)));
  }
  return Json::Array(std::move(list));
}

}  // namespace gspo::tokenizer
