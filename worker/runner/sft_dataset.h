// The conversations of a supervised fine-tuning job (algorithm: sft): a JSONL file with one
// object per line, {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]},
// the layout Hugging Face chat datasets use. The loss is taken on the assistant turns only.
//
// A conversation is an optional system message, then user and assistant turns alternating,
// starting with a user turn and ending with an assistant turn. Empty lines are skipped; every
// other problem is an error "FILE:LINE:COL: messages[i].role: what was expected" (kInvalidArgument,
// exit code 2), all of a file's errors at once (at most 20 listed).
// Stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::runner {

struct SftMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct SftConversation {
  std::vector<SftMessage> messages;
  std::int64_t line = 0;  // 1-based line in the file, for messages
};

inline constexpr std::size_t kMaxSftDatasetBytes = std::size_t{256} << 20;
inline constexpr std::size_t kMaxSftConversations = 1000000;

// Parses JSONL `text`; `source_name` prefixes error positions.
common::StatusOr<std::vector<SftConversation>> ParseSftDataset(const std::string& source_name,
                                                               const std::string& text);
// Reads `path` (at most kMaxSftDatasetBytes) and parses it; an empty dataset is an error.
common::StatusOr<std::vector<SftConversation>> LoadSftDataset(const std::string& path);

// One line of such a file (no newline), e.g. for `gspo make-sft-data`.
std::string SftConversationJson(const std::vector<SftMessage>& messages);

}  // namespace gspo::runner
