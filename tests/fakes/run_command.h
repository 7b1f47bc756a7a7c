// Running the project's binaries from tests as users run them: a shell command line, its exit
// code and what it printed on stdout (the command's own redirections decide about stderr).
// Stateless; safe from any thread.
#pragma once

#include <string>

namespace gspo::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string output;
};

CommandResult RunShellCommand(const std::string& command);

// `text` as one shell word: 'text', with embedded quotes escaped.
std::string ShellQuote(const std::string& text);

}  // namespace gspo::testing
