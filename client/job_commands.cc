#include "client/job_commands.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <thread>

#include "client/job_format.h"
#include "client/rpc_client.h"
#include "common/config/job_config.h"
#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"

namespace gspo::client {
namespace {

using common::Status;

struct CommandLine {
  ConnectionOptions connection;
  OutputFormat format = OutputFormat::kTable;
  std::vector<std::string> positional;
  std::vector<std::string> sets;
  std::vector<std::string> states;
  std::string reason;
  bool watch = false;
  bool follow = false;
};

int Fail(std::ostream& err, const std::string& command, const Status& status) {
  err << "gspoctl " << command << ": " << status.message() << "\n";
  return common::ExitCodeFor(status);
}

int UsageError(std::ostream& err, const std::string& command, const std::string& message) {
  err << "gspoctl " << command << ": " << message << "\n"
      << "usage: gspoctl [--server ADDR] [--token-file FILE] [-o table|json|yaml] " << command
      << (command == "submit"    ? " [job.yaml] [--set FIELD=VALUE]... [--watch] [flags]"
          : command == "list"    ? " [--state STATE]..."
          : command == "logs"    ? " JOB [--follow]"
          : command == "cancel"  ? " JOB [--reason TEXT]"
          : command == "workers" ? ""
                                 : " JOB")
      << "\n";
  if (command == "submit") {
    err << "The reference guide's flags build or override the spec (job.yaml is optional with them):\n"
        << config::GuideFlagsHelp();
  }
  return 2;
}

// An override as the server takes it: FIELD=VALUE, the value YAML. A flag's text value (a model
// name, a directory) goes as a JSON string, which YAML reads back exactly as typed.
std::string AsSetArgument(const config::Override& o) {
  return o.path + "=" + (o.value_is_yaml ? o.value : common::QuoteJsonString(o.value));
}

common::StatusOr<CommandLine> Parse(const std::string& command,
                                    const std::vector<std::string>& args) {
  CommandLine line;
  bool guide_flags = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (command == "submit") {  // --model, --task, --use-4bit ...: the guide's flags
      std::vector<config::Override> overrides;
      std::size_t next = i;
      GSPO_ASSIGN_OR_RETURN(const bool taken, config::ParseGuideFlag(args, &next, &overrides));
      if (taken) {
        for (const config::Override& o : overrides) line.sets.push_back(AsSetArgument(o));
        guide_flags = true;
        i = next - 1;
        continue;
      }
    }
    auto value = [&](const char* flag) -> common::StatusOr<std::string> {
      if (i + 1 >= args.size())
        return common::InvalidArgumentError(std::string(flag) + " needs a value");
      return args[++i];
    };
    if (arg == "--server") {
      GSPO_ASSIGN_OR_RETURN(line.connection.server, value("--server"));
    } else if (arg == "--token-file") {
      GSPO_ASSIGN_OR_RETURN(line.connection.token_file, value("--token-file"));
    } else if (arg == "--tls-ca") {
      GSPO_ASSIGN_OR_RETURN(line.connection.tls_ca_file, value("--tls-ca"));
    } else if (arg == "-o" || arg == "--output") {
      GSPO_ASSIGN_OR_RETURN(std::string format, value("-o"));
      if (format == "table")
        line.format = OutputFormat::kTable;
      else if (format == "json")
        line.format = OutputFormat::kJson;
      else if (format == "yaml")
        line.format = OutputFormat::kYaml;
      else
        return common::InvalidArgumentError("-o: expected table, json or yaml, got '" + format +
                                            "'");
    } else if (arg == "--set" && command == "submit") {
      GSPO_ASSIGN_OR_RETURN(std::string set, value("--set"));
      line.sets.push_back(set);
    } else if (arg == "--watch" && command == "submit") {
      line.watch = true;
    } else if ((arg == "--follow" || arg == "-f") && command == "logs") {
      line.follow = true;
    } else if (arg == "--reason" && command == "cancel") {
      GSPO_ASSIGN_OR_RETURN(line.reason, value("--reason"));
    } else if (arg == "--state" && command == "list") {
      GSPO_ASSIGN_OR_RETURN(std::string state, value("--state"));
      line.states.push_back(state);
    } else if (arg.size() > 1 && arg[0] == '-') {
      return common::InvalidArgumentError("unknown option '" + arg + "'");
    } else {
      line.positional.push_back(arg);
    }
  }
  const std::size_t wanted = command == "list" || command == "workers" ? 0 : 1;
  const bool flags_alone = command == "submit" && guide_flags && line.positional.empty();
  if (line.positional.size() != wanted && !flags_alone) {
    return common::InvalidArgumentError(wanted == 0           ? "takes no arguments"
                                        : command == "submit" ? "expected one job file"
                                                              : "expected one job id");
  }
  return line;
}

std::string CurrentDirectory() {
  char buffer[PATH_MAX];
  return ::getcwd(buffer, sizeof(buffer)) != nullptr ? buffer : "";
}

std::string Absolute(const std::string& path) {
  return path.empty() || path[0] == '/' ? path : common::JoinPath(CurrentDirectory(), path);
}

// --- watch ---

int Watch(RpcClient& client, const std::string& job_id, OutputFormat format, std::ostream& out,
          std::ostream& err) {
  const bool terminal = format == OutputFormat::kTable && &out == &std::cout && ::isatty(1);
  std::int64_t after_step = 0;
  v1::Job last;
  bool have_job = false;
  auto failing_since = std::chrono::steady_clock::now();
  bool failing = false;
  while (true) {
    v1::WatchJobRequest request;
    request.set_job_id(job_id);
    request.set_after_step(after_step);
    auto context = client.NewContext(std::nullopt);
    auto reader = client.stub().WatchJob(context.get(), request);
    v1::JobEvent event;
    while (reader->Read(&event)) {
      failing = false;
      last = event.job();
      have_job = true;
      if (!event.has_step()) continue;
      const v1::StepMetrics& step = event.step();
      after_step = step.step();
      // ETA from the job's own pace (start time and steps done), so that steps replayed to a
      // late watcher do not distort it.
      double eta = -1;
      const double now_ms =
          static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
      if (last.start_time_ms() > 0 && step.step() > 0 && now_ms > last.start_time_ms()) {
        const double per_step = (now_ms - static_cast<double>(last.start_time_ms())) / 1000.0 /
                                static_cast<double>(step.step());
        eta = per_step *
              static_cast<double>(std::max<std::int64_t>(last.total_steps() - step.step(), 0));
      }
      if (format != OutputFormat::kTable) {
        common::Json json =
            common::Json::Object({{"job", common::Json::String(job_id)},
                                  {"step", common::Json::Integer(step.step())},
                                  {"total_steps", common::Json::Integer(last.total_steps())},
                                  {"metrics", StepToJson(step)}});
        out << common::WriteJson(json) << "\n";
      } else if (terminal) {
        out << "\r\033[K" << FormatStepLine(step, last.total_steps(), eta) << std::flush;
      } else {
        out << FormatStepLine(step, last.total_steps(), eta) << "\n" << std::flush;
      }
    }
    grpc::Status status = reader->Finish();
    if (status.ok() && have_job &&
        (last.state() == v1::JOB_STATE_SUCCEEDED || last.state() == v1::JOB_STATE_FAILED ||
         last.state() == v1::JOB_STATE_CANCELLED)) {
      break;
    }
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::CANCELLED) {
      return Fail(err, "watch", client.Error(status));
    }
    // The coordinator went away (restart): keep trying for two minutes.
    const auto now = std::chrono::steady_clock::now();
    if (!failing) {
      failing = true;
      failing_since = now;
    } else if (now - failing_since > std::chrono::minutes(2)) {
      return Fail(err, "watch", client.Error(status));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (terminal) out << "\n";
  if (format == OutputFormat::kTable) {
    out << last.id() << " " << StateName(last.state())
        << (last.reason().empty() ? "" : ": " + last.reason()) << "\n";
  } else {
    PrintValue(JobToJson(last), format, out);
  }
  return last.state() == v1::JOB_STATE_SUCCEEDED ? 0 : 1;
}

// --- the commands ---

int Submit(RpcClient& client, const CommandLine& line, std::ostream& out, std::ostream& err) {
  v1::SubmitJobRequest request;
  if (line.positional.empty()) {  // the guide's flags alone describe the job: no fields from a file
    request.set_spec_yaml("{}\n");
    request.set_file_name("command line");
    request.set_job_dir(CurrentDirectory());
  } else {
    const std::string& file = line.positional[0];
    auto text = common::ReadFileToString(file, 4 << 20);
    if (!text.ok()) return Fail(err, "submit", text.status());
    request.set_spec_yaml(*text);
    request.set_file_name(file);
    request.set_job_dir(Absolute(common::DirName(file)));
  }
  for (const std::string& set : line.sets) request.add_set(set);
  request.set_working_dir(CurrentDirectory());
  v1::SubmitJobResponse response;
  auto context = client.NewContext();
  grpc::Status status = client.stub().SubmitJob(context.get(), request, &response);
  if (!status.ok()) return Fail(err, "submit", client.Error(status));
  for (const std::string& warning : response.warnings()) err << "warning: " << warning << "\n";
  if (line.format == OutputFormat::kTable) {
    out << "submitted " << response.job().id() << " (" << response.job().name() << ", "
        << StateName(response.job().state()) << ")\n";
  } else if (!line.watch) {
    PrintValue(JobToJson(response.job()), line.format, out);
  }
  if (!line.watch) return 0;
  return Watch(client, response.job().id(), line.format, out, err);
}

int List(RpcClient& client, const CommandLine& line, std::ostream& out, std::ostream& err) {
  v1::ListJobsRequest request;
  for (const std::string& state : line.states) {
    v1::JobState value;
    std::string upper;
    for (char c : state) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!v1::JobState_Parse("JOB_STATE_" + upper, &value) || value == v1::JOB_STATE_UNSPECIFIED) {
      return Fail(
          err, "list",
          common::InvalidArgumentError("--state: expected queued, scheduled, running, succeeded, "
                                       "failed or cancelled, got '" +
                                       state + "'"));
    }
    request.add_states(value);
  }
  v1::ListJobsResponse response;
  auto context = client.NewContext();
  grpc::Status status = client.stub().ListJobs(context.get(), request, &response);
  if (!status.ok()) return Fail(err, "list", client.Error(status));
  std::vector<v1::Job> jobs(response.jobs().begin(), response.jobs().end());
  if (line.format == OutputFormat::kTable) {
    PrintJobTable(jobs, out);
  } else {
    std::vector<common::Json> items;
    for (const v1::Job& job : jobs) items.push_back(JobToJson(job));
    PrintValue(common::Json::Array(std::move(items)), line.format, out);
  }
  return 0;
}

int Status_(RpcClient& client, const CommandLine& line, std::ostream& out, std::ostream& err) {
  v1::GetJobRequest request;
  request.set_job_id(line.positional[0]);
  v1::Job job;
  auto context = client.NewContext();
  grpc::Status status = client.stub().GetJob(context.get(), request, &job);
  if (!status.ok()) return Fail(err, "status", client.Error(status));
  if (line.format == OutputFormat::kTable) {
    PrintJobDetails(job, out);
  } else {
    PrintValue(JobToJson(job), line.format, out);
  }
  return 0;
}

int Cancel(RpcClient& client, const CommandLine& line, std::ostream& out, std::ostream& err) {
  v1::CancelJobRequest request;
  request.set_job_id(line.positional[0]);
  request.set_reason(line.reason);
  v1::Job job;
  auto context = client.NewContext();
  grpc::Status status = client.stub().CancelJob(context.get(), request, &job);
  if (!status.ok()) return Fail(err, "cancel", client.Error(status));
  if (line.format == OutputFormat::kTable) {
    out << job.id() << " " << StateName(job.state()) << "\n";
  } else {
    PrintValue(JobToJson(job), line.format, out);
  }
  return 0;
}

int Logs(RpcClient& client, const CommandLine& line, std::ostream& out, std::ostream& err) {
  v1::GetJobLogsRequest request;
  request.set_job_id(line.positional[0]);
  request.set_follow(line.follow);
  auto context = client.NewContext(
      line.follow ? std::nullopt : std::optional<std::chrono::seconds>(std::chrono::seconds(60)));
  auto reader = client.stub().GetJobLogs(context.get(), request);
  v1::LogLines chunk;
  while (reader->Read(&chunk)) {
    for (const std::string& l : chunk.lines()) out << l << "\n";
    out << std::flush;
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Fail(err, "logs", client.Error(status));
  return 0;
}

int Workers(RpcClient& client, const CommandLine& line, std::ostream& out, std::ostream& err) {
  v1::ListWorkersResponse response;
  auto context = client.NewContext();
  grpc::Status status =
      client.stub().ListWorkers(context.get(), v1::ListWorkersRequest(), &response);
  if (!status.ok()) return Fail(err, "workers", client.Error(status));
  std::vector<v1::WorkerInfo> workers(response.workers().begin(), response.workers().end());
  if (line.format == OutputFormat::kTable) {
    PrintWorkerTable(workers, out);
  } else {
    std::vector<common::Json> items;
    for (const auto& w : workers) items.push_back(WorkerToJson(w));
    PrintValue(common::Json::Array(std::move(items)), line.format, out);
  }
  return 0;
}

}  // namespace

bool IsJobCommand(const std::string& command) {
  for (const char* name : {"submit", "list", "status", "watch", "logs", "cancel", "workers"}) {
    if (command == name) return true;
  }
  return false;
}

int RunJobCommand(const std::string& command, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
  auto line = Parse(command, args);
  if (!line.ok()) return UsageError(err, command, line.status().message());
  auto client = RpcClient::Connect(WithEnvironmentDefaults(line->connection));
  if (!client.ok()) return Fail(err, command, client.status());
  RpcClient& c = **client;
  if (command == "submit") return Submit(c, *line, out, err);
  if (command == "list") return List(c, *line, out, err);
  if (command == "status") return Status_(c, *line, out, err);
  if (command == "watch") return Watch(c, line->positional[0], line->format, out, err);
  if (command == "logs") return Logs(c, *line, out, err);
  if (command == "cancel") return Cancel(c, *line, out, err);
  return Workers(c, *line, out, err);
}

}  // namespace gspo::client
