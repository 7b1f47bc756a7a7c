// The gspo tool's tokenizer subcommands (each returns a process exit code: 0, 1 runtime, 2 usage
// or bad input). TOK is a model directory (tokenizer.json or tokenizer.model, and the chat
// configs), a repo id in the local Hugging Face cache, or a tokenizer.json file.
//   tokenize        --tokenizer TOK (--text S | --text-file F) [--add-special-tokens] [--json]
//                   ids of the text (a file is taken byte for byte); --json: a JSON array,
//                   else ids separated by spaces
//   detokenize      --tokenizer TOK --ids '[1, 2, 3]' [--skip-special-tokens]
//                   the text, exactly (no newline added)
//   chat            --tokenizer TOK --messages F.json [--add-generation-prompt] [--no-thinking]
//                   [--date-string S] [--ids [--json]]
//                   the conversation as the model's chat template renders it (exactly, no newline
//                   added), or its ids
//   bench-tokenizer --tokenizer TOK --text-file F [--reps N]
//                   single-thread encode throughput of the whole text and line by line, as JSON
#pragma once

#include <string>
#include <vector>

namespace gspo::tools {

int RunTokenize(const std::vector<std::string>& args);
int RunDetokenize(const std::vector<std::string>& args);
int RunChat(const std::vector<std::string>& args);
int RunBenchTokenizer(const std::vector<std::string>& args);

}  // namespace gspo::tools
