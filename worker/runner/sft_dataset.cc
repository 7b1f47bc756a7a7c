#include "worker/runner/sft_dataset.h"

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"

namespace gspo::runner {
namespace {

constexpr std::size_t kMaxListedErrors = 20;

// Column of the first character of `needle` after `from` on the line, 1-based; 1 when absent.
// Positions of values are not kept by the JSON reader, so a semantic error points at the key.
std::size_t ColumnOf(const std::string& line, const std::string& needle, std::size_t from = 0) {
  const std::size_t at = line.find(needle, from);
  return at == std::string::npos ? 1 : at + 1;
}

// Checks one parsed line; appends "where: path: message" errors.
void CheckConversation(const common::Json& json, const std::string& line,
                       const std::string& where_line, SftConversation* out,
                       std::vector<std::string>* errors) {
  const auto fail = [&](std::size_t column, const std::string& path, const std::string& message) {
    errors->push_back(where_line + ":" + std::to_string(column) + ": " + path + ": " + message);
  };
  if (!json.is_object()) {
    fail(1, "line", "expected an object {\"messages\": [...]}");
    return;
  }
  for (const auto& [key, value] : json.members()) {
    if (key != "messages")
      fail(ColumnOf(line, "\"" + key + "\""), key, "unknown key; expected 'messages'");
  }
  const common::Json* messages = json.Find("messages");
  if (messages == nullptr || !messages->is_array() || messages->size() == 0) {
    fail(ColumnOf(line, "\"messages\""), "messages",
         "expected a non-empty list of {role, content}");
    return;
  }
  // Message objects are found left to right after the list's '['.
  std::size_t search_from = line.find('[', line.find("\"messages\""));
  if (search_from == std::string::npos) search_from = 0;
  std::string previous;  // role of the previous non-system message
  const std::size_t errors_before = errors->size();
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const common::Json& m = messages->elements()[i];
    const std::string path = "messages[" + std::to_string(i) + "]";
    const std::size_t column = ColumnOf(line, "{", search_from);
    search_from = column;
    if (!m.is_object()) {
      fail(column, path, "expected an object {\"role\": ..., \"content\": ...}");
      continue;
    }
    const common::Json* role = m.Find("role");
    const common::Json* content = m.Find("content");
    for (const auto& [key, value] : m.members()) {
      if (key != "role" && key != "content")
        fail(column, path + "." + key, "unknown key; expected 'role' or 'content'");
    }
    if (content == nullptr || !content->is_string()) {
      fail(column, path + ".content", "expected a string");
      continue;
    }
    if (role == nullptr || !role->is_string()) {
      fail(column, path + ".role", "expected a string: system, user or assistant");
      continue;
    }
    const std::string& r = role->AsString();
    if (r != "system" && r != "user" && r != "assistant") {
      std::string message =
          "expected one of system, user, assistant; got " + common::QuoteForMessage(r);
      if (auto close = common::ClosestMatch(r, {"system", "user", "assistant"}))
        message += " (did you mean '" + *close + "'?)";
      fail(column, path + ".role", message);
      continue;
    }
    if (r == "system" && i != 0) {
      fail(column, path + ".role", "a system message may only be the first");
    } else if (r == "user" && previous == "user") {
      fail(column, path + ".role", "expected an assistant turn after a user turn");
    } else if (r == "assistant" && previous != "user") {
      fail(column, path + ".role", "expected a user turn before an assistant turn");
    } else if (r == "assistant" && content->AsString().empty()) {
      fail(column, path + ".content", "an assistant turn needs text: the loss is taken on it");
    }
    if (r != "system") previous = r;
    out->messages.push_back({r, content->AsString()});
  }
  // A message already reported would only repeat itself as a wrong ending.
  if (previous != "assistant" && errors->size() == errors_before) {
    fail(ColumnOf(line, "\"messages\""), "messages",
         "expected the conversation to end with an assistant turn");
  }
}

}  // namespace

common::StatusOr<std::vector<SftConversation>> ParseSftDataset(const std::string& source_name,
                                                               const std::string& text) {
  std::vector<SftConversation> conversations;
  std::vector<std::string> errors;
  const std::vector<std::string> lines = common::Split(text, '\n');
  for (std::size_t n = 0; n < lines.size() && errors.size() < kMaxListedErrors; ++n) {
    std::string line = lines[n];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (common::Trim(line).empty()) continue;
    const std::string where_line = source_name + ":" + std::to_string(n + 1);
    // Parsed without a name, the error reads "1:COL: what"; it becomes "FILE:LINE:COL: what".
    auto json = common::ParseJson(line, "");
    if (!json.ok()) {
      const std::string& m = json.status().message();
      errors.push_back(where_line + ":" + (m.rfind("1:", 0) == 0 ? m.substr(2) : m));
      continue;
    }
    SftConversation conversation;
    conversation.line = static_cast<std::int64_t>(n + 1);
    CheckConversation(*json, line, where_line, &conversation, &errors);
    conversations.push_back(std::move(conversation));
    if (conversations.size() > kMaxSftConversations) {
      return common::InvalidArgumentError(source_name + ": more than " +
                                          std::to_string(kMaxSftConversations) + " conversations");
    }
  }
  if (!errors.empty()) return common::InvalidArgumentError(common::Join(errors, "\n"));
  if (conversations.empty()) {
    return common::InvalidArgumentError(source_name +
                                        ": no conversations; expected one JSON object per line");
  }
  return conversations;
}

common::StatusOr<std::vector<SftConversation>> LoadSftDataset(const std::string& path) {
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, kMaxSftDatasetBytes));
  return ParseSftDataset(path, text);
}

std::string SftConversationJson(const std::vector<SftMessage>& messages) {
  std::string out = "{\"messages\": [";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    out += (i ? ", " : "") + std::string("{\"role\": ") +
           common::QuoteJsonString(messages[i].role) +
           ", \"content\": " + common::QuoteJsonString(messages[i].content) + "}";
  }
  return out + "]}";
}

}  // namespace gspo::runner
