// How gspoctl prints jobs and steps: the watch line, JSON and YAML. Expected texts by hand.
#include "client/job_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace gspo::client {
namespace {

v1::StepMetrics Step() {
  v1::StepMetrics step;
  step.set_step(3);
  auto& v = *step.mutable_values();
  v["reward_mean"] = 0.30831;
  v["loss"] = -0.000123;
  v["clip_fraction"] = 0.3125;
  v["kl"] = 0.0000042;
  v["tokens_per_second"] = 441.6;
  v["entropy"] = 5.5;
  return step;
}

TEST(JobFormat, StepLineShowsProgressKeyMetricsAndEta) {
  EXPECT_EQ(FormatStepLine(Step(), 6, 7.6),
            "step 3/6  reward 0.3083  loss -0.0001  clip 0.312  kl 0.00000  442 tok/s  ETA 8s");
  EXPECT_EQ(FormatStepLine(Step(), 6, -1),
            "step 3/6  reward 0.3083  loss -0.0001  clip 0.312  kl 0.00000  442 tok/s");
  v1::StepMetrics bare;
  bare.set_step(1);
  EXPECT_EQ(FormatStepLine(bare, 2, -1), "step 1/2");
}

TEST(JobFormat, JobAsJsonAndYaml) {
  v1::Job job;
  job.set_id("job-000007");
  job.set_name("tiny-cpu");
  job.set_state(v1::JOB_STATE_RUNNING);
  job.set_step(3);
  job.set_total_steps(6);
  job.set_submit_time_ms(1767225600123);
  auto* p = job.add_placements();
  p->set_rank(0);
  p->set_worker_id("w1");
  p->set_device("cpu:0");
  common::Json json = JobToJson(job);
  EXPECT_EQ(json.Find("state")->AsString(), "RUNNING");
  EXPECT_EQ(json.Find("submit_time")->AsString(), "2026-01-01T00:00:00.123Z");
  EXPECT_TRUE(json.Find("start_time")->is_null());
  EXPECT_EQ(json.Find("placements")->elements()[0].Find("worker_id")->AsString(), "w1");
  EXPECT_EQ(json.Find("spec_yaml"), nullptr);

  std::ostringstream out;
  PrintValue(common::Json::Object({{"id", common::Json::String("job-000007")},
                                   {"step", common::Json::Integer(3)},
                                   {"tags", common::Json::Array({common::Json::String("a: b")})},
                                   {"empty", common::Json::Array({})},
                                   {"ranks", common::Json::Array({common::Json::Object(
                                                 {{"rank", common::Json::Integer(0)}})})}}),
             OutputFormat::kYaml, out);
  EXPECT_EQ(
      out.str(),
      "id: \"job-000007\"\nstep: 3\ntags:\n  - \"a: b\"\nempty: []\nranks:\n  -\n    rank: 0\n");
  std::ostringstream compact;
  PrintValue(common::Json::Object({{"id", common::Json::String("x")}}), OutputFormat::kJson,
             compact);
  EXPECT_EQ(compact.str(), "{\"id\":\"x\"}\n");
}

TEST(JobFormat, StateNamesDropThePrefix) {
  EXPECT_EQ(StateName(v1::JOB_STATE_SUCCEEDED), "SUCCEEDED");
  EXPECT_EQ(StateName(v1::JOB_STATE_QUEUED), "QUEUED");
}

}  // namespace
}  // namespace gspo::client
