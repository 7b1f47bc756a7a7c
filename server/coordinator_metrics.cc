#include "server/coordinator_metrics.h"

#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace gspo::server {
namespace {

using common::ExtraFamily;
using common::MetricType;

// metrics.jsonl key -> exported gauge.
struct StepGauge {
  const char* key;
  const char* name;
  const char* help;
};
constexpr StepGauge kStepGauges[] = {
    {"reward_mean", "gspo_job_reward_mean", "Mean reward of the job's last reported step"},
    {"loss", "gspo_job_loss", "GSPO loss of the job's last reported step"},
    {"clip_fraction", "gspo_job_clip_fraction", "Fraction of clipped sequences, last step"},
    {"kl", "gspo_job_kl", "KL to the reference policy, last step"},
    {"tokens_per_second", "gspo_job_tokens_per_second",
     "Tokens generated and trained per second, last step"},
    {"reward_call_errors", "gspo_job_reward_call_errors",
     "Reward-service calls of the job that failed or were rejected (retries included), so far"},
};

}  // namespace

std::vector<ExtraFamily> CollectCoordinatorMetrics(JobManager& manager, int max_jobs) {
  std::vector<ExtraFamily> out;
  std::map<JobState, double> by_state;
  for (JobState s : {JobState::kQueued, JobState::kScheduled, JobState::kRunning,
                     JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
    by_state[s] = 0;
  }
  auto all = manager.List(JobFilter{});
  if (all.ok()) {
    for (const JobRecord& job : *all) by_state[job.state] += 1;
  }
  ExtraFamily jobs{"gspo_jobs", "Jobs in the store, by state", MetricType::kGauge, {}};
  for (const auto& [state, count] : by_state)
    jobs.samples.push_back({{{"state", JobStateName(state)}}, count});
  out.push_back(std::move(jobs));

  double used = 0, total = 0;
  const auto workers = manager.Workers();
  for (const WorkerView& w : workers) {
    used += w.slots_used;
    total += static_cast<double>(w.devices.size());
  }
  out.push_back(ExtraFamily{"gspo_workers",
                            "Registered workers",
                            MetricType::kGauge,
                            {{{}, static_cast<double>(workers.size())}}});
  out.push_back(ExtraFamily{"gspo_device_slots",
                            "Device slots of registered workers",
                            MetricType::kGauge,
                            {{{{"status", "used"}}, used}, {{{"status", "free"}}, total - used}}});

  ExtraFamily step{"gspo_job_step", "Last step a job reported", MetricType::kGauge, {}};
  ExtraFamily total_steps{"gspo_job_total_steps", "Steps of the job", MetricType::kGauge, {}};
  // One series per job with value 1, labelled with its state, so that rules can join a job's
  // gauges with its state (the alert on a RUNNING job that stopped stepping needs it).
  ExtraFamily job_state{
      "gspo_job_state", "1 for each job, labelled with its current state", MetricType::kGauge, {}};
  // metrics.jsonl's "reward/<component>" keys: the mean of each reward component, last step.
  ExtraFamily components{"gspo_job_reward_component",
                         "Mean of each reward component (unweighted) of the job's last step",
                         MetricType::kGauge,
                         {}};
  std::vector<ExtraFamily> gauges;
  for (const StepGauge& g : kStepGauges)
    gauges.push_back(ExtraFamily{g.name, g.help, MetricType::kGauge, {}});
  if (all.ok()) {
    const std::size_t first =
        all->size() > static_cast<std::size_t>(max_jobs) ? all->size() - max_jobs : 0;
    for (std::size_t i = first; i < all->size(); ++i) {
      const JobRecord& job = (*all)[i];
      const common::MetricLabels labels = {{"job_id", job.id}, {"name", job.name}};
      step.samples.push_back({labels, static_cast<double>(job.step)});
      total_steps.samples.push_back({labels, static_cast<double>(job.total_steps)});
      job_state.samples.push_back(
          {{{"job_id", job.id}, {"name", job.name}, {"state", JobStateName(job.state)}}, 1});
      constexpr std::string_view kComponentPrefix = "reward/";
      for (const auto& [key, value] : job.last_metrics) {
        if (key.size() <= kComponentPrefix.size() ||
            key.compare(0, kComponentPrefix.size(), kComponentPrefix) != 0)
          continue;
        components.samples.push_back({{{"job_id", job.id},
                                       {"name", job.name},
                                       {"component", key.substr(kComponentPrefix.size())}},
                                      value});
      }
      for (std::size_t g = 0; g < gauges.size(); ++g) {
        auto it = job.last_metrics.find(kStepGauges[g].key);
        if (it != job.last_metrics.end()) gauges[g].samples.push_back({labels, it->second});
      }
    }
  }
  out.push_back(std::move(step));
  out.push_back(std::move(total_steps));
  out.push_back(std::move(job_state));
  out.push_back(std::move(components));
  for (ExtraFamily& g : gauges) out.push_back(std::move(g));

  // Where a step's time goes and each phase's own throughput, from the same last step.
  ExtraFamily phase_seconds{"gspo_job_phase_seconds", "Seconds of the last step, by phase",
                            MetricType::kGauge, {}};
  ExtraFamily phase_rate{"gspo_job_phase_tokens_per_second",
                         "Tokens per second of the last step's rollout (generated) and learning "
                         "(trained) phases",
                         MetricType::kGauge, {}};
  if (all.ok()) {
    const std::size_t first =
        all->size() > static_cast<std::size_t>(max_jobs) ? all->size() - max_jobs : 0;
    for (std::size_t i = first; i < all->size(); ++i) {
      const JobRecord& job = (*all)[i];
      const auto value = [&](const char* key) -> const double* {
        auto it = job.last_metrics.find(key);
        return it == job.last_metrics.end() ? nullptr : &it->second;
      };
      for (const char* phase : {"rollout", "environment", "reward", "learn"}) {
        if (const double* seconds = value((std::string("seconds_") + phase).c_str())) {
          phase_seconds.samples.push_back({{{"job_id", job.id}, {"name", job.name}, {"phase", phase}}, *seconds});
        }
      }
      for (const auto& [phase, tokens_key, seconds_key] :
           {std::tuple<const char*, const char*, const char*>{"rollout", "tokens_generated", "seconds_rollout"},
            {"learn", "tokens_trained", "seconds_learn"}}) {
        const double* tokens = value(tokens_key);
        const double* seconds = value(seconds_key);
        if (tokens != nullptr && seconds != nullptr && *seconds > 0) {
          phase_rate.samples.push_back(
              {{{"job_id", job.id}, {"name", job.name}, {"phase", phase}}, *tokens / *seconds});
        }
      }
    }
  }
  out.push_back(std::move(phase_seconds));
  out.push_back(std::move(phase_rate));
  return out;
}

}  // namespace gspo::server
