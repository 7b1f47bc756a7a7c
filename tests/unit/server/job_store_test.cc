// The JobStore contract run against both implementations (in-memory fake and SQLite), plus
// what only SQLite promises: the data survives closing and reopening the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "server/store/memory_job_store.h"
#include "server/store/sqlite_job_store.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/temp_dir.h"
#include "tests/unit/server/job_store_contract.h"

namespace gspo::server {
namespace {

using ::testing::ElementsAre;

JobRecord NewJob(const std::string& name, JobState state = JobState::kQueued) {
  JobRecord job;
  job.name = name;
  job.state = state;
  job.spec_yaml = "name: " + name + "\n";
  job.output_dir = "/out/" + name;
  job.priority = 3;
  job.gpus = 2;
  job.max_restarts = 4;
  job.submit_time_ms = 1000;
  job.total_steps = 6;
  return job;
}

std::vector<std::string> Ids(const std::vector<JobRecord>& jobs) {
  std::vector<std::string> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  return ids;
}

TEST_P(JobStoreContract, CreateAssignsIncreasingIdsAndGetReturnsEveryField) {
  testing::ScopedTempDir dir;
  auto store = GetParam().make(dir.path());
  auto a = store->Create(NewJob("a"));
  auto b = store->Create(NewJob("b"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->id, "job-000001");
  EXPECT_EQ(b->id, "job-000002");
  EXPECT_LT(a->seq, b->seq);

  JobRecord changed = *b;
  changed.state = JobState::kRunning;
  changed.reason = "why \"quoted\"\nnext line";
  changed.attempt = 2;
  changed.restarts = 1;
  changed.step = 4;
  changed.last_metrics = {{"loss", -0.25}, {"reward_mean", 0.5}};
  changed.checkpoint_step = 4;
  changed.checkpoint_path = "/out/b/checkpoints/step-4";
  changed.placements = {Placement{0, "w1", "cuda:0"}, Placement{1, "w2", "cuda:1"}};
  changed.start_time_ms = 2000;
  changed.update_time_ms = 3000;
  ASSERT_TRUE(store->Update(changed).ok());

  auto got = store->Get(b->id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "b");
  EXPECT_EQ(got->state, JobState::kRunning);
  EXPECT_EQ(got->reason, changed.reason);
  EXPECT_EQ(got->spec_yaml, "name: b\n");
  EXPECT_EQ(got->output_dir, "/out/b");
  EXPECT_EQ(got->priority, 3);
  EXPECT_EQ(got->gpus, 2);
  EXPECT_EQ(got->max_restarts, 4);
  EXPECT_EQ(got->attempt, 2);
  EXPECT_EQ(got->restarts, 1);
  EXPECT_EQ(got->step, 4);
  EXPECT_EQ(got->total_steps, 6);
  EXPECT_EQ(got->last_metrics, changed.last_metrics);
  EXPECT_EQ(got->checkpoint_step, 4);
  EXPECT_EQ(got->checkpoint_path, changed.checkpoint_path);
  EXPECT_EQ(got->placements, changed.placements);
  EXPECT_EQ(got->submit_time_ms, 1000);
  EXPECT_EQ(got->start_time_ms, 2000);
  EXPECT_EQ(got->update_time_ms, 3000);
  EXPECT_EQ(got->seq, b->seq);
}

TEST_P(JobStoreContract, MissingJobsAreNotFound) {
  testing::ScopedTempDir dir;
  auto store = GetParam().make(dir.path());
  EXPECT_EQ(store->Get("job-000009").status().code(), common::StatusCode::kNotFound);
  JobRecord ghost = NewJob("ghost");
  ghost.id = "job-000009";
  EXPECT_EQ(store->Update(ghost).code(), common::StatusCode::kNotFound);
  EXPECT_EQ(store->PutStep("job-000009", StepRecord{1, {}}).code(), common::StatusCode::kNotFound);
  EXPECT_EQ(store->AppendLogs("job-000009", {"x"}).code(), common::StatusCode::kNotFound);
  EXPECT_EQ(store->ReadLogs("job-000009", 0, 0).status().code(), common::StatusCode::kNotFound);
  auto all = store->List(JobFilter{});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_P(JobStoreContract, ListFiltersByStateAndKeepsTheNewestWithALimit) {
  testing::ScopedTempDir dir;
  auto store = GetParam().make(dir.path());
  ASSERT_TRUE(store->Create(NewJob("a", JobState::kQueued)).ok());
  ASSERT_TRUE(store->Create(NewJob("b", JobState::kSucceeded)).ok());
  ASSERT_TRUE(store->Create(NewJob("c", JobState::kRunning)).ok());
  ASSERT_TRUE(store->Create(NewJob("d", JobState::kQueued)).ok());

  EXPECT_THAT(Ids(*store->List(JobFilter{})),
              ElementsAre("job-000001", "job-000002", "job-000003", "job-000004"));
  EXPECT_THAT(Ids(*store->List(JobFilter{{JobState::kQueued, JobState::kRunning}, 0})),
              ElementsAre("job-000001", "job-000003", "job-000004"));
  EXPECT_THAT(Ids(*store->List(JobFilter{{}, 2})), ElementsAre("job-000003", "job-000004"));
  EXPECT_THAT(Ids(*store->List(JobFilter{{JobState::kQueued}, 1})), ElementsAre("job-000004"));

  // A state change moves the job between filters.
  JobRecord a = *store->Get("job-000001");
  a.state = JobState::kCancelled;
  ASSERT_TRUE(store->Update(a).ok());
  EXPECT_THAT(Ids(*store->List(JobFilter{{JobState::kQueued}, 0})), ElementsAre("job-000004"));
}

TEST_P(JobStoreContract, StepsAreOrderedPagedAndReplacedWhenReportedAgain) {
  testing::ScopedTempDir dir;
  auto store = GetParam().make(dir.path());
  const std::string id = store->Create(NewJob("a"))->id;
  ASSERT_TRUE(store->PutStep(id, StepRecord{2, {{"loss", 2}}}).ok());
  ASSERT_TRUE(store->PutStep(id, StepRecord{1, {{"loss", 1}}}).ok());
  ASSERT_TRUE(store->PutStep(id, StepRecord{3, {{"loss", 3}}}).ok());
  ASSERT_TRUE(store->PutStep(id, StepRecord{2, {{"loss", 20}, {"kl", 0.5}}}).ok());

  auto all = store->ListSteps(id, 0, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].step, 1);
  EXPECT_EQ((*all)[1].step, 2);
  EXPECT_EQ((*all)[1].values, (MetricValues{{"kl", 0.5}, {"loss", 20}}));
  EXPECT_EQ((*all)[2].values.at("loss"), 3);

  auto page = store->ListSteps(id, 1, 1);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].step, 2);
  EXPECT_TRUE(store->ListSteps(id, 3, 0)->empty());
}

TEST_P(JobStoreContract, LogsAreNumberedPerJobFromOne) {
  testing::ScopedTempDir dir;
  auto store = GetParam().make(dir.path());
  const std::string a = store->Create(NewJob("a"))->id;
  const std::string b = store->Create(NewJob("b"))->id;
  ASSERT_TRUE(store->AppendLogs(a, {"one", "two"}).ok());
  ASSERT_TRUE(store->AppendLogs(b, {"other"}).ok());
  ASSERT_TRUE(store->AppendLogs(a, {"three", ""}).ok());
  EXPECT_EQ(*store->CountLogs(a), 4);
  EXPECT_EQ(*store->CountLogs(b), 1);
  EXPECT_THAT(*store->ReadLogs(a, 0, 0), ElementsAre("one", "two", "three", ""));
  EXPECT_THAT(*store->ReadLogs(a, 1, 2), ElementsAre("two", "three"));
  EXPECT_THAT(*store->ReadLogs(b, 0, 0), ElementsAre("other"));
  EXPECT_TRUE(store->ReadLogs(a, 4, 0)->empty());
}

TEST_P(JobStoreContract, ConcurrentCreatesGetDistinctIds) {
  testing::ScopedTempDir dir;
  auto store = GetParam().make(dir.path());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(store->Create(NewJob("x")).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto all = store->List(JobFilter{});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 200u);
  const std::vector<std::string> id_list = Ids(*all);
  std::set<std::string> ids(id_list.begin(), id_list.end());
  EXPECT_EQ(ids.size(), 200u);
}

INSTANTIATE_TEST_SUITE_P(
    Stores, JobStoreContract,
    ::testing::Values(JobStoreImplementation{"Memory",
                                             [](const std::string&) -> std::unique_ptr<JobStore> {
                                               return std::make_unique<MemoryJobStore>();
                                             }},
                      JobStoreImplementation{
                          "Sqlite",
                          [](const std::string& dir) -> std::unique_ptr<JobStore> {
                            auto store = SqliteJobStore::Open(dir + "/jobs.db");
                            EXPECT_TRUE(store.ok()) << store.status();
                            return std::move(*store);
                          }}),
    [](const ::testing::TestParamInfo<JobStoreImplementation>& info) { return info.param.name; });

TEST(SqliteJobStore, DataSurvivesReopeningAndTheJournalIsWal) {
  testing::ScopedTempDir dir;
  const std::string path = dir.Join("jobs.db");
  {
    auto store = SqliteJobStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    auto job = (*store)->Create(NewJob("kept"));
    ASSERT_TRUE(job.ok());
    ASSERT_TRUE((*store)->PutStep(job->id, StepRecord{1, {{"loss", 0.125}}}).ok());
    ASSERT_TRUE((*store)->AppendLogs(job->id, {"hello"}).ok());
  }
  auto store = SqliteJobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto job = (*store)->Get("job-000001");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->name, "kept");
  EXPECT_EQ((*store)->ListSteps(job->id, 0, 0)->at(0).values.at("loss"), 0.125);
  EXPECT_THAT(*(*store)->ReadLogs(job->id, 0, 0), ElementsAre("hello"));
  // Ids continue after the stored ones.
  EXPECT_EQ((*store)->Create(NewJob("next"))->id, "job-000002");
  auto mode =
      testing::RunShellCommand("sqlite3 " + testing::ShellQuote(path) + " 'PRAGMA journal_mode'");
  EXPECT_EQ(mode.output, "wal\n");
}

TEST(SqliteJobStore, UnopenablePathIsAnErrorNamingIt) {
  auto store = SqliteJobStore::Open("/nonexistent-dir/jobs.db");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("/nonexistent-dir/jobs.db"), std::string::npos);
}

}  // namespace
}  // namespace gspo::server
