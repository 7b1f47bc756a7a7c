// The scrape-time gauges: jobs by state, workers, slots, and the last step of each job, from a
// JobManager over a MemoryJobStore.
#include "server/coordinator_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "server/store/memory_job_store.h"
#include "tests/fakes/fake_clock.h"

namespace gspo::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CoordinatorMetrics, JobsWorkersSlotsAndLastStep) {
  MemoryJobStore store;
  testing::FakeClock clock;
  common::MetricsRegistry registry;
  JobManager manager(&store, &clock, ManagerOptions{}, &registry);
  ASSERT_TRUE(manager.RegisterWorker({"w1", "h", {"cpu:0", "cpu:1"}, {}}).ok());
  Submission s;
  s.spec_yaml = *common::ReadFileToString(
      std::string(GSPO_SOURCE_DIR) + "/examples/jobs/tiny-cpu.yaml", 1 << 20);
  s.working_dir = GSPO_SOURCE_DIR;
  s.job_dir = GSPO_SOURCE_DIR;
  s.set = {"output.output_dir=/tmp/m", "resources.gpus=2"};
  ASSERT_TRUE(manager.Submit(s, nullptr).ok());
  ASSERT_TRUE(manager.Submit(s, nullptr).ok());  // waits: both slots are taken
  ASSERT_TRUE(manager
                  .ReportProgress("w1", {"job-000001", 1, 0},
                                  {{2,
                                    {{"reward_mean", 0.5},
                                     {"loss", -0.25},
                                     {"seconds_step", 1.5},
                                     {"tokens_generated", 300},
                                     {"seconds_rollout", 1.2},
                                     {"tokens_trained", 500},
                                     {"seconds_learn", 0.25},
                                     {"reward_call_errors", 3},
                                     {"reward/empathy", 0.75},
                                     {"reward/task_resolution", 0.25}}}},
                                  {})
                  .ok());

  const std::string text = registry.Render(CollectCoordinatorMetrics(manager));
  EXPECT_THAT(text, HasSubstr("gspo_jobs{state=\"QUEUED\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("gspo_jobs{state=\"RUNNING\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("gspo_jobs{state=\"SUCCEEDED\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("gspo_workers 1\n"));
  EXPECT_THAT(text, HasSubstr("gspo_device_slots{status=\"used\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("gspo_device_slots{status=\"free\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_step{job_id=\"job-000001\",name=\"tiny-cpu\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_step{job_id=\"job-000002\",name=\"tiny-cpu\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("gspo_job_reward_mean{job_id=\"job-000001\",name=\"tiny-cpu\"} 0.5\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_loss{job_id=\"job-000001\",name=\"tiny-cpu\"} -0.25\n"));
  EXPECT_THAT(text, HasSubstr("gspo_jobs_submitted_total 2\n"));
  EXPECT_THAT(text, HasSubstr("gspo_step_duration_seconds_bucket{le=\"2.5\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("gspo_step_duration_seconds_count 1\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_reward_call_errors{job_id=\"job-000001\",name=\"tiny-cpu\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_reward_component{job_id=\"job-000001\",name=\"tiny-cpu\","
                              "component=\"empathy\"} 0.75\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_reward_component{job_id=\"job-000001\",name=\"tiny-cpu\","
                              "component=\"task_resolution\"} 0.25\n"));
  // The queued job reported no step, so it has no component series.
  EXPECT_THAT(text, Not(HasSubstr("gspo_job_reward_component{job_id=\"job-000002\"")));
  EXPECT_THAT(text, HasSubstr("gspo_job_state{job_id=\"job-000001\",name=\"tiny-cpu\","
                              "state=\"RUNNING\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_state{job_id=\"job-000002\",name=\"tiny-cpu\","
                              "state=\"QUEUED\"} 1\n"));
  // 300 tokens in 1.2 s, 500 in 0.25 s.
  EXPECT_THAT(text, HasSubstr("gspo_job_phase_tokens_per_second{job_id=\"job-000001\",name=\"tiny-cpu\","
                              "phase=\"rollout\"} 250\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_phase_tokens_per_second{job_id=\"job-000001\",name=\"tiny-cpu\","
                              "phase=\"learn\"} 2000\n"));
  EXPECT_THAT(text, HasSubstr("gspo_job_phase_seconds{job_id=\"job-000001\",name=\"tiny-cpu\","
                              "phase=\"learn\"} 0.25\n"));
}

}  // namespace
}  // namespace gspo::server
