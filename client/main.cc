// gspoctl: the command-line client of the gspo coordinator.
#include <iostream>
#include <string>
#include <vector>

#include "client/validate_command.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: gspoctl <command> [args]\n\n"
     << "commands:\n"
     << "  validate   resolve and check a job spec offline (gspoctl validate job.yaml -o yaml)\n"
     << "  version    print the version\n\n"
     << "Run 'gspoctl <command> --help' for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    Usage(std::cerr);
    return 2;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "-h" || command == "--help" || command == "help") {
    Usage(std::cout);
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::cout << "gspoctl " << GSPO_VERSION << "\n";
    return 0;
  }
  if (command == "validate")
    return gspo::client::RunValidateCommand("gspoctl", args, std::cout, std::cerr);
  std::cerr << "gspoctl: unknown command '" << command << "'\n";
  Usage(std::cerr);
  return 2;
}
