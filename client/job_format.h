// How gspoctl prints jobs, workers and steps: `-o table` (people), `-o json` (one compact JSON
// object or array per answer, for scripts), `-o yaml`. Times print as RFC 3339 UTC.
// Pure functions; safe from any thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "common/json.h"
#include "gspo/v1/coordinator.pb.h"

namespace gspo::client {

enum class OutputFormat { kTable, kJson, kYaml };

// "QUEUED", "RUNNING", ... (the JOB_STATE_ prefix dropped).
std::string StateName(v1::JobState state);

common::Json JobToJson(const v1::Job& job);
common::Json WorkerToJson(const v1::WorkerInfo& worker);
// {"loss": ..., "reward_mean": ...}, names sorted.
common::Json StepToJson(const v1::StepMetrics& step);

// JSON (compact, one line) or YAML text of `value`, ending in a newline.
void PrintValue(const common::Json& value, OutputFormat format, std::ostream& out);

// Tables.
void PrintJobTable(const std::vector<v1::Job>& jobs, std::ostream& out);
void PrintJobDetails(const v1::Job& job, std::ostream& out);
void PrintWorkerTable(const std::vector<v1::WorkerInfo>& workers, std::ostream& out);

// One line for a step: "step 3/6  reward 0.412  loss -0.0123  clip 0.05  kl 0.0001  812 tok/s
// ETA 7s". `eta_seconds` < 0 leaves the ETA out.
std::string FormatStepLine(const v1::StepMetrics& step, std::int64_t total_steps,
                           double eta_seconds);

}  // namespace gspo::client
