// `gspo train --nproc 2`: two Gloo ranks (real processes) on the tiny CPU job end with the adapter
// one rank trains on the same groups; a rank that dies or never joins stops the others within
// the timeout; bad rank settings are usage errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
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

// examples/jobs/tiny-cpu.yaml, 3 steps of 4 groups x 2 samples in 2 minibatches, into `out`.
std::string TinyJob(const std::string& out, int steps = 3) {
  return gspo::testing::TinyJobArgs(out, steps);
}

TEST(GspoTrainRanks, TwoRanksTrainTheAdapterOneRankTrains) {
  gspo::testing::ScopedTempDir dir;
  const std::string one = dir.Join("one"), two = dir.Join("two");
  // One intra-op thread in every process: thread counts change float32 roundings, ranks should not.
  auto single = RunInSourceTree(CpuGspo() + " train " + TinyJob(one) + " --threads 1");
  ASSERT_EQ(single.exit_code, 0) << single.output;
  auto pair =
      RunInSourceTree(CpuGspo() + " train " + TinyJob(two) + " --nproc 2 --dist-timeout 120 --threads 1");
  ASSERT_EQ(pair.exit_code, 0) << pair.output;
  EXPECT_THAT(pair.output, HasSubstr("[rank 1] "));

  const gspo::testing::AdapterComparison adapters = gspo::testing::CompareAdapters(one, two);
  ASSERT_TRUE(adapters.error.empty()) << adapters.error;
  std::cout << "max |adapter(1 rank) - adapter(2 ranks)| = " << adapters.max_difference
            << "; largest |lora_B| = " << adapters.largest_b << "\n";
  EXPECT_GT(adapters.largest_b, 1e-4);  // training moved the adapter (B starts at zero)
  // Float32 rounding only: one rank and two pad and group rows differently, so products sum in
  // other orders, and Adam's normalised steps carry that noise to ~1e-4 of the adapter's size; a
  // rank that trained other data would differ by the adapter's size itself.
  EXPECT_LE(adapters.max_difference, 1e-3 * adapters.largest_b);

  // Rank 0 alone writes: one metrics row per step, combined over both ranks' groups.
  std::vector<common::Json> m1 = MetricsRows(one), m2 = MetricsRows(two);
  ASSERT_EQ(m1.size(), 3u);
  ASSERT_EQ(m2.size(), 3u);
  for (std::size_t i = 0; i < m1.size(); ++i) {
    for (const char* exact : {"tokens_generated", "tokens_trained", "zero_advantage_groups"}) {
      EXPECT_EQ(MetricValue(m1[i], exact), MetricValue(m2[i], exact)) << exact << " at step " << i + 1;
    }
    for (const char* close : {"reward_mean", "reward_std", "reward_min", "reward_max", "turns_mean",
                              "loss", "grad_norm", "advantage_std", "entropy", "ratio_mean",
                              "clip_fraction", "logprob_mismatch", "reward/empathy"}) {
      EXPECT_NEAR(MetricValue(m1[i], close), MetricValue(m2[i], close), 1e-5) << close << " at step " << i + 1;
    }
  }
  EXPECT_TRUE(common::PathExists(two + "/checkpoints/step-2/adapter/adapter_model.safetensors"));
}

// Seconds the command took, from its output's "elapsed=S" line.
TEST(GspoTrainRanks, AKilledRankStopsTheLauncherWithItsCause) {
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("run"), log = dir.Join("log");
  // Kill rank 1 once rank 0 has written its first step; the launcher must end well within the
  // 20 s timeout, naming rank 1 and the signal.
  const std::string script =
      CpuGspo() + " train " + TinyJob(out, 200) + " --nproc 2 --dist-timeout 20 > " + log +
      " 2>&1 & launcher=$!; "
      "for i in $(seq 1200); do [ -s " +
      out +
      "/metrics.jsonl ] && break; sleep 0.1; done; "
      "rank1=$(sed -n 's/^gspo train: rank 1 is pid \\([0-9]*\\)$/\\1/p' " +
      log +
      "); "
      "kill -9 $rank1; start=$(date +%s.%N); wait $launcher; code=$?; "
      "echo exit=$code elapsed=$(awk \"BEGIN { print $(date +%s.%N) - $start }\"); cat " +
      log;
  auto r = RunInSourceTree(script);
  EXPECT_THAT(r.output, HasSubstr("exit=1 "));
  EXPECT_LT(ReportedElapsed(r.output), 20.0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("gspo train: rank 1 of 2 was killed by signal 9"));
  EXPECT_LT(MetricsRows(out).size(), 200u);
}

TEST(GspoTrainRanks, ARankWhosePeerDiesStopsWithinTheTimeout) {
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("run"), store = dir.Join("store");
  // The ranks run without the launcher: rank 0 must notice by itself that rank 1 is gone.
  const std::string rank = CpuGspo() + " train " + TinyJob(out, 200) +
                           " --set resources.gpus=2 --world-size 2 --dist-store " + store +
                           " --dist-timeout 20 --rank ";
  const std::string script =
      rank + "0 > " + dir.Join("rank0.log") + " 2>&1 & r0=$!; " + rank +
      "1 > /dev/null 2>&1 & r1=$!; "
      "for i in $(seq 1200); do [ -s " +
      out +
      "/metrics.jsonl ] && break; sleep 0.1; done; "
      "kill -9 $r1; start=$(date +%s.%N); wait $r0; code=$?; "
      "echo exit=$code elapsed=$(awk \"BEGIN { print $(date +%s.%N) - $start }\"); cat " +
      dir.Join("rank0.log");
  auto r = RunInSourceTree(script);
  EXPECT_THAT(r.output, HasSubstr("exit=1 "));
  EXPECT_LT(ReportedElapsed(r.output), 25.0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("(rank 0 of 2)"));
}

TEST(GspoTrainRanks, ARankAloneGivesUpAfterTheTimeout) {
  gspo::testing::ScopedTempDir dir;
  auto r = RunInSourceTree(CpuGspo() + " train " + TinyJob(dir.Join("run")) +
                    " --set resources.gpus=2 --rank 0 "
                    "--world-size 2 --dist-store " +
                    dir.Join("store") + " --dist-timeout 2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the other ranks did not join within 2 s"));
}

TEST(GspoTrainRanks, BadRankSettingsAreUsageErrors) {
  gspo::testing::ScopedTempDir dir;
  const std::string job = TinyJob(dir.Join("run"));
  // 4 groups of 4 in 4 minibatches: each rank's 8 sequences split into updates of 2, but a
  // minibatch of whole groups cannot be shared by 2 ranks.
  auto uneven = RunInSourceTree(CpuGspo() + " train " + job +
                         " --set gspo.num_generations=4"
                         " --set gspo.minibatches=4 --nproc 2");
  EXPECT_EQ(uneven.exit_code, 2) << uneven.output;
  EXPECT_THAT(uneven.output, HasSubstr("use a multiple of 8 (ranks x gspo.minibatches)"));
  EXPECT_THAT(uneven.output,
              ::testing::Not(HasSubstr("[rank ")));  // refused before any rank started
  auto zero = RunInSourceTree(CpuGspo() + " train " + job + " --nproc 0");
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_THAT(zero.output, HasSubstr("--nproc: expected 1 to 256 ranks, got 0"));
  auto partial = RunInSourceTree(CpuGspo() + " train " + job + " --rank 1");
  EXPECT_EQ(partial.exit_code, 2);
  EXPECT_THAT(partial.output, HasSubstr("--rank, --world-size and --dist-store go together"));
  auto sft = RunInSourceTree(CpuGspo() + " train examples/jobs/tiny-cs-sft.yaml --nproc 2");
  EXPECT_EQ(sft.exit_code, 2) << sft.output;
  EXPECT_THAT(sft.output, HasSubstr("algorithm: sft runs on one rank"));
}

}  // namespace
}  // namespace gspo::runner
