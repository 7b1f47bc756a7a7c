#include "worker/tools/tokenizer_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string_view>

#include "common/files.h"
#include "common/json.h"
#include "common/model_dir.h"
#include "common/strings.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/chat_messages.h"
#include "worker/tokenizer/tokenizer.h"
#include "worker/tools/flags.h"
#include "worker/tools/model_commands.h"

namespace gspo::tools {
namespace {

using common::InvalidArgumentError;
using common::Json;
using common::Status;
using common::StatusOr;
using tokenizer::ChatFormat;
using tokenizer::Tokenizer;

constexpr std::size_t kMaxTextBytes = std::size_t{1} << 30;
constexpr std::size_t kMaxMessagesBytes = 64 << 20;

// --tokenizer: a tokenizer.json file, a directory, or a repo id in the local Hugging Face cache.
// Returns the directory (the file's, for a file) and, when `load`, the tokenizer.
struct TokenizerSource {
  std::string dir;
  std::unique_ptr<Tokenizer> tokenizer;
};

StatusOr<TokenizerSource> OpenTokenizer(const Flags& flags, bool load) {
  GSPO_ASSIGN_OR_RETURN(std::string name, flags.Required("--tokenizer"));
  TokenizerSource source;
  if (common::PathExists(name) && !common::IsDirectory(name)) {
    source.dir = common::DirName(name);
    if (load) {
      GSPO_ASSIGN_OR_RETURN(source.tokenizer, Tokenizer::FromFile(name));
    }
    return source;
  }
  std::optional<std::string> dir = common::FindModelDirectory(name);
  if (!dir) {
    return common::NotFoundError("--tokenizer " + name + ": not a file or directory, and not in " +
                                 "the local Hugging Face cache");
  }
  source.dir = *dir;
  if (load) {
    GSPO_ASSIGN_OR_RETURN(source.tokenizer, Tokenizer::FromDirectory(*dir));
  }
  return source;
}

std::string IdsToJson(const std::vector<std::int32_t>& ids) {
  std::vector<Json> items;
  items.reserve(ids.size());
  for (std::int32_t id : ids) items.push_back(Json::Integer(id));
  return common::WriteJson(Json::Array(std::move(items)));
}

std::string IdsToText(const std::vector<std::int32_t>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out;
}

// --ids: a JSON array of integers (checked against the vocabulary once it is loaded).
StatusOr<std::vector<std::int64_t>> ParseIds(const std::string& text) {
  Status not_ids = InvalidArgumentError("--ids: expected a JSON array of integers, got " +
                                        common::QuoteForMessage(text));
  auto json = common::ParseJson(text, "--ids");
  if (!json.ok()) return InvalidArgumentError(json.status().message());
  if (!json->is_array()) return not_ids;
  std::vector<std::int64_t> ids;
  for (const Json& item : json->elements()) {
    const std::optional<std::int64_t> id = item.AsInt64();
    if (!item.is_number() || !id) return not_ids;
    ids.push_back(*id);
  }
  return ids;
}

StatusOr<std::vector<std::int32_t>> CheckIds(const std::vector<std::int64_t>& ids,
                                             std::int32_t vocab_size) {
  std::vector<std::int32_t> checked;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size) {
      return InvalidArgumentError("--ids: id " + std::to_string(ids[i]) + " at position " +
                                  std::to_string(i) + " is outside the vocabulary [0, " +
                                  std::to_string(vocab_size) + ")");
    }
    checked.push_back(static_cast<std::int32_t>(ids[i]));
  }
  return checked;
}

Status Tokenize(const std::vector<std::string>& args) {
  Flags flags({"--tokenizer", "--text", "--text-file"}, {"--add-special-tokens", "--json"});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  if (flags.Has("--text") == flags.Has("--text-file")) {
    return InvalidArgumentError("give exactly one of --text and --text-file");
  }
  std::string text = flags.Get("--text", "");
  if (flags.Has("--text-file")) {
    GSPO_ASSIGN_OR_RETURN(text,
                          common::ReadFileToString(flags.Get("--text-file", ""), kMaxTextBytes));
  }
  GSPO_ASSIGN_OR_RETURN(TokenizerSource source, OpenTokenizer(flags, /*load=*/true));
  const auto ids = source.tokenizer->Encode(text, flags.Has("--add-special-tokens"));
  std::cout << (flags.Has("--json") ? IdsToJson(ids) : IdsToText(ids)) << "\n";
  return Status::Ok();
}

Status Detokenize(const std::vector<std::string>& args) {
  Flags flags({"--tokenizer", "--ids"}, {"--skip-special-tokens"});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string ids_text, flags.Required("--ids"));
  GSPO_ASSIGN_OR_RETURN(std::vector<std::int64_t> parsed, ParseIds(ids_text));
  GSPO_ASSIGN_OR_RETURN(TokenizerSource source, OpenTokenizer(flags, /*load=*/true));
  GSPO_ASSIGN_OR_RETURN(auto ids, CheckIds(parsed, source.tokenizer->vocab_size()));
  std::cout << source.tokenizer->Decode(ids, flags.Has("--skip-special-tokens"));
  return Status::Ok();
}

Status Chat(const std::vector<std::string>& args) {
  Flags flags({"--tokenizer", "--messages", "--date-string"},
              {"--add-generation-prompt", "--no-thinking", "--ids", "--json"});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string path, flags.Required("--messages"));
  if (flags.Has("--json") && !flags.Has("--ids")) {
    return InvalidArgumentError("--json goes with --ids (the rendered text is printed as is)");
  }
  GSPO_ASSIGN_OR_RETURN(std::string json, common::ReadFileToString(path, kMaxMessagesBytes));
  GSPO_ASSIGN_OR_RETURN(auto messages, tokenizer::ParseChatMessages(json, path));
  GSPO_ASSIGN_OR_RETURN(TokenizerSource source, OpenTokenizer(flags, flags.Has("--ids")));
  GSPO_ASSIGN_OR_RETURN(ChatFormat format, ChatFormat::FromDirectory(source.dir));
  tokenizer::ChatOptions options;
  options.add_generation_prompt = flags.Has("--add-generation-prompt");
  options.enable_thinking = !flags.Has("--no-thinking");
  options.date_string = flags.Get("--date-string", options.date_string);
  auto text = format.Render(messages, options);
  if (!text.ok()) return {text.status().code(), path + ": " + text.status().message()};
  if (!flags.Has("--ids")) {
    std::cout << *text;
    return Status::Ok();
  }
  const auto ids = source.tokenizer->Encode(*text, /*add_special_tokens=*/false);
  std::cout << (flags.Has("--json") ? IdsToJson(ids) : IdsToText(ids)) << "\n";
  return Status::Ok();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Encodes `pieces` reps + 1 times (the first warms up); median seconds and tokens of one pass.
std::pair<double, std::size_t> TimeEncode(const Tokenizer& tokenizer,
                                          const std::vector<std::string_view>& pieces,
                                          std::int64_t reps) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> seconds;
  std::size_t tokens = 0;
  for (std::int64_t r = 0; r <= reps; ++r) {
    tokens = 0;
    const auto start = Clock::now();
    for (std::string_view piece : pieces) tokens += tokenizer.Encode(piece, false).size();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (r > 0) seconds.push_back(elapsed);
  }
  return {Median(seconds), tokens};
}

Json Timing(const std::pair<double, std::size_t>& timing, std::size_t bytes) {
  return Json::Object(
      {{"median_s", Json::Number(timing.first)},
       {"mb_per_s", Json::Number(timing.first > 0 ? bytes / 1e6 / timing.first : 0)},
       {"tokens", Json::Integer(static_cast<std::int64_t>(timing.second))}});
}

Status BenchTokenizer(const std::vector<std::string>& args) {
  Flags flags({"--tokenizer", "--text-file", "--reps"}, {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string path, flags.Required("--text-file"));
  GSPO_ASSIGN_OR_RETURN(std::int64_t reps, flags.Int("--reps", 5));
  if (reps < 1) return InvalidArgumentError("--reps must be >= 1");
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, kMaxTextBytes));
  const auto load_start = std::chrono::steady_clock::now();
  GSPO_ASSIGN_OR_RETURN(TokenizerSource source, OpenTokenizer(flags, /*load=*/true));
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

  // Lines keep their "\n", as Python's str.splitlines(keepends=True) on "\n"-only text.
  std::vector<std::string_view> lines;
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t newline = text.find('\n', begin);
    const std::size_t end = newline == std::string::npos ? text.size() : newline + 1;
    lines.push_back(std::string_view(text).substr(begin, end - begin));
    begin = end;
  }
  const Json result = Json::Object({
      {"tokenizer", Json::String(source.dir)},
      {"text_file", Json::String(path)},
      {"bytes", Json::Integer(static_cast<std::int64_t>(text.size()))},
      {"lines", Json::Integer(static_cast<std::int64_t>(lines.size()))},
      {"reps", Json::Integer(reps)},
      {"threads", Json::Integer(1)},
      {"load_s", Json::Number(load_s)},
      {"whole_text", Timing(TimeEncode(*source.tokenizer, {text}, reps), text.size())},
      {"by_line", Timing(TimeEncode(*source.tokenizer, lines, reps), text.size())},
  });
  std::cout << common::WriteJson(result) << "\n";
  return Status::Ok();
}

}  // namespace

int RunTokenize(const std::vector<std::string>& args) {
  return GuardedCommand("tokenize", [&] { return Tokenize(args); });
}
int RunDetokenize(const std::vector<std::string>& args) {
  return GuardedCommand("detokenize", [&] { return Detokenize(args); });
}
int RunChat(const std::vector<std::string>& args) {
  return GuardedCommand("chat", [&] { return Chat(args); });
}
int RunBenchTokenizer(const std::vector<std::string>& args) {
  return GuardedCommand("bench-tokenizer", [&] { return BenchTokenizer(args); });
}

}  // namespace gspo::tools
