// gspo-server --config server.yaml: the same settings as the command-line flags, as a YAML
// mapping whose keys are the flag names without "--":
//   listen: 0.0.0.0:50051
//   metrics-listen: 0.0.0.0:9090
//   state-dir: /var/lib/gspo
//   client-token-file: /etc/gspo/client.token
//   worker-token-file: /etc/gspo/worker.token
// Flags given on the command line win over the file. Stateless; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::server {

// The keys a server config may hold.
const std::vector<std::string>& ServerConfigKeys();

// The file's settings as flags ("--listen", "0.0.0.0:50051", ...), in file order. Errors
// (kInvalidArgument, kNotFound) name the file, line and column: unreadable YAML, a top level
// that is not a mapping, an unknown key (with the closest known one), a value that is not a
// scalar, a key given twice.
common::StatusOr<std::vector<std::string>> ServerConfigFlags(const std::string& path);

}  // namespace gspo::server
