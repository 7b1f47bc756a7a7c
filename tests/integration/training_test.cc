// The control plane running real GSPO jobs (examples/jobs/tiny-cpu.yaml on CPU): gspoctl ->
// gspo-server -> gspo-worker -> `gspo train`, with the coordinator or a worker SIGKILLed
// mid-job. Real processes over loopback, real SQLite.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <functional>

#include "common/files.h"
#include "tests/integration/cluster.h"

namespace gspo::testing {
namespace {

using ::testing::HasSubstr;

std::int64_t Int(const common::Json& json, const char* key) {
  const common::Json* value = json.Find(key);
  return value != nullptr ? value->AsInt64().value_or(-1) : -1;
}

// Waits until the job's status satisfies `reached`; false at once when the job ends first.
bool WaitForJob(const Cluster& cluster, const std::string& id,
                const std::function<bool(const common::Json&)>& reached) {
  bool result = false;
  WaitUntil([&] {
    const common::Json status = cluster.Status(id);
    if (reached(status)) {
      result = true;
      return true;
    }
    const common::Json* state = status.Find("state");
    const std::string name = state != nullptr ? state->AsString() : "";
    return name == "SUCCEEDED" || name == "FAILED" || name == "CANCELLED";
  });
  return result;
}

bool WaitForStep(const Cluster& cluster, const std::string& id, const char* field,
                 std::int64_t at_least) {
  return WaitForJob(cluster, id, [&](const common::Json& s) { return Int(s, field) >= at_least; });
}

TEST(Training, SubmitWatchRunsTheJobToSucceededAndShowsEveryStep) {
  Cluster cluster;
  cluster.StartServer();
  cluster.StartWorker("w1");
  const std::string out = common::JoinPath(cluster.output_root(), "watched");
  CommandResult r = cluster.Ctl(
      "submit " + ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml") +
      " --set training.num_outer_iterations=3 --set output.output_dir=" + ShellQuote(out) +
      " --watch");
  ASSERT_EQ(r.exit_code, 0) << r.output << cluster.Logs();
  EXPECT_THAT(r.output, HasSubstr("submitted job-000001 (tiny-cpu"));
  for (int step = 1; step <= 3; ++step) {
    EXPECT_THAT(r.output, HasSubstr("step " + std::to_string(step) + "/3  reward "));
  }
  EXPECT_THAT(r.output, HasSubstr("tok/s"));
  EXPECT_THAT(r.output, HasSubstr("job-000001 SUCCEEDED"));

  EXPECT_TRUE(common::PathExists(out + "/final/adapter/adapter_config.json"));
  EXPECT_TRUE(common::PathExists(out + "/final/adapter/adapter_model.safetensors"));
  common::Json status = cluster.Status("job-000001");
  EXPECT_EQ(status.Find("state")->AsString(), "SUCCEEDED");
  EXPECT_EQ(Int(status, "step"), 3);
  EXPECT_EQ(Int(status, "total_steps"), 3);
  EXPECT_EQ(Int(status, "restarts"), 0);
  EXPECT_EQ(status.Find("output_dir")->AsString(), out);
  EXPECT_TRUE(status.Find("last_metrics")->Find("reward_mean") != nullptr);

  CommandResult logs = cluster.Ctl("logs job-000001");
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_THAT(logs.output, HasSubstr("gspo train: tiny-cpu on cpu"));
}

// A two-rank job on two workers: the ranks the agents start join one group (a store file in
// the job's output directory) and train one adapter together; rank 0 alone writes the metrics.
TEST(Training, TheRanksOfAMultiRankJobTrainTogether) {
  Cluster cluster;
  cluster.StartServer();
  cluster.StartWorker("w1");
  cluster.StartWorker("w2");
  const std::string out = common::JoinPath(cluster.output_root(), "two-ranks");
  CommandResult r = cluster.Ctl(
      "submit " + ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml") +
      " --set training.num_outer_iterations=2 --set resources.gpus=2 --set output.output_dir=" +
      ShellQuote(out) + " --watch");
  ASSERT_EQ(r.exit_code, 0) << r.output << cluster.Logs();
  EXPECT_THAT(r.output, HasSubstr("job-000001 SUCCEEDED"));
  auto metrics = common::ReadFileToString(out + "/metrics.jsonl", 1 << 20);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  // Two steps, written once: two ranks training separate copies would have written four rows.
  EXPECT_EQ(std::count(metrics->begin(), metrics->end(), '\n'), 2) << *metrics;
  EXPECT_TRUE(common::PathExists(out + "/final/adapter/adapter_model.safetensors"));
}

TEST(Training, CoordinatorSigkilledMidJobLosesNothing) {
  Cluster cluster;
  cluster.StartServer();
  cluster.StartWorker("w1");
  const std::string id =
      cluster.SubmitTiny("restart", {"training.num_outer_iterations=5", "output.save_steps=2"});
  ASSERT_EQ(id, "job-000001");
  ASSERT_TRUE(WaitForStep(cluster, id, "step", 2)) << cluster.Logs();
  ASSERT_EQ(cluster.State(id), "RUNNING");

  cluster.KillServer(SIGKILL);
  cluster.StartServer();
  CommandResult watch = cluster.Ctl("watch " + id);
  ASSERT_EQ(watch.exit_code, 0) << watch.output << cluster.Logs();
  for (int step = 1; step <= 5; ++step) {
    EXPECT_THAT(watch.output, HasSubstr("step " + std::to_string(step) + "/5"));
  }
  common::Json status = cluster.Status(id);
  EXPECT_EQ(status.Find("state")->AsString(), "SUCCEEDED");
  EXPECT_EQ(Int(status, "step"), 5);
  CommandResult list = cluster.Ctl("list -o json", false);
  auto jobs = common::ParseJson(list.output, "list");
  ASSERT_TRUE(jobs.ok()) << list.output;
  EXPECT_EQ(jobs->size(), 1u);
  EXPECT_TRUE(
      common::PathExists(cluster.output_root() + "/restart/final/adapter/adapter_config.json"));
}

TEST(Training, WorkerSigkilledMidJobIsReplacedAndTheJobResumesFromItsCheckpoint) {
  Cluster cluster;
  cluster.StartServer();
  cluster.StartWorker("w1");
  const std::string id =
      cluster.SubmitTiny("moved", {"training.num_outer_iterations=5", "output.save_steps=2"});
  ASSERT_TRUE(WaitForStep(cluster, id, "checkpoint_step", 2)) << cluster.Logs();
  cluster.StartWorker("w2");
  ASSERT_TRUE(WaitUntil(
      [&] { return cluster.Ctl("workers", false).output.find("w2") != std::string::npos; }));
  cluster.KillWorker("w1", SIGKILL);

  CommandResult watch = cluster.Ctl("watch " + id);
  ASSERT_EQ(watch.exit_code, 0) << watch.output << cluster.Logs();
  common::Json status = cluster.Status(id);
  EXPECT_EQ(status.Find("state")->AsString(), "SUCCEEDED");
  EXPECT_EQ(Int(status, "restarts"), 1);
  EXPECT_EQ(Int(status, "attempt"), 2);
  EXPECT_EQ(Int(status, "step"), 5);
  // The second attempt ran on w2 and started from a checkpoint, not from step 0.
  auto rank_log = common::ReadFileToString(
      cluster.root() + "/work-w2/jobs/" + id + "/attempt-2/rank-0/rank.log", 1 << 20);
  ASSERT_TRUE(rank_log.ok()) << rank_log.status() << cluster.Logs();
  EXPECT_THAT(*rank_log, HasSubstr("resumed"));
  EXPECT_THAT(*rank_log, HasSubstr("checkpoints/step-"));
  EXPECT_TRUE(
      common::PathExists(cluster.output_root() + "/moved/final/adapter/adapter_config.json"));
}

TEST(Training, CancelStopsTheRankAndFreesItsSlot) {
  Cluster cluster;
  cluster.StartServer();
  cluster.StartWorker("w1");
  const std::string long_job =
      cluster.SubmitTiny("cancelled", {"training.num_outer_iterations=500"});
  ASSERT_TRUE(WaitForStep(cluster, long_job, "step", 1)) << cluster.Logs();

  CommandResult cancel = cluster.Ctl("cancel " + long_job + " --reason 'enough'");
  EXPECT_EQ(cancel.exit_code, 0) << cancel.output;
  EXPECT_THAT(cancel.output, HasSubstr(long_job + " CANCELLED"));
  common::Json status = cluster.Status(long_job);
  EXPECT_EQ(status.Find("state")->AsString(), "CANCELLED");
  EXPECT_EQ(status.Find("reason")->AsString(), "cancelled: enough");
  // The worker kills the rank on its next heartbeat; its slot then runs the next job.
  ASSERT_TRUE(WaitUntil([&] {
    return cluster.Logs().find("stopping rank job=" + long_job) != std::string::npos;
  })) << cluster.Logs();
  const std::string next = cluster.SubmitTiny("after-cancel", {"training.num_outer_iterations=2"});
  CommandResult watch = cluster.Ctl("watch " + next);
  EXPECT_EQ(watch.exit_code, 0) << watch.output << cluster.Logs();
  EXPECT_THAT(watch.output, HasSubstr(next + " SUCCEEDED"));
  // The cancelled job wrote no more steps once it was stopped.
  EXPECT_EQ(cluster.State(long_job), "CANCELLED");
  EXPECT_LT(Int(cluster.Status(long_job), "step"), 500);
  EXPECT_EQ(cluster.Ctl("cancel " + long_job).exit_code, 2);
}

}  // namespace
}  // namespace gspo::testing
