// `gspo train --nproc N` with resources.mode: disaggregated (Gloo ranks as processes, the tiny CPU
// job): with max_staleness 0 the final adapter equals the one a colocated rank trains on the same
// groups and seeds; with the default overlap every sample is at most one policy version old; a
// killed rank stops the others; bad settings are usage errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "tests/fakes/adapter_difference.h"
#include "tests/fakes/json_lines.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/train_runs.h"

namespace gspo::runner {
namespace {

using gspo::testing::RunShellCommand;
using gspo::testing::MetricsRows;
using gspo::testing::CpuGspo;
using gspo::testing::MetricValue;
using gspo::testing::RunInSourceTree;
using gspo::testing::ReportedElapsed;
using ::testing::HasSubstr;

// examples/jobs/tiny-cpu.yaml, `steps` steps of 4 groups x 2 samples in 2 minibatches.
std::string TinyJob(const std::string& out, int steps = 3) {
  return gspo::testing::TinyJobArgs(out, steps) + " --threads 1";
}

std::string Disaggregated(int rollout_gpus, int max_staleness) {
  return " --set resources.mode=disaggregated --set resources.rollout_gpus=" +
         std::to_string(rollout_gpus) +
         " --set resources.max_staleness=" + std::to_string(max_staleness);
}

// Without overlap, rollout + learner ranks train what one colocated rank trains: 1 rollout +
// 1 learner, and 1 rollout + 2 data-parallel learners.
TEST(DisaggregatedTrain, WithoutStalenessTheAdapterEqualsAColocatedRun) {
  gspo::testing::ScopedTempDir dir;
  const std::string one = dir.Join("one");
  auto single = RunInSourceTree(CpuGspo() + " train " + TinyJob(one));
  ASSERT_EQ(single.exit_code, 0) << single.output;
  const std::vector<common::Json> m1 = MetricsRows(one);
  ASSERT_EQ(m1.size(), 3u);
  for (int nproc : {2, 3}) {
    const std::string out = dir.Join("disaggregated-" + std::to_string(nproc));
    auto run = RunInSourceTree(CpuGspo() + " train " + TinyJob(out) + Disaggregated(1, 0) + " --nproc " +
                        std::to_string(nproc) + " --dist-timeout 120");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const gspo::testing::AdapterComparison adapters = gspo::testing::CompareAdapters(one, out);
    ASSERT_TRUE(adapters.error.empty()) << adapters.error;
    std::cout << nproc << " ranks: max |adapter(colocated) - adapter(disaggregated)| = "
              << adapters.max_difference << "; largest |lora_B| = " << adapters.largest_b << "\n";
    EXPECT_GT(adapters.largest_b, 1e-4);  // training moved the adapter (B starts at zero)
    EXPECT_LE(adapters.max_difference, 1e-6);
    const std::vector<common::Json> m = MetricsRows(out);
    ASSERT_EQ(m.size(), 3u);
    for (std::size_t i = 0; i < m.size(); ++i) {
      for (const char* exact : {"tokens_generated", "tokens_trained", "zero_advantage_groups"}) {
        EXPECT_EQ(MetricValue(m1[i], exact), MetricValue(m[i], exact)) << exact << " at step " << i + 1;
      }
      for (const char* close : {"reward_mean", "reward_std", "reward_min", "reward_max",
                                "turns_mean", "loss", "grad_norm", "entropy", "ratio_mean",
                                "logprob_mismatch", "reward/empathy"}) {
        EXPECT_NEAR(MetricValue(m1[i], close), MetricValue(m[i], close), 1e-5) << close << " at step " << i + 1;
      }
      EXPECT_EQ(MetricValue(m[i], "policy_staleness_max"), 0.0);
      EXPECT_EQ(MetricValue(m[i], "policy_staleness_mean"), 0.0);
      EXPECT_GE(MetricValue(m[i], "seconds_wait_rollout"), 0.0);
      EXPECT_GE(MetricValue(m[i], "seconds_weight_sync"), 0.0);
    }
    EXPECT_TRUE(common::PathExists(out + "/checkpoints/step-2/adapter/adapter_model.safetensors"));
  }
}

// The default overlap: step k is generated with policy k-1 (step 1 with the initial one).
TEST(DisaggregatedTrain, WithOverlapSamplesAreAtMostOneVersionOld) {
  gspo::testing::ScopedTempDir dir;
  for (int nproc : {2, 3}) {
    const std::string out = dir.Join("overlap-" + std::to_string(nproc));
    auto run = RunInSourceTree(CpuGspo() + " train " + TinyJob(out, 4) +
                        " --set resources.mode=disaggregated --set resources.rollout_gpus=1 --nproc " +
                        std::to_string(nproc) + " --dist-timeout 120");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const std::vector<common::Json> m = MetricsRows(out);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(MetricValue(m[0], "policy_staleness_max"), 0.0);
    for (std::size_t i = 1; i < m.size(); ++i) {
      EXPECT_EQ(MetricValue(m[i], "policy_staleness_max"), 1.0) << "step " << i + 1;
      EXPECT_EQ(MetricValue(m[i], "policy_staleness_mean"), 1.0) << "step " << i + 1;
      EXPECT_TRUE(std::isfinite(MetricValue(m[i], "loss")));
    }
    EXPECT_TRUE(common::PathExists(out + "/final/adapter/adapter_model.safetensors"));
  }
}

// The learners resume from the checkpoint and hand it to the rollout ranks first: the first
// step after resuming is sampled with the resumed policy.
TEST(DisaggregatedTrain, AResumedRunStartsFromTheCheckpointsPolicy) {
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("run");
  const std::string ranks = " --set resources.mode=disaggregated --nproc 2 --dist-timeout 120";
  auto first = RunInSourceTree(CpuGspo() + " train " + TinyJob(out, 2) + ranks);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto resumed = RunInSourceTree(CpuGspo() + " train " + TinyJob(out, 4) + ranks +
                          " --set output.resume_from_checkpoint=latest");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("resumed checkpoint="));
  const std::vector<common::Json> m = MetricsRows(out);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(MetricValue(m[2], "step"), 3.0);
  EXPECT_EQ(MetricValue(m[2], "policy_staleness_max"), 0.0);
  EXPECT_EQ(MetricValue(m[3], "policy_staleness_max"), 1.0);
}

// Rank 0 generates, rank 1 learns: killing either stops the launcher well within the timeout.
TEST(DisaggregatedTrain, AKilledRankStopsTheOthers) {
  for (int victim : {0, 1}) {
    gspo::testing::ScopedTempDir dir;
    const std::string out = dir.Join("run"), log = dir.Join("log");
    const std::string script =
        CpuGspo() + " train " + TinyJob(out, 200) +
        " --set resources.mode=disaggregated --nproc 2 --dist-timeout 20 > " + log +
        " 2>&1 & launcher=$!; "
        "for i in $(seq 1200); do [ -s " + out + "/metrics.jsonl ] && break; sleep 0.1; done; "
        "victim=$(sed -n 's/^gspo train: rank " + std::to_string(victim) +
        " is pid \\([0-9]*\\)$/\\1/p' " + log + "); "
        "kill -9 $victim; start=$(date +%s.%N); wait $launcher; code=$?; "
        "echo exit=$code elapsed=$(awk \"BEGIN { print $(date +%s.%N) - $start }\"); cat " + log;
    auto r = RunInSourceTree(script);
    EXPECT_THAT(r.output, HasSubstr("exit=1 "));
    EXPECT_LT(ReportedElapsed(r.output), 20.0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("gspo train: rank " + std::to_string(victim) +
                                    " of 2 was killed by signal 9"));
    EXPECT_LT(MetricsRows(out).size(), 200u);
  }
}

TEST(DisaggregatedTrain, BadSettingsAreUsageErrors) {
  gspo::testing::ScopedTempDir dir;
  const std::string job = TinyJob(dir.Join("run"));
  const auto expect_usage_error = [&](const std::string& args, const std::string& message) {
    auto r = RunInSourceTree(CpuGspo() + " train " + job + args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(message)) << args;
    EXPECT_THAT(r.output, ::testing::Not(HasSubstr("[rank "))) << args;  // no rank started
  };
  expect_usage_error(" --set resources.mode=disaggregated --set resources.gpus=2",
                     "start it with gspo train --nproc N");
  expect_usage_error(" --set resources.mode=disaggregated --nproc 1",
                     "disaggregated mode needs at least 2 ranks");
  expect_usage_error(Disaggregated(2, 1) + " --nproc 2",
                     "resources.rollout_gpus: expected an integer between 1 and 1, got 2");
  expect_usage_error(Disaggregated(1, 2) + " --nproc 2",
                     "resources.max_staleness: expected an integer between 0 and 1, got 2");
  expect_usage_error(" --set resources.max_staleness=0 --nproc 2",
                     "resources.max_staleness: applies to resources.mode: disaggregated only");
  // 3 rollout ranks cannot share 4 prompt groups.
  expect_usage_error(Disaggregated(3, 1) + " --nproc 4", "cannot be shared evenly by 3 rollout ranks");
  // 3 learners cannot share minibatches of 2 groups.
  expect_usage_error(Disaggregated(1, 1) + " --nproc 4", "learner ranks");
}

}  // namespace
}  // namespace gspo::runner
