#include "client/job_format.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>

#include "common/clock.h"

namespace gspo::client {
namespace {

using common::Json;

std::string Time(std::int64_t ms) {
  if (ms <= 0) return "";
  return common::FormatRfc3339Utc(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

Json TimeJson(std::int64_t ms) { return ms > 0 ? Json::String(Time(ms)) : Json::Null(); }

std::string Fixed(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, value);
  return buffer;
}

// A YAML scalar: JSON string quoting is valid YAML, numbers and booleans as they are.
void WriteYaml(const Json& value, int indent, std::ostream& out);

std::string Scalar(const Json& value) {
  switch (value.type()) {
    case Json::Type::kNull:
      return "null";
    case Json::Type::kBool:
      return value.AsBool() ? "true" : "false";
    case Json::Type::kNumber:
      return common::WriteJson(value);
    case Json::Type::kString:
      return common::QuoteJsonString(value.AsString());
    default:
      return "";
  }
}

bool IsContainer(const Json& value) {
  return (value.is_object() || value.is_array()) && value.size() > 0;
}

void WriteYaml(const Json& value, int indent, std::ostream& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  if (value.is_object()) {
    for (const auto& [key, member] : value.members()) {
      out << pad << key << ":";
      if (IsContainer(member)) {
        out << "\n";
        WriteYaml(member, indent + 2, out);
      } else {
        out << " "
            << (member.is_object()  ? "{}"
                : member.is_array() ? "[]"
                                    : Scalar(member))
            << "\n";
      }
    }
  } else if (value.is_array()) {
    for (const Json& element : value.elements()) {
      if (IsContainer(element)) {
        out << pad << "-\n";
        WriteYaml(element, indent + 2, out);
      } else {
        out << pad << "- " << Scalar(element) << "\n";
      }
    }
  } else {
    out << pad << Scalar(value) << "\n";
  }
}

}  // namespace

Json StepToJson(const v1::StepMetrics& step) {
  std::map<std::string, double> sorted(step.values().begin(), step.values().end());
  std::vector<Json::Member> members;
  for (const auto& [name, value] : sorted) members.emplace_back(name, Json::Number(value));
  return Json::Object(std::move(members));
}

std::string StateName(v1::JobState state) {
  std::string name = v1::JobState_Name(state);
  const std::string prefix = "JOB_STATE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

Json JobToJson(const v1::Job& job) {
  std::vector<Json> placements;
  for (const auto& p : job.placements()) {
    placements.push_back(Json::Object({{"rank", Json::Integer(p.rank())},
                                       {"worker_id", Json::String(p.worker_id())},
                                       {"device", Json::String(p.device())}}));
  }
  std::vector<Json::Member> members = {
      {"id", Json::String(job.id())},
      {"name", Json::String(job.name())},
      {"state", Json::String(StateName(job.state()))},
      {"reason", Json::String(job.reason())},
      {"step", Json::Integer(job.step())},
      {"total_steps", Json::Integer(job.total_steps())},
      {"gpus", Json::Integer(job.gpus())},
      {"priority", Json::Integer(job.priority())},
      {"attempt", Json::Integer(job.attempt())},
      {"restarts", Json::Integer(job.restarts())},
      {"max_restarts", Json::Integer(job.max_restarts())},
      {"submit_time", TimeJson(job.submit_time_ms())},
      {"start_time", TimeJson(job.start_time_ms())},
      {"end_time", TimeJson(job.end_time_ms())},
      {"update_time", TimeJson(job.update_time_ms())},
      {"checkpoint_step", Json::Integer(job.checkpoint_step())},
      {"checkpoint_path", Json::String(job.checkpoint_path())},
      {"output_dir", Json::String(job.output_dir())},
      {"placements", Json::Array(std::move(placements))},
      {"last_metrics", StepToJson(job.last_metrics())},
  };
  if (!job.spec_yaml().empty()) members.emplace_back("spec_yaml", Json::String(job.spec_yaml()));
  return Json::Object(std::move(members));
}

Json WorkerToJson(const v1::WorkerInfo& w) {
  std::vector<Json> devices;
  for (const auto& d : w.devices()) devices.push_back(Json::String(d));
  return Json::Object({{"worker_id", Json::String(w.worker_id())},
                       {"hostname", Json::String(w.hostname())},
                       {"devices", Json::Array(std::move(devices))},
                       {"slots_used", Json::Integer(w.slots_used())},
                       {"last_heartbeat", TimeJson(w.last_heartbeat_ms())}});
}

void PrintValue(const Json& value, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kYaml) {
    WriteYaml(value, 0, out);
  } else {
    out << common::WriteJson(value) << "\n";
  }
}

void PrintJobTable(const std::vector<v1::Job>& jobs, std::ostream& out) {
  out << std::left << std::setw(12) << "ID" << std::setw(24) << "NAME" << std::setw(11) << "STATE"
      << std::setw(10) << "STEP" << std::setw(26) << "SUBMITTED"
      << "REASON\n";
  for (const v1::Job& job : jobs) {
    out << std::setw(12) << job.id() << std::setw(24) << job.name() << std::setw(11)
        << StateName(job.state()) << std::setw(10)
        << (std::to_string(job.step()) + "/" + std::to_string(job.total_steps())) << std::setw(26)
        << Time(job.submit_time_ms()) << job.reason().substr(0, 80) << "\n";
  }
}

void PrintJobDetails(const v1::Job& job, std::ostream& out) {
  auto row = [&](const char* key, const std::string& value) {
    if (!value.empty()) out << std::left << std::setw(14) << key << value << "\n";
  };
  row("id", job.id());
  row("name", job.name());
  row("state", StateName(job.state()));
  row("reason", job.reason());
  row("step", std::to_string(job.step()) + "/" + std::to_string(job.total_steps()));
  row("gpus", std::to_string(job.gpus()));
  row("priority", std::to_string(job.priority()));
  row("attempt", std::to_string(job.attempt()));
  row("restarts", std::to_string(job.restarts()) + " of " + std::to_string(job.max_restarts()));
  row("submitted", Time(job.submit_time_ms()));
  row("started", Time(job.start_time_ms()));
  row("ended", Time(job.end_time_ms()));
  row("output_dir", job.output_dir());
  if (job.checkpoint_step() > 0) row("checkpoint", job.checkpoint_path());
  for (const auto& p : job.placements()) {
    row("rank", std::to_string(p.rank()) + " on " + p.worker_id() + " " + p.device());
  }
  if (job.last_metrics().values_size() > 0) {
    row("last step", FormatStepLine(job.last_metrics(), job.total_steps(), -1));
  }
}

void PrintWorkerTable(const std::vector<v1::WorkerInfo>& workers, std::ostream& out) {
  out << std::left << std::setw(32) << "WORKER" << std::setw(20) << "HOST" << std::setw(8) << "USED"
      << std::setw(26) << "LAST HEARTBEAT"
      << "DEVICES\n";
  for (const auto& w : workers) {
    std::string devices;
    for (const auto& d : w.devices()) devices += (devices.empty() ? "" : ",") + d;
    out << std::setw(32) << w.worker_id() << std::setw(20) << w.hostname() << std::setw(8)
        << (std::to_string(w.slots_used()) + "/" + std::to_string(w.devices_size()))
        << std::setw(26) << Time(w.last_heartbeat_ms()) << devices << "\n";
  }
}

std::string FormatStepLine(const v1::StepMetrics& step, std::int64_t total_steps,
                           double eta_seconds) {
  const auto& v = step.values();
  auto get = [&](const char* key) -> std::optional<double> {
    auto it = v.find(key);
    if (it == v.end()) return std::nullopt;
    return it->second;
  };
  std::ostringstream line;
  line << "step " << step.step() << "/" << total_steps;
  if (auto x = get("reward_mean")) line << "  reward " << Fixed(*x, 4);
  if (auto x = get("loss")) line << "  loss " << Fixed(*x, 4);
  if (auto x = get("clip_fraction")) line << "  clip " << Fixed(*x, 3);
  if (auto x = get("kl")) line << "  kl " << Fixed(*x, 5);
  if (auto x = get("tokens_per_second")) line << "  " << Fixed(*x, 0) << " tok/s";
  if (eta_seconds >= 0) line << "  ETA " << Fixed(std::round(eta_seconds), 0) << "s";
  return line.str();
}

}  // namespace gspo::client
