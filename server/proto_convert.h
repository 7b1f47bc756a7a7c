// Conversions between the coordinator's plain structs and gspo.v1 messages, and between
// common::Status and grpc::Status. Pure functions; safe from any thread.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"
#include "gspo/v1/coordinator.pb.h"
#include "server/job_manager.h"
#include "server/job_record.h"

namespace gspo::server {

grpc::Status ToGrpc(const common::Status& status);

v1::JobState ToProto(JobState state);
std::optional<JobState> FromProto(v1::JobState state);
// `with_spec`: include the resolved spec (GetJob), or leave it out (lists, streams).
void ToProto(const JobRecord& job, bool with_spec, v1::Job* out);
void ToProto(const StepRecord& step, v1::StepMetrics* out);
void ToProto(const RankAssignment& assignment, v1::Assignment* out);
RankKey FromProto(const v1::RankRef& ref);
void ToProto(const RankKey& key, v1::RankRef* out);
RankReport FromProto(const v1::RankStatus& status);

}  // namespace gspo::server
