#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::common {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// 2026-11-30T01:23:45.123Z
const std::chrono::system_clock::time_point kTime{seconds(1796001825) + milliseconds(123)};

TEST(ParseLogLevelTest, AcceptsTheFourNames) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_STREQ(LogLevelName(LogLevel::kWarning), "warning");
  EXPECT_EQ(LogLevelLetter(LogLevel::kDebug), 'D');
}

TEST(ParseLogLevelTest, RejectsOthersNamingTheAcceptedValues) {
  for (const char* text : {"INFO", "warn", "", "trace"}) {
    const StatusOr<LogLevel> level = ParseLogLevel(text);
    ASSERT_FALSE(level.ok()) << text;
    EXPECT_EQ(level.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ParseLogLevel("warn").status().message(),
            "unknown log level 'warn'; expected one of debug, info, warning, error");
}

TEST(FormatLogLineTest, MessageOnly) {
  EXPECT_EQ(FormatLogLine(kTime, LogLevel::kInfo, "server started"),
            "2026-11-30T01:23:45.123Z I server started");
  EXPECT_EQ(FormatLogLine(kTime, LogLevel::kDebug, "x"), "2026-11-30T01:23:45.123Z D x");
  EXPECT_EQ(FormatLogLine(kTime, LogLevel::kWarning, "x"), "2026-11-30T01:23:45.123Z W x");
  EXPECT_EQ(FormatLogLine(kTime, LogLevel::kError, "x"), "2026-11-30T01:23:45.123Z E x");
}

TEST(FormatLogLineTest, FieldTypes) {
  const std::string name = "job-7";
  const std::string_view view = "view";
  const std::int64_t big = -9000000000;
  const std::uint64_t ubig = 18446744073709551615u;
  EXPECT_EQ(FormatLogLine(kTime, LogLevel::kInfo, "step done",
                          {{"job", name},
                           {"view", view},
                           {"literal", "lit"},
                           {"step", 12},
                           {"big", big},
                           {"ubig", ubig},
                           {"loss", 0.25},
                           {"lr", 1e-05},
                           {"f", 1.5f},
                           {"resumed", true},
                           {"done", false}}),
            "2026-11-30T01:23:45.123Z I step done job=job-7 view=view literal=lit step=12 "
            "big=-9000000000 ubig=18446744073709551615 loss=0.25 lr=1e-05 f=1.5 resumed=true "
            "done=false");
}

TEST(FormatLogLineTest, QuotesAndEscapesValues) {
  EXPECT_EQ(FormatLogLine(kTime, LogLevel::kError, "load failed",
                          {{"path", "/data/my file.jsonl"},
                           {"empty", ""},
                           {"eq", "a=b"},
                           {"quote", "say \"hi\""},
                           {"backslash", "C:\\dir"},
                           {"both", "a \\ \"b\""},
                           {"lines", "one\ntwo"},
                           {"ctrl", std::string("a\x01") + "b\t"}}),
            "2026-11-30T01:23:45.123Z E load failed path=\"/data/my file.jsonl\" empty=\"\" "
            "eq=\"a=b\" quote=\"say \\\"hi\\\"\" backslash=C:\\dir both=\"a \\\\ \\\"b\\\"\" "
            "lines=\"one\\ntwo\" ctrl=\"a\\x01b\\t\"");
}

TEST(FormatLogLineTest, KeepsOneLineAndSanitizesKeys) {
  EXPECT_EQ(
      FormatLogLine(kTime, LogLevel::kInfo, "first\nsecond \"q\"", {{"bad key=", 1}, {"", 2}}),
      "2026-11-30T01:23:45.123Z I first\\nsecond \"q\" bad_key_=1 _=2");
}

TEST(FormatLogLineTest, MillisecondsArePadded) {
  const std::chrono::system_clock::time_point t{seconds(1796001825) + milliseconds(7)};
  EXPECT_EQ(FormatLogLine(t, LogLevel::kInfo, "m"), "2026-11-30T01:23:45.007Z I m");
}

class LoggerTest : public ::testing::Test {
 protected:
  gspo::testing::ScopedTempDir dir_{::testing::TempDir()};
  gspo::testing::FakeClock clock_{kTime};
};

TEST_F(LoggerTest, WritesFilteredLinesToFile) {
  Logger logger;
  logger.SetStderr(false);
  logger.SetClock(&clock_);
  const std::string path = dir_.Join("gspo.log");
  ASSERT_TRUE(logger.OpenFile(path).ok());

  logger.Log(LogLevel::kDebug, "hidden");
  logger.Log(LogLevel::kInfo, "job accepted", {{"job", "j1"}, {"gpus", 2}});
  clock_.Advance(milliseconds(1500));
  logger.SetLevel(LogLevel::kDebug);
  EXPECT_TRUE(logger.IsEnabled(LogLevel::kDebug));
  logger.Log(LogLevel::kDebug, "now visible");
  logger.SetLevel(LogLevel::kError);
  logger.Log(LogLevel::kWarning, "hidden too");
  logger.CloseFile();
  logger.Log(LogLevel::kError, "after close");

  const StatusOr<std::string> contents = ReadFileToString(path, 1 << 20);
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  EXPECT_EQ(*contents,
            "2026-11-30T01:23:45.123Z I job accepted job=j1 gpus=2\n"
            "2026-11-30T01:23:46.623Z D now visible\n");
}

TEST_F(LoggerTest, OpenFileAppends) {
  const std::string path = dir_.Join("append.log");
  ASSERT_TRUE(WriteFileAtomically(path, "earlier\n").ok());
  Logger logger;
  logger.SetStderr(false);
  logger.SetClock(&clock_);
  ASSERT_TRUE(logger.OpenFile(path).ok());
  logger.Log(LogLevel::kWarning, "later");
  logger.CloseFile();
  EXPECT_EQ(*ReadFileToString(path, 1 << 20), "earlier\n2026-11-30T01:23:45.123Z W later\n");
}

TEST_F(LoggerTest, OpenFileErrorNamesPath) {
  Logger logger;
  const std::string path = dir_.Join("missing/dir/gspo.log");
  const Status status = logger.OpenFile(path);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(path + ": cannot open log file"));
}

TEST_F(LoggerTest, ConcurrentLinesStayWhole) {
  Logger logger;
  logger.SetStderr(false);
  logger.SetClock(&clock_);
  const std::string path = dir_.Join("threads.log");
  ASSERT_TRUE(logger.OpenFile(path).ok());
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < kLines; ++i) logger.Log(LogLevel::kInfo, "tick", {{"t", t}, {"i", i}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  logger.CloseFile();

  const std::vector<std::string> lines = Split(*ReadFileToString(path, 1 << 20), '\n');
  ASSERT_EQ(lines.size(), kThreads * kLines + 1u);  // The last piece follows the final newline.
  EXPECT_EQ(lines.back(), "");
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    ASSERT_TRUE(StartsWith(lines[i], "2026-11-30T01:23:45.123Z I tick t=")) << lines[i];
  }
}

TEST(GlobalLoggerTest, FreeFunctionsUseTheGlobalLogger) {
  gspo::testing::ScopedTempDir dir(::testing::TempDir());
  gspo::testing::FakeClock clock(kTime);
  Logger& global = Logger::Global();
  EXPECT_EQ(&global, &Logger::Global());
  global.SetStderr(false);
  global.SetClock(&clock);
  global.SetLevel(LogLevel::kDebug);
  const std::string path = dir.Join("global.log");
  ASSERT_TRUE(global.OpenFile(path).ok());
  LogDebug("d");
  LogInfo("i", {{"k", "v"}});
  LogWarning("w");
  LogError("e");
  global.CloseFile();
  global.SetClock(nullptr);
  global.SetLevel(LogLevel::kInfo);
  global.SetStderr(true);
  EXPECT_EQ(*ReadFileToString(path, 1 << 20),
            "2026-11-30T01:23:45.123Z D d\n"
            "2026-11-30T01:23:45.123Z I i k=v\n"
            "2026-11-30T01:23:45.123Z W w\n"
            "2026-11-30T01:23:45.123Z E e\n");
}

}  // namespace
}  // namespace gspo::common
