// The coordinator's scrape-time gauges: jobs by state, workers, device slots, and the latest
// step metrics of recent jobs. Computed from the JobManager on every /metrics request, so they
// never go stale. Thread-safe (the manager is).
#pragma once

#include <vector>

#include "common/metrics/metrics_registry.h"
#include "server/job_manager.h"

namespace gspo::server {

// Per-job gauges cover the newest `max_jobs` jobs of any state.
std::vector<common::ExtraFamily> CollectCoordinatorMetrics(JobManager& manager, int max_jobs = 200);

}  // namespace gspo::server
