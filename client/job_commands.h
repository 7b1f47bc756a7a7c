// gspoctl's commands that talk to the coordinator:
//
//   submit job.yaml [--set FIELD=VALUE]... [--watch]   list [--state S]...   status JOB
//   watch JOB   logs JOB [--follow]   cancel JOB [--reason TEXT]   workers
//
// each with [--server ADDR] [--token-file F] [--tls-ca F] [-o table|json|yaml] anywhere on the
// line. Exit codes: 0 done (watch: the job succeeded), 1 failure (the server unreachable, the
// job failed or was cancelled), 2 bad input (unknown flag, bad job spec, unknown job).
// Stateless functions; safe from any thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace gspo::client {

// `command` is one of the names above; `args` exclude the program and command names.
int RunJobCommand(const std::string& command, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err);

bool IsJobCommand(const std::string& command);

}  // namespace gspo::client
