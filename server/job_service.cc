#include "server/job_service.h"

#include <chrono>

#include "server/proto_convert.h"

namespace gspo::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxListLimit = 10000;
constexpr int kLogChunkLines = 500;
constexpr auto kStreamPoll = std::chrono::milliseconds(1000);

common::Status CheckJobId(const std::string& id) {
  if (id.empty() || id.size() > 64) {
    return common::InvalidArgumentError("job_id: expected a job id such as 'job-000001'");
  }
  return common::Status::Ok();
}

}  // namespace

bool JobServiceImpl::Ending(grpc::ServerContext* context) const {
  return context->IsCancelled() || stopping_->load();
}

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext* context,
                                       const v1::SubmitJobRequest* request,
                                       v1::SubmitJobResponse* response) {
  const auto start = Clock::now();
  const char* method = "JobService/SubmitJob";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  Submission submission;
  submission.spec_yaml = request->spec_yaml();
  submission.file_name = request->file_name();
  submission.set.assign(request->set().begin(), request->set().end());
  submission.working_dir = request->working_dir();
  submission.job_dir = request->job_dir();
  std::vector<std::string> warnings;
  auto job = manager_->Submit(submission, &warnings);
  if (!job.ok()) return metrics_->Done(method, start, ToGrpc(job.status()));
  ToProto(*job, /*with_spec=*/false, response->mutable_job());
  for (const std::string& w : warnings) response->add_warnings(w);
  return metrics_->Done(method, start, grpc::Status::OK);
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                                    v1::Job* response) {
  const auto start = Clock::now();
  const char* method = "JobService/GetJob";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  if (auto valid = CheckJobId(request->job_id()); !valid.ok()) {
    return metrics_->Done(method, start, ToGrpc(valid));
  }
  auto job = manager_->Get(request->job_id());
  if (!job.ok()) return metrics_->Done(method, start, ToGrpc(job.status()));
  ToProto(*job, /*with_spec=*/true, response);
  return metrics_->Done(method, start, grpc::Status::OK);
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* context,
                                      const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  const auto start = Clock::now();
  const char* method = "JobService/ListJobs";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  JobFilter filter;
  for (int state : request->states()) {
    auto s = FromProto(static_cast<v1::JobState>(state));
    if (!s) {
      return metrics_->Done(method, start,
                            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                         "states: unknown job state " + std::to_string(state)));
    }
    filter.states.push_back(*s);
  }
  if (request->limit() < 0) {
    return metrics_->Done(method, start,
                          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit: expected >= 0"));
  }
  filter.limit = request->limit() == 0 ? kMaxListLimit : std::min(request->limit(), kMaxListLimit);
  auto jobs = manager_->List(filter);
  if (!jobs.ok()) return metrics_->Done(method, start, ToGrpc(jobs.status()));
  for (const JobRecord& job : *jobs) ToProto(job, /*with_spec=*/false, response->add_jobs());
  return metrics_->Done(method, start, grpc::Status::OK);
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* context,
                                       const v1::CancelJobRequest* request, v1::Job* response) {
  const auto start = Clock::now();
  const char* method = "JobService/CancelJob";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  if (auto valid = CheckJobId(request->job_id()); !valid.ok()) {
    return metrics_->Done(method, start, ToGrpc(valid));
  }
  auto job = manager_->Cancel(request->job_id(), request->reason());
  if (!job.ok()) return metrics_->Done(method, start, ToGrpc(job.status()));
  ToProto(*job, /*with_spec=*/false, response);
  return metrics_->Done(method, start, grpc::Status::OK);
}

grpc::Status JobServiceImpl::ListWorkers(grpc::ServerContext* context,
                                         const v1::ListWorkersRequest* request,
                                         v1::ListWorkersResponse* response) {
  const auto start = Clock::now();
  const char* method = "JobService/ListWorkers";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  for (const WorkerView& w : manager_->Workers()) {
    auto* out = response->add_workers();
    out->set_worker_id(w.worker_id);
    out->set_hostname(w.hostname);
    for (const std::string& d : w.devices) out->add_devices(d);
    out->set_slots_used(w.slots_used);
    out->set_last_heartbeat_ms(w.last_heartbeat_ms);
    out->set_alive(true);
  }
  return metrics_->Done(method, start, grpc::Status::OK);
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* context,
                                      const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::JobEvent>* writer) {
  const auto start = Clock::now();
  const char* method = "JobService/WatchJob";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  return metrics_->Done(method, start, Watch(context, *request, writer));
}

grpc::Status JobServiceImpl::Watch(grpc::ServerContext* context, const v1::WatchJobRequest& request,
                                   grpc::ServerWriter<v1::JobEvent>* writer) {
  if (auto valid = CheckJobId(request.job_id()); !valid.ok()) return ToGrpc(valid);
  std::int64_t last_step = std::max<std::int64_t>(request.after_step(), 0);
  std::int64_t last_update = -1;
  JobState last_state = JobState::kQueued;
  std::uint64_t seen = manager_->version();
  while (true) {
    // The job first, then its steps: steps stored before the job ended are all sent.
    auto job = manager_->Get(request.job_id());
    if (!job.ok()) return ToGrpc(job.status());
    auto steps = manager_->Steps(request.job_id(), last_step);
    if (!steps.ok()) return ToGrpc(steps.status());
    for (const StepRecord& step : *steps) {
      v1::JobEvent event;
      ToProto(*job, /*with_spec=*/false, event.mutable_job());
      ToProto(step, event.mutable_step());
      if (!writer->Write(event)) return grpc::Status::OK;
      last_step = step.step;
    }
    if (job->update_time_ms != last_update || job->state != last_state) {
      v1::JobEvent event;
      ToProto(*job, /*with_spec=*/false, event.mutable_job());
      if (!writer->Write(event)) return grpc::Status::OK;
      last_update = job->update_time_ms;
      last_state = job->state;
    }
    if (IsTerminal(job->state) && steps->empty()) return grpc::Status::OK;
    if (!steps->empty()) continue;  // more may be waiting past the page
    if (Ending(context)) return grpc::Status(grpc::StatusCode::CANCELLED, "stream ended");
    seen = manager_->WaitForChange(seen, kStreamPoll);
  }
}

grpc::Status JobServiceImpl::GetJobLogs(grpc::ServerContext* context,
                                        const v1::GetJobLogsRequest* request,
                                        grpc::ServerWriter<v1::LogLines>* writer) {
  const auto start = Clock::now();
  const char* method = "JobService/GetJobLogs";
  if (auto auth = token_->Check(*context); !auth.ok())
    return metrics_->Done(method, start, ToGrpc(auth));
  return metrics_->Done(method, start, Logs(context, *request, writer));
}

grpc::Status JobServiceImpl::Logs(grpc::ServerContext* context,
                                  const v1::GetJobLogsRequest& request,
                                  grpc::ServerWriter<v1::LogLines>* writer) {
  if (auto valid = CheckJobId(request.job_id()); !valid.ok()) return ToGrpc(valid);
  std::int64_t next = std::max<std::int64_t>(request.after_line(), 0);
  std::uint64_t seen = manager_->version();
  while (true) {
    auto job = manager_->Get(request.job_id());
    if (!job.ok()) return ToGrpc(job.status());
    auto lines = manager_->Logs(request.job_id(), next, kLogChunkLines);
    if (!lines.ok()) return ToGrpc(lines.status());
    if (!lines->empty()) {
      v1::LogLines chunk;
      chunk.set_first_line(next + 1);
      for (std::string& line : *lines) chunk.add_lines(std::move(line));
      next += chunk.lines_size();
      if (!writer->Write(chunk)) return grpc::Status::OK;
      continue;
    }
    if (!request.follow() || IsTerminal(job->state)) return grpc::Status::OK;
    if (Ending(context)) return grpc::Status(grpc::StatusCode::CANCELLED, "stream ended");
    seen = manager_->WaitForChange(seen, kStreamPoll);
  }
}

}  // namespace gspo::server
