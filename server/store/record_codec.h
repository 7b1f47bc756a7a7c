// JobRecord <-> JSON text, the form SqliteJobStore keeps a record in (one column, so adding a
// field needs no schema migration). Unknown members are ignored and missing ones take the
// struct's defaults, so records written by an older coordinator still load.
// Pure functions; safe from any thread.
#pragma once

#include <string>

#include "common/status.h"
#include "server/job_record.h"

namespace gspo::server {

std::string EncodeJobRecord(const JobRecord& job);
// kDataLoss naming `where` when the text is not a record.
common::StatusOr<JobRecord> DecodeJobRecord(const std::string& text, const std::string& where);

std::string EncodeMetricValues(const MetricValues& values);
common::StatusOr<MetricValues> DecodeMetricValues(const std::string& text,
                                                  const std::string& where);

}  // namespace gspo::server
