// `validate`: resolves a job spec offline and reports it (gspoctl validate, gspo validate).
//
//   validate [job.yaml] [--set FIELD=VALUE]... [guide flags] [-o yaml|json] [-q]
//
// Exit codes: 0 valid, 2 invalid input or usage. Errors go to `err`, one per line, naming the
// file, line and column or command-line origin, and the field path.
// Stateless; safe from any thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace gspo::client {

// `args` excludes the program and command names. `program` prefixes usage messages.
int RunValidateCommand(const std::string& program, const std::vector<std::string>& args,
                       std::ostream& out, std::ostream& err);

}  // namespace gspo::client
