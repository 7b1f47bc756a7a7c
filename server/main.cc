// gspo-server: the coordinator. This build validates job specs the way SubmitJob will
// (`gspo-server --check-job job.yaml`); the gRPC services arrive with the control plane.
#include <iostream>
#include <string>
#include <vector>

#include "client/validate_command.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    std::cout << "usage: gspo-server --check-job job.yaml [--set FIELD=VALUE]...\n";
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << "gspo-server " << GSPO_VERSION << "\n";
    return 0;
  }
  if (args.empty() || args[0] != "--check-job") {
    std::cerr << "gspo-server: this build has no gRPC services yet; only --check-job is available\n"
              << "usage: gspo-server --check-job job.yaml [--set FIELD=VALUE]...\n";
    return 2;
  }
  args.erase(args.begin());
  return gspo::client::RunValidateCommand("gspo-server", args, std::cout, std::cerr);
}
