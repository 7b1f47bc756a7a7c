#include "client/validate_command.h"

#include "common/config/job_config.h"
#include "common/config/spec_encoder.h"
#include "common/config/validate.h"
#include "common/status.h"

namespace gspo::client {
namespace {

void Usage(const std::string& program, std::ostream& os) {
  os << "usage: " << program
     << " validate [job.yaml] [--set FIELD=VALUE]... [flags] [-o yaml|json] [-q]\n"
     << "\nResolves the job spec (presets and defaults filled in) and checks it, offline.\n"
     << "  job.yaml                   the job spec; optional when flags describe the job\n"
     << "  --set FIELD=VALUE          override one field, e.g. --set gspo.num_generations=8\n"
     << "  -o, --output yaml|json     print the resolved spec\n"
     << "  -q, --quiet                print nothing when valid\n"
     << "\nThe reference guide's flags build or override a spec:\n"
     << config::GuideFlagsHelp();
}

int UsageError(const std::string& program, const std::string& message, std::ostream& err) {
  err << program << " validate: " << message << "\n";
  Usage(program, err);
  return 2;
}

}  // namespace

int RunValidateCommand(const std::string& program, const std::vector<std::string>& args,
                       std::ostream& out, std::ostream& err) {
  config::JobSource source;
  std::string format;
  bool quiet = false;
  for (std::size_t i = 0; i < args.size();) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      Usage(program, out);
      return 0;
    }
    if (arg == "-q" || arg == "--quiet") {
      quiet = true;
      ++i;
      continue;
    }
    if (arg == "-o" || arg == "--output" || arg.rfind("--output=", 0) == 0) {
      if (arg.size() > 9 && arg[8] == '=') {
        format = arg.substr(9);
        ++i;
      } else if (i + 1 < args.size()) {
        format = args[i + 1];
        i += 2;
      } else {
        return UsageError(program, arg + " needs yaml or json", err);
      }
      if (format != "yaml" && format != "json") {
        return UsageError(program, "unknown output format '" + format + "'; expected yaml or json",
                          err);
      }
      continue;
    }
    if (arg == "--set") {
      if (i + 1 >= args.size()) return UsageError(program, "--set needs FIELD=VALUE", err);
      auto override = config::ParseSetOverride(args[i + 1]);
      if (!override.ok()) return UsageError(program, override.status().message(), err);
      source.overrides.push_back(*std::move(override));
      i += 2;
      continue;
    }
    auto guide = config::ParseGuideFlag(args, &i, &source.overrides);
    if (!guide.ok()) return UsageError(program, guide.status().message(), err);
    if (*guide) continue;
    if (arg.size() > 1 && arg[0] == '-')
      return UsageError(program, "unknown option '" + arg + "'", err);
    if (source.file)
      return UsageError(program, "more than one job file ('" + *source.file + "', '" + arg + "')",
                        err);
    source.file = arg;
    ++i;
  }
  if (!source.file && source.overrides.empty()) {
    return UsageError(program, "expected a job file or flags such as --model", err);
  }

  auto job = config::ResolveJob(source);
  if (!job.ok()) {
    err << job.status().message() << "\n";
    return common::ExitCodeFor(job.status());
  }
  for (const std::string& warning : job->warnings) err << "warning: " << warning << "\n";
  if (format == "yaml") {
    out << config::EncodeYaml(job->spec, config::DescribeResolution(*job));
  } else if (format == "json") {
    out << config::EncodeJson(job->spec);
  } else if (!quiet) {
    const auto& spec = job->spec;
    out << (source.file ? *source.file : std::string("job")) << ": valid (" << spec.name()
        << ": preset " << job->size_preset << ", task " << spec.environment().task() << ", "
        << spec.training().prompts_per_step() << " prompts x " << spec.gspo().num_generations()
        << " generations per step on " << spec.resources().gpus() << " rank(s), "
        << spec.gspo().minibatches() << " updates per epoch)\n";
  }
  return 0;
}

}  // namespace gspo::client
