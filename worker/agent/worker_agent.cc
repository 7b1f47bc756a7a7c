#include "worker/agent/worker_agent.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <thread>

#include "common/files.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/utf8.h"

namespace gspo::worker {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(250);
constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr auto kKillGrace = std::chrono::milliseconds(5000);
constexpr std::size_t kMaxPendingSteps = 10000;
constexpr std::size_t kMaxPendingLines = 20000;
constexpr std::size_t kLinesPerReport = 1000;

bool IsSafeIdPart(const std::string& text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

common::StatusOr<std::vector<std::string>> ParseDeviceList(const std::string& list) {
  if (list == "cpu") return std::vector<std::string>{"cpu:0"};
  std::vector<std::string> devices;
  for (const std::string& raw : common::Split(list, ',')) {
    const std::string item = common::Trim(raw);
    std::string index = item;
    std::string kind = "cuda";
    if (common::StartsWith(item, "cpu:")) {
      kind = "cpu";
      index = item.substr(4);
    } else if (common::StartsWith(item, "cuda:")) {
      index = item.substr(5);
    }
    if (index.empty() || index.size() > 4 ||
        index.find_first_not_of("0123456789") != std::string::npos) {
      return common::InvalidArgumentError(
          "--devices: expected 'cpu' or a comma-separated list of "
          "GPU indices (0,1) or cpu:N/cuda:N, got " +
          common::QuoteForMessage(item));
    }
    devices.push_back(kind + ":" + index);
  }
  std::vector<std::string> sorted = devices;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return common::InvalidArgumentError("--devices: a device is listed twice in '" + list + "'");
  }
  return devices;
}

WorkerAgent::WorkerAgent(AgentOptions options) : options_(std::move(options)) {}

WorkerAgent::~WorkerAgent() = default;

std::string WorkerAgent::Key(const v1::RankRef& ref) {
  return ref.job_id() + "/" + std::to_string(ref.attempt()) + "/" + std::to_string(ref.rank());
}

grpc::Status WorkerAgent::Call(const char* what,
                               const std::function<grpc::Status(grpc::ClientContext*)>& fn) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + options_.token);
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  grpc::Status status = fn(&context);
  if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
    common::LogWarning("coordinator call failed", {{"call", what},
                                                   {"code", static_cast<int>(status.error_code())},
                                                   {"error", status.error_message()}});
  }
  return status;
}

bool WorkerAgent::Register() {
  v1::RegisterWorkerRequest request;
  request.set_worker_id(options_.worker_id);
  request.set_hostname(options_.hostname);
  for (const std::string& d : options_.devices) request.add_devices(d);
  for (const auto& [key, rank] : ranks_) {
    auto* status = request.add_ranks();
    status->set_job_id(rank.ref.job_id());
    status->set_attempt(rank.ref.attempt());
    status->set_rank(rank.ref.rank());
    status->set_finished(rank.finished);
    status->set_exit_code(rank.exit_code);
    status->set_reason(rank.reason);
  }
  v1::RegisterWorkerResponse response;
  grpc::Status status = Call("RegisterWorker", [&](grpc::ClientContext* c) {
    return stub_->RegisterWorker(c, request, &response);
  });
  if (!status.ok()) return false;
  if (response.heartbeat_interval_ms() > 0) {
    heartbeat_interval_ = std::chrono::milliseconds(response.heartbeat_interval_ms());
  }
  // The registration carried the finished ranks' results.
  for (auto it = ranks_.begin(); it != ranks_.end();) {
    it = it->second.finished ? ranks_.erase(it) : std::next(it);
  }
  registered_ = true;
  common::LogInfo("registered with the coordinator",
                  {{"worker", options_.worker_id}, {"coordinator", options_.coordinator}});
  return true;
}

bool WorkerAgent::Heartbeat() {
  v1::HeartbeatRequest request;
  request.set_worker_id(options_.worker_id);
  for (const auto& [key, rank] : ranks_) {
    if (rank.finished) continue;
    auto* status = request.add_ranks();
    status->set_job_id(rank.ref.job_id());
    status->set_attempt(rank.ref.attempt());
    status->set_rank(rank.ref.rank());
  }
  v1::HeartbeatResponse response;
  grpc::Status status = Call(
      "Heartbeat", [&](grpc::ClientContext* c) { return stub_->Heartbeat(c, request, &response); });
  if (!status.ok()) return false;
  if (response.reregister()) {
    registered_ = false;
    return true;
  }
  // Stops first, so that a slot is free before a new rank starts on it.
  for (const v1::RankRef& ref : response.stop()) StopRank(ref);
  for (const v1::Assignment& assignment : response.assignments()) StartRank(assignment);
  return true;
}

void WorkerAgent::StopRank(const v1::RankRef& ref) {
  auto it = ranks_.find(Key(ref));
  if (it == ranks_.end()) return;
  common::LogInfo("stopping rank",
                  {{"job", ref.job_id()}, {"attempt", ref.attempt()}, {"rank", ref.rank()}});
  it->second.process->Kill(kKillGrace);
  ranks_.erase(it);
}

void WorkerAgent::StartRank(const v1::Assignment& a) {
  v1::RankRef ref;
  ref.set_job_id(a.job_id());
  ref.set_attempt(a.attempt());
  ref.set_rank(a.rank());
  const std::string key = Key(ref);
  if (ranks_.count(key)) return;
  if (std::find(options_.devices.begin(), options_.devices.end(), a.device()) ==
          options_.devices.end() ||
      !IsSafeIdPart(a.job_id()) || a.output_dir().empty() || a.output_dir()[0] != '/' ||
      a.output_dir().find("/../") != std::string::npos || common::EndsWith(a.output_dir(), "/..")) {
    common::LogError("ignoring an assignment this worker cannot run",
                     {{"job", a.job_id()}, {"device", a.device()}, {"output_dir", a.output_dir()}});
    return;
  }
  const std::string work_dir = common::JoinPath(
      options_.work_root, "jobs/" + a.job_id() + "/attempt-" + std::to_string(a.attempt()) +
                              "/rank-" + std::to_string(a.rank()));
  Rank rank;
  rank.ref = ref;
  rank.device = a.device();
  rank.output_dir = a.output_dir();
  auto fail = [&](const common::Status& status) {
    rank.finished = true;
    rank.exit_code = 1;
    rank.reason = "cannot start the rank: " + status.message();
    ranks_.emplace(key, std::move(rank));
  };
  if (auto made = common::MakeDirectories(work_dir); !made.ok()) return fail(made);
  const std::string spec_path = common::JoinPath(work_dir, "job.yaml");
  if (auto written = common::WriteFileAtomically(spec_path, a.spec_yaml()); !written.ok()) {
    return fail(written);
  }
  RankCommand command;
  command.argv = {options_.gspo_binary, "train", spec_path, "--no-progress"};
  const bool resume = a.resume() && LatestCheckpointStep(a.output_dir()) > 0;
  if (resume) {
    command.argv.push_back("--set");
    command.argv.push_back("output.resume_from_checkpoint=latest");
  }
  if (a.world_size() > 1) {
    // The ranks of a job join one group through a store file that is new for each attempt, in
    // the job's output directory (which every rank of the job writes to).
    const std::string store_dir = common::JoinPath(a.output_dir(), ".ranks");
    if (auto made = common::MakeDirectories(store_dir); !made.ok()) return fail(made);
    command.argv.insert(command.argv.end(),
                        {"--rank", std::to_string(a.rank()), "--world-size", std::to_string(a.world_size()),
                         "--dist-store",
                         common::JoinPath(store_dir, "attempt-" + std::to_string(a.attempt()) + ".store")});
  }
  command.work_dir = work_dir;
  const bool cpu = common::StartsWith(a.device(), "cpu:");
  command.env["CUDA_VISIBLE_DEVICES"] = cpu ? "" : a.device().substr(5);
  command.env["GSPO_JOB_ID"] = a.job_id();
  command.env["GSPO_RANK"] = std::to_string(a.rank());
  command.env["GSPO_WORLD_SIZE"] = std::to_string(a.world_size());
  // Only rank 0 reports steps; it follows what gets appended from now on (a resumed job appends
  // to the metrics of its earlier attempts).
  const std::string metrics_path = common::JoinPath(a.output_dir(), "metrics.jsonl");
  if (a.rank() == 0)
    rank.metrics = std::make_unique<LineFollower>(metrics_path, FileSize(metrics_path));
  rank.reported_checkpoint = LatestCheckpointStep(a.output_dir());
  auto process = RankProcess::Start(command);
  if (!process.ok()) return fail(process.status());
  rank.process = std::move(*process);
  rank.log = std::make_unique<LineFollower>(rank.process->log_path(), 0);
  common::LogInfo("rank started", {{"job", a.job_id()},
                                   {"attempt", a.attempt()},
                                   {"rank", a.rank()},
                                   {"device", a.device()},
                                   {"pid", rank.process->pid()},
                                   {"resume", resume}});
  ranks_.emplace(key, std::move(rank));
}

void WorkerAgent::PollRanks() {
  for (auto& [key, rank] : ranks_) {
    if (!rank.finished && rank.process) {
      if (auto code = rank.process->Poll()) {
        rank.finished = true;
        rank.exit_code = *code;
        if (*code != 0)
          rank.reason = common::ToValidUtf8(TailOfFile(rank.process->log_path(), 20, 4096));
        common::LogInfo(
            "rank exited",
            {{"job", rank.ref.job_id()}, {"rank", rank.ref.rank()}, {"exit_code", *code}});
      }
    }
    // Collect after the exit check, so the last steps are read before the result is sent.
    if (rank.metrics) {
      for (const std::string& line : rank.metrics->ReadNew(kLinesPerReport)) {
        auto step = ParseMetricsLine(line);
        if (!step || rank.pending_steps.size() >= kMaxPendingSteps) continue;
        v1::StepMetrics metrics;
        metrics.set_step(step->step);
        for (const auto& [name, value] : step->values) (*metrics.mutable_values())[name] = value;
        rank.pending_steps.push_back(std::move(metrics));
      }
    }
    if (rank.log) {
      for (std::string& line : rank.log->ReadNew(kLinesPerReport)) {
        if (rank.pending_lines.size() < kMaxPendingLines)
          rank.pending_lines.push_back(common::ToValidUtf8(line));
      }
    }
  }
  if (!registered_) return;
  for (auto it = ranks_.begin(); it != ranks_.end();) {
    ReportRank(it->second);
    const bool done = it->second.finished && it->second.acked;
    it = done ? ranks_.erase(it) : std::next(it);
  }
}

void WorkerAgent::ReportRank(Rank& rank) {
  if (!rank.pending_steps.empty() || !rank.pending_lines.empty()) {
    v1::ReportProgressRequest request;
    request.set_worker_id(options_.worker_id);
    *request.mutable_rank() = rank.ref;
    for (const auto& s : rank.pending_steps) *request.add_steps() = s;
    for (const auto& l : rank.pending_lines) request.add_log_lines(l);
    v1::Ack ack;
    grpc::Status status = Call("ReportProgress", [&](grpc::ClientContext* c) {
      return stub_->ReportProgress(c, request, &ack);
    });
    // A rank the coordinator no longer wants: its reports are dropped; Heartbeat stops it.
    if (!status.ok() && status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) return;
    rank.pending_steps.clear();
    rank.pending_lines.clear();
  }
  if (rank.ref.rank() == 0 && !rank.output_dir.empty()) {
    const std::int64_t latest = LatestCheckpointStep(rank.output_dir);
    if (latest > rank.reported_checkpoint) {
      v1::ReportCheckpointRequest request;
      request.set_worker_id(options_.worker_id);
      *request.mutable_rank() = rank.ref;
      request.set_step(latest);
      request.set_path(
          common::JoinPath(rank.output_dir, "checkpoints/step-" + std::to_string(latest)));
      v1::Ack ack;
      grpc::Status status = Call("ReportCheckpoint", [&](grpc::ClientContext* c) {
        return stub_->ReportCheckpoint(c, request, &ack);
      });
      if (status.ok() || status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        rank.reported_checkpoint = latest;
      }
    }
  }
  if (rank.finished && rank.pending_steps.empty() && rank.pending_lines.empty()) {
    v1::ReportResultRequest request;
    request.set_worker_id(options_.worker_id);
    auto* result = request.mutable_result();
    result->set_job_id(rank.ref.job_id());
    result->set_attempt(rank.ref.attempt());
    result->set_rank(rank.ref.rank());
    result->set_finished(true);
    result->set_exit_code(rank.exit_code);
    result->set_reason(rank.reason);
    v1::Ack ack;
    grpc::Status status = Call("ReportResult", [&](grpc::ClientContext* c) {
      return stub_->ReportResult(c, request, &ack);
    });
    rank.acked = status.ok();
  }
}

common::Status WorkerAgent::Run() {
  if (options_.gspo_binary.empty() || !common::PathExists(options_.gspo_binary)) {
    return common::InvalidArgumentError("--gspo-binary: '" + options_.gspo_binary +
                                        "' does not exist");
  }
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(options_.work_root));
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options_.tls_ca_file.empty()) {
    GSPO_ASSIGN_OR_RETURN(std::string ca, common::ReadFileToString(options_.tls_ca_file, 1 << 20));
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca;
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  channel_ = grpc::CreateCustomChannel(options_.coordinator, credentials, args);
  stub_ = v1::WorkerService::NewStub(channel_);

  auto backoff = std::chrono::milliseconds(250);
  auto next_heartbeat = SteadyClock::now();
  while (!stop_.load()) {
    if (SteadyClock::now() >= next_heartbeat) {
      const bool reached = registered_ ? Heartbeat() : Register();
      if (reached && registered_) {
        backoff = std::chrono::milliseconds(250);
        next_heartbeat = SteadyClock::now() + heartbeat_interval_;
      } else if (reached) {
        next_heartbeat = SteadyClock::now();  // told to re-register: do it now
      } else {
        next_heartbeat = SteadyClock::now() + backoff;
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      }
    }
    PollRanks();
    std::this_thread::sleep_for(kPollInterval);
  }
  for (auto& [key, rank] : ranks_) {
    if (rank.process) rank.process->Kill(kKillGrace);
  }
  ranks_.clear();
  return common::Status::Ok();
}

}  // namespace gspo::worker
