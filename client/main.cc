// gspoctl: the command-line client of the gspo coordinator.
#include <iostream>
#include <string>
#include <vector>

#include "client/job_commands.h"
#include "client/validate_command.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: gspoctl <command> [args]\n\n"
     << "commands:\n"
     << "  submit     submit a job: gspoctl submit [job.yaml] [--set FIELD=VALUE]... [--watch], or with the\n"
     << "             reference guide's flags (--model, --task, --use-4bit ...) instead of or over job.yaml\n"
     << "  validate   resolve and check a job spec offline (gspoctl validate job.yaml -o yaml)\n"
     << "  list       list jobs [--state STATE]...\n"
     << "  status     show one job: gspoctl status JOB\n"
     << "  watch      follow a job's steps until it ends: gspoctl watch JOB\n"
     << "  logs       print a job's log: gspoctl logs JOB [--follow]\n"
     << "  cancel     cancel a job: gspoctl cancel JOB [--reason TEXT]\n"
     << "  workers    list the registered workers\n"
     << "  version    print the version\n\n"
     << "Options of the commands that talk to the coordinator:\n"
     << "  --server HOST:PORT     the coordinator (env GSPO_SERVER, default localhost:50051)\n"
     << "  --token-file FILE      the client token (env GSPO_TOKEN_FILE)\n"
     << "  --tls-ca FILE          CA certificate for TLS (env GSPO_TLS_CA; default plaintext)\n"
     << "  -o table|json|yaml     output format (default table)\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    Usage(std::cerr);
    return 2;
  }
  // Connection and output options may come before the command; they travel after it.
  std::vector<std::string> leading;
  while (args.size() >= 2 && (args[0] == "--server" || args[0] == "--token-file" ||
                              args[0] == "--tls-ca" || args[0] == "-o" || args[0] == "--output")) {
    leading.insert(leading.end(), args.begin(), args.begin() + 2);
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty()) {
    Usage(std::cerr);
    return 2;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  args.insert(args.end(), leading.begin(), leading.end());
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
  if (gspo::client::IsJobCommand(command))
    return gspo::client::RunJobCommand(command, args, std::cout, std::cerr);
  std::cerr << "gspoctl: unknown command '" << command << "'\n";
  Usage(std::cerr);
  return 2;
}
