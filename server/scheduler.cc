#include "server/scheduler.h"

#include <algorithm>

namespace gspo::server {

std::vector<ScheduledJob> ScheduleJobs(std::vector<QueuedJob> queue,
                                       std::vector<WorkerSlots> workers) {
  std::stable_sort(queue.begin(), queue.end(), [](const QueuedJob& a, const QueuedJob& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.seq < b.seq;
  });
  std::size_t capacity = 0;
  std::size_t free = 0;
  for (const WorkerSlots& w : workers) {
    capacity += w.all_devices.size();
    free += w.free_devices.size();
  }

  std::vector<ScheduledJob> scheduled;
  for (const QueuedJob& job : queue) {
    const std::size_t needed = static_cast<std::size_t>(std::max(job.gpus, 1));
    if (needed > capacity) continue;  // can never fit today; do not block the queue for it
    if (needed > free) break;         // head of the queue waits; nobody overtakes it
    // Most free slots first; ties by worker id so the result is deterministic.
    std::stable_sort(workers.begin(), workers.end(),
                     [](const WorkerSlots& a, const WorkerSlots& b) {
                       if (a.free_devices.size() != b.free_devices.size())
                         return a.free_devices.size() > b.free_devices.size();
                       return a.worker_id < b.worker_id;
                     });
    ScheduledJob placed{job.id, {}};
    for (WorkerSlots& w : workers) {
      while (placed.placements.size() < needed && !w.free_devices.empty()) {
        placed.placements.push_back(Placement{static_cast<int>(placed.placements.size()),
                                              w.worker_id, w.free_devices.front()});
        w.free_devices.erase(w.free_devices.begin());
      }
      if (placed.placements.size() == needed) break;
    }
    free -= needed;
    scheduled.push_back(std::move(placed));
  }
  return scheduled;
}

}  // namespace gspo::server
