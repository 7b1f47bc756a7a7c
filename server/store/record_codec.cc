#include "server/store/record_codec.h"

#include "common/json.h"

namespace gspo::server {
namespace {

using common::Json;

Json MetricsJson(const MetricValues& values) {
  std::vector<Json::Member> members;
  for (const auto& [name, value] : values) members.emplace_back(name, Json::Number(value));
  return Json::Object(std::move(members));
}

MetricValues MetricsFromJson(const Json* json) {
  MetricValues values;
  if (json == nullptr || !json->is_object()) return values;
  for (const auto& [name, value] : json->members()) {
    if (value.is_number()) values[name] = value.AsDouble();
  }
  return values;
}

std::int64_t Int(const Json& object, const char* key) {
  const Json* value = object.Find(key);
  return value != nullptr ? value->AsInt64().value_or(0) : 0;
}

std::string Str(const Json& object, const char* key) {
  const Json* value = object.Find(key);
  return value != nullptr && value->is_string() ? value->AsString() : std::string();
}

}  // namespace

std::string EncodeJobRecord(const JobRecord& job) {
  std::vector<Json> placements;
  for (const Placement& p : job.placements) {
    placements.push_back(Json::Object({{"rank", Json::Integer(p.rank)},
                                       {"worker_id", Json::String(p.worker_id)},
                                       {"device", Json::String(p.device)}}));
  }
  return common::WriteJson(Json::Object({
      {"id", Json::String(job.id)},
      {"seq", Json::Integer(job.seq)},
      {"name", Json::String(job.name)},
      {"spec_yaml", Json::String(job.spec_yaml)},
      {"output_dir", Json::String(job.output_dir)},
      {"state", Json::String(JobStateName(job.state))},
      {"reason", Json::String(job.reason)},
      {"priority", Json::Integer(job.priority)},
      {"gpus", Json::Integer(job.gpus)},
      {"restarts", Json::Integer(job.restarts)},
      {"max_restarts", Json::Integer(job.max_restarts)},
      {"attempt", Json::Integer(job.attempt)},
      {"submit_time_ms", Json::Integer(job.submit_time_ms)},
      {"start_time_ms", Json::Integer(job.start_time_ms)},
      {"end_time_ms", Json::Integer(job.end_time_ms)},
      {"update_time_ms", Json::Integer(job.update_time_ms)},
      {"step", Json::Integer(job.step)},
      {"total_steps", Json::Integer(job.total_steps)},
      {"last_metrics", MetricsJson(job.last_metrics)},
      {"checkpoint_step", Json::Integer(job.checkpoint_step)},
      {"checkpoint_path", Json::String(job.checkpoint_path)},
      {"placements", Json::Array(std::move(placements))},
  }));
}

common::StatusOr<JobRecord> DecodeJobRecord(const std::string& text, const std::string& where) {
  auto parsed = common::ParseJson(text, where);
  if (!parsed.ok()) return common::DataLossError(parsed.status().message());
  const Json& json = *parsed;
  if (!json.is_object()) return common::DataLossError(where + ": a job record must be an object");
  JobRecord job;
  job.id = Str(json, "id");
  job.seq = Int(json, "seq");
  job.name = Str(json, "name");
  job.spec_yaml = Str(json, "spec_yaml");
  job.output_dir = Str(json, "output_dir");
  auto state = JobStateFromName(Str(json, "state"));
  if (!state)
    return common::DataLossError(where + ": unknown job state '" + Str(json, "state") + "'");
  job.state = *state;
  job.reason = Str(json, "reason");
  job.priority = static_cast<int>(Int(json, "priority"));
  job.gpus = static_cast<int>(Int(json, "gpus"));
  job.restarts = static_cast<int>(Int(json, "restarts"));
  job.max_restarts = static_cast<int>(Int(json, "max_restarts"));
  job.attempt = static_cast<int>(Int(json, "attempt"));
  job.submit_time_ms = Int(json, "submit_time_ms");
  job.start_time_ms = Int(json, "start_time_ms");
  job.end_time_ms = Int(json, "end_time_ms");
  job.update_time_ms = Int(json, "update_time_ms");
  job.step = Int(json, "step");
  job.total_steps = Int(json, "total_steps");
  job.last_metrics = MetricsFromJson(json.Find("last_metrics"));
  job.checkpoint_step = Int(json, "checkpoint_step");
  job.checkpoint_path = Str(json, "checkpoint_path");
  if (const Json* placements = json.Find("placements"); placements != nullptr) {
    for (const Json& p : placements->elements()) {
      job.placements.push_back(
          Placement{static_cast<int>(Int(p, "rank")), Str(p, "worker_id"), Str(p, "device")});
    }
  }
  return job;
}

std::string EncodeMetricValues(const MetricValues& values) {
  return common::WriteJson(MetricsJson(values));
}

common::StatusOr<MetricValues> DecodeMetricValues(const std::string& text,
                                                  const std::string& where) {
  auto parsed = common::ParseJson(text, where);
  if (!parsed.ok()) return common::DataLossError(parsed.status().message());
  return MetricsFromJson(&*parsed);
}

}  // namespace gspo::server
