// JobScheduler: which queued jobs start now, and on which device slots. Pure logic over plain
// values (no clock, no store, no sockets), so it is tested exhaustively without a server.
//
// Rules:
//   - Gang scheduling: a job's `gpus` ranks are placed all at once or not at all.
//   - Order: higher priority first; first submitted first within a priority (seq).
//   - No backfilling: when the first job that could ever run does not fit in the free slots,
//     later jobs wait too, so a big job is never starved by a stream of small ones. A job that
//     needs more slots than all workers have together is skipped (it waits for more workers).
//   - Never over-commits: a slot holds at most one rank.
//   - Ranks go to the workers with the most free slots first, so a job spans as few workers as
//     possible; within a worker, slots in the order the worker listed them.
// Stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/job_record.h"

namespace gspo::server {

struct QueuedJob {
  std::string id;
  int priority = 0;
  std::int64_t seq = 0;
  int gpus = 1;
};

struct WorkerSlots {
  std::string worker_id;
  std::vector<std::string> all_devices;   // every slot the worker registered
  std::vector<std::string> free_devices;  // the subset not holding a rank
};

struct ScheduledJob {
  std::string job_id;
  std::vector<Placement> placements;  // rank 0..gpus-1
};

std::vector<ScheduledJob> ScheduleJobs(std::vector<QueuedJob> queue,
                                       std::vector<WorkerSlots> workers);

}  // namespace gspo::server
