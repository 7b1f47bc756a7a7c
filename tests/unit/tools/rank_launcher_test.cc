// The launcher of `gspo train --nproc N`, with a shell script standing in for `gspo`: the
// arguments each rank gets, its output forwarded with the rank's prefix, and a failing rank
// stopping the others with its exit code and last line reported.
#include "worker/tools/rank_launcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Runs LaunchRanks with `script` as the executable; returns its exit code and what it printed.
struct Launched {
  int exit_code;
  std::string output;
  double seconds;
};

Launched Launch(const std::string& script_body, int nproc) {
  gspo::testing::ScopedTempDir dir;
  const std::string script = dir.Join("fake-gspo");
  EXPECT_TRUE(common::WriteFileAtomically(script, "#!/bin/sh\n" + script_body).ok());
  chmod(script.c_str(), 0755);
  std::ostringstream captured;
  std::streambuf* saved = std::cerr.rdbuf(captured.rdbuf());
  const auto start = std::chrono::steady_clock::now();
  const int code = LaunchRanks(script, {"job.yaml", "--set", "a=b"}, nproc, 30);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr.rdbuf(saved);
  return {code, captured.str(), seconds};
}

TEST(RankFlags, AreTakenOutOfTheTrainArguments) {
  std::vector<std::string> args = {"job.yaml", "--nproc",           "3",         "--set",
                                   "x=1",      "--dist-timeout=30", "--threads", "4"};
  auto flags = ExtractRankFlags(&args);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->nproc, 3);
  EXPECT_EQ(flags->timeout_s, 30);
  EXPECT_EQ(flags->rank, -1);
  EXPECT_EQ(flags->threads, 4);
  EXPECT_THAT(args, ElementsAre("job.yaml", "--set", "x=1"));

  std::vector<std::string> rank = {"job.yaml", "--rank",       "1", "--world-size",
                                   "2",        "--dist-store", "/s"};
  flags = ExtractRankFlags(&rank);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->rank, 1);
  EXPECT_EQ(flags->world_size, 2);
  EXPECT_EQ(flags->store, "/s");
  EXPECT_THAT(rank, ElementsAre("job.yaml"));

  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"--nproc", "0"},
           {"--nproc", "two"},
           {"--threads", "0"},
           {"--nproc"},
           {"--dist-timeout", "0"},
           {"--rank", "2", "--world-size", "2", "--dist-store", "/s"},
           {"--world-size", "2"},
           {"--nproc", "2", "--rank", "0", "--world-size", "2", "--dist-store", "/s"}}) {
    EXPECT_EQ(ExtractRankFlags(&bad).status().code(), common::StatusCode::kInvalidArgument);
  }
}

TEST(RankArguments, NameTheWorldAndTheStore) {
  EXPECT_THAT(RankArguments({"job.yaml"}, 1, 2, "/tmp/s", 600),
              ElementsAre("job.yaml", "--set", "resources.gpus=2", "--rank", "1", "--world-size",
                          "2", "--dist-store", "/tmp/s", "--dist-timeout", "600", "--no-progress"));
  EXPECT_THAT(RankArguments({"job.yaml"}, 0, 2, "/tmp/s", 60, 3),
              ElementsAre("job.yaml", "--set", "resources.gpus=2", "--rank", "0", "--world-size",
                          "2", "--dist-store", "/tmp/s", "--dist-timeout", "60", "--threads", "3"));
}

TEST(LaunchRanks, EveryRankSucceeds) {
  // Prints its arguments (after "train") on stderr (rank 0's stdout stays the launcher's).
  Launched run = Launch("shift; echo \"args: $*\" >&2\n", 2);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("[rank 1] args: job.yaml --set a=b --set resources.gpus=2 --rank 1 "
                        "--world-size 2 --dist-store "));
  EXPECT_THAT(run.output,
              HasSubstr("[rank 0] args: job.yaml --set a=b --set resources.gpus=2 --rank 0 "));
}

TEST(LaunchRanks, RanksRunWithNvlinkMulticastOffUnlessSet) {
  // The launcher sets NCCL_NVLS_ENABLE=0 for its ranks only where it is unset.
  const char* before = std::getenv("NCCL_NVLS_ENABLE");
  const std::string expected = before != nullptr ? before : "0";
  Launched run = Launch("echo \"nvls=$NCCL_NVLS_ENABLE\" >&2\n", 2);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("[rank 0] nvls=" + expected));
  EXPECT_THAT(run.output, HasSubstr("[rank 1] nvls=" + expected));
  EXPECT_THAT(run.output, HasSubstr("gspo train: 2 ranks (Gloo, store "));
}

TEST(LaunchRanks, AFailingRankStopsTheOthers) {
  // Rank 1 fails with a usage error; rank 0 would run for a minute.
  Launched run = Launch(
      "case \"$*\" in *'--rank 1 '*) echo 'gspo train: bad thing' >&2; exit 2;; esac\n"
      "sleep 60\n",
      2);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("gspo train: rank 1 of 2 exited with code 2: gspo train: bad thing; "
                        "the other ranks were stopped"));
  EXPECT_LT(run.seconds, 20.0);
}

TEST(LaunchRanks, AKilledRankIsNamedWithItsSignal) {
  Launched run = Launch("case \"$*\" in *'--rank 0 '*) kill -9 $$;; esac\nsleep 60\n", 3);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("gspo train: rank 0 of 3 was killed by signal 9"));
  EXPECT_LT(run.seconds, 20.0);
}

}  // namespace
}  // namespace gspo::tools
