// The worker agent's torch-free parts: device lists, following a rank's output files, and
// running and killing rank processes (real child processes: /bin/sh).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "common/files.h"
#include "common/utf8.h"
#include "tests/fakes/temp_dir.h"
#include "worker/agent/output_follower.h"
#include "worker/agent/rank_process.h"
#include "worker/agent/worker_agent.h"

namespace gspo::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void Append(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

int WaitForExit(RankProcess& process) {
  while (true) {
    if (auto code = process.Poll()) return *code;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST(ParseDeviceList, Forms) {
  EXPECT_THAT(*ParseDeviceList("cpu"), ElementsAre("cpu:0"));
  EXPECT_THAT(*ParseDeviceList("0,1, 3"), ElementsAre("cuda:0", "cuda:1", "cuda:3"));
  EXPECT_THAT(*ParseDeviceList("cpu:0,cpu:1"), ElementsAre("cpu:0", "cpu:1"));
  EXPECT_THAT(ParseDeviceList("gpu0").status().message(),
              HasSubstr("--devices: expected 'cpu' or a comma-separated list"));
  EXPECT_THAT(ParseDeviceList("0,0").status().message(), HasSubstr("listed twice"));
  EXPECT_FALSE(ParseDeviceList("").ok());
}

TEST(ToValidUtf8, ReplacesOnlyBrokenBytes) {
  // Rank output may hold any bytes; protobuf strings must be UTF-8.
  EXPECT_EQ(common::ToValidUtf8("ok \xc3\xa9"), "ok \xc3\xa9");
  EXPECT_EQ(common::ToValidUtf8("a\xff"
                                "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(common::ToValidUtf8("\xc3"), "\xef\xbf\xbd");
}

TEST(LineFollower, ReturnsOnlyCompleteNewLinesFromItsOffset) {
  testing::ScopedTempDir dir;
  const std::string path = dir.Join("metrics.jsonl");
  EXPECT_TRUE(LineFollower(path, 0).ReadNew(10).empty());  // no file yet
  Append(path, "old line\n");
  LineFollower follower(path, FileSize(path));
  EXPECT_TRUE(follower.ReadNew(10).empty());
  Append(path, "one\ntw");
  EXPECT_THAT(follower.ReadNew(10), ElementsAre("one"));
  Append(path, "o\nthree\nfour\n");
  EXPECT_THAT(follower.ReadNew(2), ElementsAre("two", "three"));
  EXPECT_THAT(follower.ReadNew(10), ElementsAre("four"));
  EXPECT_EQ(follower.offset(), FileSize(path));
}

TEST(ParseMetricsLine, StepAndNumericValues) {
  auto step = ParseMetricsLine(R"({"step": 3, "loss": -0.5, "reward_mean": 0.25, "note": "x"})");
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->step, 3);
  EXPECT_EQ(step->values, (std::map<std::string, double>{{"loss", -0.5}, {"reward_mean", 0.25}}));
  EXPECT_FALSE(ParseMetricsLine(R"({"loss": 1})").has_value());
  EXPECT_FALSE(ParseMetricsLine("not json").has_value());
  EXPECT_FALSE(ParseMetricsLine(R"({"step": 1.5})").has_value());
}

TEST(LatestCheckpointStep, IgnoresPartialAndForeignNames) {
  testing::ScopedTempDir dir;
  EXPECT_EQ(LatestCheckpointStep(dir.path()), 0);
  for (const char* name : {"step-2", "step-10", "step-12.partial", "step-x", "other"}) {
    ASSERT_TRUE(common::MakeDirectories(dir.Join(std::string("checkpoints/") + name)).ok());
  }
  EXPECT_EQ(LatestCheckpointStep(dir.path()), 10);
}

TEST(RankProcess, RunsInItsWorkDirWithItsEnvironmentAndLogsOutput) {
  testing::ScopedTempDir dir;
  RankCommand command;
  command.argv = {"/bin/sh", "-c", "pwd; echo rank=$GSPO_RANK; echo oops >&2; exit 3"};
  command.work_dir = dir.Join("work/rank-0");
  command.env = {{"GSPO_RANK", "0"}};
  auto process = RankProcess::Start(command);
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_EQ(WaitForExit(**process), 3);
  EXPECT_EQ(*common::ReadFileToString((*process)->log_path(), 4096),
            dir.Join("work/rank-0") + "\nrank=0\noops\n");
  EXPECT_EQ(TailOfFile((*process)->log_path(), 2, 4096), "rank=0\noops");
  EXPECT_EQ(TailOfFile((*process)->log_path(), 1, 4096), "oops");
}

TEST(RankProcess, KillEndsTheWholeProcessGroup) {
  testing::ScopedTempDir dir;
  RankCommand command;
  // The shell ignores SIGTERM and has a child; SIGKILL after the grace ends both.
  command.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 1000 & echo $! > child.pid; wait"};
  command.work_dir = dir.path();
  auto process = RankProcess::Start(command);
  ASSERT_TRUE(process.ok());
  while (!common::PathExists(dir.Join("child.pid")))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const pid_t child = std::stoi(*common::ReadFileToString(dir.Join("child.pid"), 64));
  (*process)->Kill(std::chrono::milliseconds(200));
  EXPECT_EQ((*process)->Poll(), 128 + 9);
  // The grandchild got the group's SIGKILL too (it may linger as a zombie of init briefly).
  for (int i = 0; i < 200 && ::kill(child, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(::kill(child, 0), 0);
}

TEST(RankProcess, MissingExecutableExits127) {
  testing::ScopedTempDir dir;
  RankCommand command;
  command.argv = {dir.Join("no-such-binary")};
  command.work_dir = dir.path();
  auto process = RankProcess::Start(command);
  ASSERT_TRUE(process.ok());
  EXPECT_EQ(WaitForExit(**process), 127);
  EXPECT_THAT(*common::ReadFileToString((*process)->log_path(), 4096),
              HasSubstr("cannot execute the rank command"));
}

}  // namespace
}  // namespace gspo::worker
