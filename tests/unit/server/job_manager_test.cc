// JobManager's state machine without sockets: a MemoryJobStore, a FakeClock, and calls as the
// gRPC adapters make them.
#include "server/job_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "server/store/memory_job_store.h"
#include "tests/fakes/fake_clock.h"

namespace gspo::server {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

const std::string kSource = GSPO_SOURCE_DIR;

Submission TinyJob(int gpus = 1, int max_restarts = 2, int priority = 0) {
  Submission s;
  s.spec_yaml = *common::ReadFileToString(kSource + "/examples/jobs/tiny-cpu.yaml", 1 << 20);
  s.file_name = "tiny-cpu.yaml";
  s.working_dir = kSource;
  s.job_dir = kSource + "/examples/jobs";
  s.set = {"resources.gpus=" + std::to_string(gpus),
           "resources.max_restarts=" + std::to_string(max_restarts),
           "resources.priority=" + std::to_string(priority), "output.output_dir=/tmp/gspo-out"};
  return s;
}

class JobManagerTest : public ::testing::Test {
 protected:
  JobManagerTest() { Reset(); }

  void Reset() {
    ManagerOptions options;
    options.heartbeat_interval = milliseconds(1000);
    options.heartbeat_timeout = milliseconds(5000);
    manager_ = std::make_unique<JobManager>(&store_, &clock_, options);
  }

  JobRecord Submit(Submission s = TinyJob()) {
    auto job = manager_->Submit(s, nullptr);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : JobRecord{};
  }

  JobRecord Job(const std::string& id) { return *manager_->Get(id); }

  void Register(const std::string& worker, std::vector<std::string> devices,
                std::vector<RankReport> ranks = {}) {
    ASSERT_TRUE(
        manager_->RegisterWorker({worker, "host", std::move(devices), std::move(ranks)}).ok());
  }

  HeartbeatReply Beat(const std::string& worker, std::vector<RankKey> running = {}) {
    std::vector<RankReport> reports;
    for (auto& k : running) reports.push_back(RankReport{k, false, 0, ""});
    auto reply = manager_->Heartbeat(worker, reports);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return *reply;
  }

  MemoryJobStore store_;
  testing::FakeClock clock_;
  std::unique_ptr<JobManager> manager_;
};

TEST_F(JobManagerTest, SubmitStoresAResolvedQueuedJobWithAbsolutePaths) {
  JobRecord job = Submit();
  EXPECT_EQ(job.id, "job-000001");
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.name, "tiny-cpu");
  EXPECT_EQ(job.total_steps, 6);
  EXPECT_EQ(job.output_dir, "/tmp/gspo-out");
  EXPECT_THAT(job.spec_yaml, HasSubstr("name_or_path: " + kSource + "/examples/models/tiny-chat"));
  EXPECT_EQ(job.submit_time_ms, 1767225600000);
}

TEST_F(JobManagerTest, BadSpecIsRejectedAndNothingIsStored) {
  Submission s = TinyJob();
  s.set.push_back("gspo.num_generations=1");
  auto job = manager_->Submit(s, nullptr);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_THAT(job.status().message(), HasSubstr("gspo.num_generations"));
  EXPECT_TRUE(manager_->List(JobFilter{})->empty());
}

TEST_F(JobManagerTest, FullLifecycleToSucceeded) {
  Register("w1", {"cpu:0"});
  JobRecord job = Submit();
  EXPECT_EQ(job.state, JobState::kScheduled);
  EXPECT_EQ(job.attempt, 1);
  ASSERT_EQ(job.placements.size(), 1u);
  EXPECT_EQ(job.placements[0], (Placement{0, "w1", "cpu:0"}));

  HeartbeatReply reply = Beat("w1");
  ASSERT_EQ(reply.assignments.size(), 1u);
  const RankAssignment a = reply.assignments[0];
  EXPECT_EQ(a.key.job_id, job.id);
  EXPECT_EQ(a.key.attempt, 1);
  EXPECT_EQ(a.device, "cpu:0");
  EXPECT_FALSE(a.resume);
  EXPECT_EQ(a.spec_yaml, job.spec_yaml);

  // Running: the heartbeat lists the rank; no assignment again.
  clock_.Advance(milliseconds(500));
  reply = Beat("w1", {a.key});
  EXPECT_TRUE(reply.assignments.empty());
  EXPECT_TRUE(reply.stop.empty());
  EXPECT_EQ(Job(job.id).state, JobState::kRunning);
  EXPECT_EQ(Job(job.id).start_time_ms, 1767225600500);

  ASSERT_TRUE(
      manager_
          ->ReportProgress("w1", a.key, {{1, {{"loss", 0.5}}}, {2, {{"loss", 0.25}}}}, {"line one"})
          .ok());
  ASSERT_TRUE(manager_->ReportCheckpoint("w1", a.key, 2, "/tmp/gspo-out/checkpoints/step-2").ok());
  JobRecord running = Job(job.id);
  EXPECT_EQ(running.step, 2);
  EXPECT_EQ(running.last_metrics.at("loss"), 0.25);
  EXPECT_EQ(running.checkpoint_step, 2);
  EXPECT_EQ(manager_->Steps(job.id, 0)->size(), 2u);
  EXPECT_THAT(*manager_->Logs(job.id, 0, 0), ::testing::ElementsAre("line one"));

  ASSERT_TRUE(manager_->ReportResult("w1", RankReport{a.key, true, 0, ""}).ok());
  JobRecord done = Job(job.id);
  EXPECT_EQ(done.state, JobState::kSucceeded);
  EXPECT_TRUE(done.placements.empty());
  EXPECT_GT(done.end_time_ms, 0);
  EXPECT_EQ(manager_->Workers()[0].slots_used, 0);
}

TEST_F(JobManagerTest, AFailedRankFailsTheJobWithItsReason) {
  Register("w1", {"cpu:0"});
  JobRecord job = Submit();
  RankKey key{job.id, 1, 0};
  ASSERT_TRUE(manager_->ReportResult("w1", RankReport{key, true, 3, "out of memory"}).ok());
  JobRecord failed = Job(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.reason, "rank 0 exited with code 3: out of memory");
}

TEST_F(JobManagerTest, GangJobWaitsForEnoughSlotsAndSucceedsWhenEveryRankDid) {
  Register("w1", {"cpu:0"});
  JobRecord job = Submit(TinyJob(/*gpus=*/2));
  EXPECT_EQ(job.state, JobState::kQueued);  // 2 ranks, 1 slot
  Register("w2", {"cpu:0"});
  job = Job(job.id);
  EXPECT_EQ(job.state, JobState::kScheduled);
  ASSERT_EQ(job.placements.size(), 2u);
  EXPECT_EQ(Beat("w1").assignments.size(), 1u);
  EXPECT_EQ(Beat("w2").assignments.size(), 1u);
  ASSERT_TRUE(
      manager_->ReportResult(job.placements[0].worker_id, {{job.id, 1, 0}, true, 0, ""}).ok());
  EXPECT_NE(Job(job.id).state, JobState::kSucceeded);
  ASSERT_TRUE(
      manager_->ReportResult(job.placements[1].worker_id, {{job.id, 1, 1}, true, 0, ""}).ok());
  EXPECT_EQ(Job(job.id).state, JobState::kSucceeded);
}

TEST_F(JobManagerTest, CancelStopsTheRankAndFreesTheSlotForTheNextJob) {
  Register("w1", {"cpu:0"});
  JobRecord first = Submit();
  JobRecord second = Submit();
  EXPECT_EQ(second.state, JobState::kQueued);
  RankKey key{first.id, 1, 0};
  Beat("w1", {key});

  auto cancelled = manager_->Cancel(first.id, "not needed");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_EQ(cancelled->reason, "cancelled: not needed");
  EXPECT_EQ(Job(second.id).state, JobState::kScheduled);

  HeartbeatReply reply = Beat("w1", {key});
  ASSERT_EQ(reply.stop.size(), 1u);
  EXPECT_EQ(reply.stop[0].job_id, first.id);
  ASSERT_EQ(reply.assignments.size(), 1u);
  EXPECT_EQ(reply.assignments[0].key.job_id, second.id);

  EXPECT_EQ(manager_->Cancel(first.id, "").status().code(),
            common::StatusCode::kFailedPrecondition);
  EXPECT_EQ(manager_->Cancel("job-000099", "").status().code(), common::StatusCode::kNotFound);
}

TEST_F(JobManagerTest, LostWorkerRequeuesTheJobToResumeElsewhere) {
  Register("w1", {"cpu:0"});
  JobRecord job = Submit(TinyJob(1, /*max_restarts=*/1));
  RankKey key{job.id, 1, 0};
  Beat("w1", {key});
  ASSERT_TRUE(manager_->ReportCheckpoint("w1", key, 3, "/tmp/gspo-out/checkpoints/step-3").ok());

  Register("w2", {"cpu:0"});
  clock_.Advance(milliseconds(4000));
  Beat("w2");
  manager_->CheckDeadlines();
  EXPECT_EQ(Job(job.id).state, JobState::kRunning);  // w1 still within its deadline
  clock_.Advance(milliseconds(2000));
  Beat("w2");
  manager_->CheckDeadlines();

  JobRecord moved = Job(job.id);
  EXPECT_EQ(moved.state, JobState::kScheduled);
  EXPECT_EQ(moved.restarts, 1);
  EXPECT_EQ(moved.attempt, 2);
  EXPECT_THAT(moved.reason, HasSubstr("worker w1 lost"));
  ASSERT_EQ(moved.placements.size(), 1u);
  EXPECT_EQ(moved.placements[0].worker_id, "w2");
  HeartbeatReply reply = Beat("w2");
  ASSERT_EQ(reply.assignments.size(), 1u);
  EXPECT_TRUE(reply.assignments[0].resume);
  EXPECT_EQ(reply.assignments[0].key.attempt, 2);

  // The old worker comes back: told to re-register, then to stop its stale rank; its late
  // result changes nothing.
  EXPECT_TRUE(Beat("w1", {key}).reregister);
  Register("w1", {"cpu:0"}, {RankReport{key, false, 0, ""}});
  reply = Beat("w1", {key});
  ASSERT_EQ(reply.stop.size(), 1u);
  EXPECT_EQ(reply.stop[0].attempt, 1);
  ASSERT_TRUE(manager_->ReportResult("w1", RankReport{key, true, 0, ""}).ok());
  EXPECT_EQ(Job(job.id).state, JobState::kScheduled);

  // Losing w2 too exceeds max_restarts = 1.
  clock_.Advance(milliseconds(6000));
  Beat("w1");
  manager_->CheckDeadlines();
  JobRecord failed = Job(job.id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_THAT(failed.reason, HasSubstr("max_restarts (1) reached"));
}

TEST_F(JobManagerTest, RestartKeepsRunningJobsWhoseWorkersComeBack) {
  Register("w1", {"cpu:0"});
  JobRecord job = Submit();
  RankKey key{job.id, 1, 0};
  Beat("w1", {key});
  ASSERT_EQ(Job(job.id).state, JobState::kRunning);

  // A new manager on the same store, as after a coordinator restart.
  Reset();
  ASSERT_TRUE(manager_->Recover().ok());
  EXPECT_TRUE(Beat("w1", {key}).reregister);
  Register("w1", {"cpu:0"}, {RankReport{key, false, 0, ""}});
  HeartbeatReply reply = Beat("w1", {key});
  EXPECT_TRUE(reply.stop.empty());
  EXPECT_TRUE(reply.assignments.empty());
  clock_.Advance(milliseconds(6000));
  Beat("w1", {key});
  manager_->CheckDeadlines();
  EXPECT_EQ(Job(job.id).state, JobState::kRunning);
  EXPECT_EQ(Job(job.id).attempt, 1);

  // A result reported while the coordinator was down arrives with the registration.
  Reset();
  ASSERT_TRUE(manager_->Recover().ok());
  Register("w1", {"cpu:0"}, {RankReport{key, true, 0, ""}});
  EXPECT_EQ(Job(job.id).state, JobState::kSucceeded);
}

TEST_F(JobManagerTest, RestartRequeuesJobsWhoseWorkerNeverReturns) {
  Register("w1", {"cpu:0"});
  JobRecord job = Submit();
  Beat("w1", {{job.id, 1, 0}});
  Reset();
  ASSERT_TRUE(manager_->Recover().ok());
  clock_.Advance(milliseconds(5001));
  manager_->CheckDeadlines();
  JobRecord requeued = Job(job.id);
  EXPECT_EQ(requeued.state, JobState::kQueued);
  EXPECT_EQ(requeued.restarts, 1);
}

TEST_F(JobManagerTest, ReportsFromRanksNotPlacedHereAreRejected) {
  Register("w1", {"cpu:0"});
  Register("w2", {"cpu:0"});
  JobRecord job = Submit();
  const std::string other = job.placements[0].worker_id == "w1" ? "w2" : "w1";
  RankKey key{job.id, 1, 0};
  EXPECT_EQ(manager_->ReportProgress(other, key, {{1, {}}}, {}).code(),
            common::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      manager_->ReportProgress(job.placements[0].worker_id, {job.id, 7, 0}, {{1, {}}}, {}).code(),
      common::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(manager_->Steps(job.id, 0)->empty());
  EXPECT_EQ(manager_->Heartbeat("stranger", {})->reregister, true);
}

TEST_F(JobManagerTest, RegistrationInputIsChecked) {
  EXPECT_EQ(manager_->RegisterWorker({"", "h", {"cpu:0"}, {}}).code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->RegisterWorker({"w", "h", {}, {}}).code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->RegisterWorker({"w", "h", {"cpu:0", "cpu:0"}, {}}).code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_TRUE(manager_->Workers().empty());
}

TEST_F(JobManagerTest, RendezvousHandsRankZerosIdToTheOthers) {
  Register("w1", {"cuda:0", "cuda:1"});
  JobRecord job = Submit(TinyJob(2));
  ASSERT_EQ(job.state, JobState::kScheduled);
  EXPECT_EQ(*manager_->Rendezvous("w1", {job.id, 1, 1}, ""), "");
  EXPECT_EQ(manager_->Rendezvous("w1", {job.id, 1, 1}, "x").status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(*manager_->Rendezvous("w1", {job.id, 1, 0}, std::string("\x01\x02\0\x03", 4)),
            std::string("\x01\x02\0\x03", 4));
  EXPECT_EQ(*manager_->Rendezvous("w1", {job.id, 1, 1}, ""), std::string("\x01\x02\0\x03", 4));
  EXPECT_EQ(manager_->Rendezvous("w1", {job.id, 1, 0}, std::string(129, 'x')).status().code(),
            common::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gspo::server
