#include "server/proto_convert.h"

namespace gspo::server {

grpc::Status ToGrpc(const common::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

v1::JobState ToProto(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return v1::JOB_STATE_QUEUED;
    case JobState::kScheduled:
      return v1::JOB_STATE_SCHEDULED;
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kSucceeded:
      return v1::JOB_STATE_SUCCEEDED;
    case JobState::kFailed:
      return v1::JOB_STATE_FAILED;
    case JobState::kCancelled:
      return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

std::optional<JobState> FromProto(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_QUEUED:
      return JobState::kQueued;
    case v1::JOB_STATE_SCHEDULED:
      return JobState::kScheduled;
    case v1::JOB_STATE_RUNNING:
      return JobState::kRunning;
    case v1::JOB_STATE_SUCCEEDED:
      return JobState::kSucceeded;
    case v1::JOB_STATE_FAILED:
      return JobState::kFailed;
    case v1::JOB_STATE_CANCELLED:
      return JobState::kCancelled;
    default:
      return std::nullopt;
  }
}

void ToProto(const StepRecord& step, v1::StepMetrics* out) {
  out->set_step(step.step);
  for (const auto& [name, value] : step.values) (*out->mutable_values())[name] = value;
}

void ToProto(const JobRecord& job, bool with_spec, v1::Job* out) {
  out->set_id(job.id);
  out->set_name(job.name);
  out->set_state(ToProto(job.state));
  out->set_reason(job.reason);
  out->set_priority(job.priority);
  out->set_gpus(job.gpus);
  out->set_restarts(job.restarts);
  out->set_max_restarts(job.max_restarts);
  out->set_attempt(job.attempt);
  out->set_submit_time_ms(job.submit_time_ms);
  out->set_start_time_ms(job.start_time_ms);
  out->set_end_time_ms(job.end_time_ms);
  out->set_update_time_ms(job.update_time_ms);
  out->set_step(job.step);
  out->set_total_steps(job.total_steps);
  ToProto(StepRecord{job.step, job.last_metrics}, out->mutable_last_metrics());
  out->set_checkpoint_step(job.checkpoint_step);
  out->set_checkpoint_path(job.checkpoint_path);
  out->set_output_dir(job.output_dir);
  for (const Placement& p : job.placements) {
    auto* placement = out->add_placements();
    placement->set_rank(p.rank);
    placement->set_worker_id(p.worker_id);
    placement->set_device(p.device);
  }
  if (with_spec) out->set_spec_yaml(job.spec_yaml);
}

void ToProto(const RankAssignment& a, v1::Assignment* out) {
  out->set_job_id(a.key.job_id);
  out->set_attempt(a.key.attempt);
  out->set_rank(a.key.rank);
  out->set_world_size(a.world_size);
  out->set_device(a.device);
  out->set_spec_yaml(a.spec_yaml);
  out->set_output_dir(a.output_dir);
  out->set_resume(a.resume);
  out->set_total_steps(a.total_steps);
}

RankKey FromProto(const v1::RankRef& ref) {
  return RankKey{ref.job_id(), ref.attempt(), ref.rank()};
}

void ToProto(const RankKey& key, v1::RankRef* out) {
  out->set_job_id(key.job_id);
  out->set_attempt(key.attempt);
  out->set_rank(key.rank);
}

RankReport FromProto(const v1::RankStatus& status) {
  RankReport report;
  report.key = RankKey{status.job_id(), status.attempt(), status.rank()};
  report.finished = status.finished();
  report.exit_code = status.exit_code();
  report.reason = status.reason();
  return report;
}

}  // namespace gspo::server
