// `validate` as users run it: in-process for exact output, and the built gspoctl binary over
// every example job (exit 0) and every bad job in tests/data/bad_jobs (exit 2 with the message
// written in the file's first line, "# expect: ...").
#include "client/validate_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <sstream>

#include "common/files.h"
#include "common/strings.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::client {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result Validate(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunValidateCommand("gspoctl", args, out, err);
  return {code, out.str(), err.str()};
}

const std::string kSource = GSPO_SOURCE_DIR;

TEST(ValidateCommand, ValidFileSummarisesTheResolvedJob) {
  Result r = Validate({kSource + "/examples/jobs/gemma2-9b-it-customer-service.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(": valid ("));
  EXPECT_THAT(r.out, HasSubstr("preset 9b, task customer_service"));
}

TEST(ValidateCommand, OutputYamlIsAJobFileThatValidatesToItself) {
  Result first =
      Validate({"--model", "google/gemma-2-9b-it", "--task", "sales", "--use-4bit", "-o", "yaml"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, StartsWith("# Resolved by gspoctl validate"));
  EXPECT_THAT(first.out, HasSubstr("\nname: gemma-2-9b-it-sales\n"));
  gspo::testing::ScopedTempDir dir;
  const std::string path = dir.Join("job.yaml");
  ASSERT_TRUE(common::WriteFileAtomically(path, first.out).ok());
  Result second = Validate({path, "-o", "yaml"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  // Only the header differs: the second run reads "preset: 9b" as the user's choice.
  const auto body = [](const std::string& text) { return text.substr(text.find("\napiVersion:")); };
  EXPECT_EQ(body(second.out), body(first.out));
}

TEST(ValidateCommand, OutputJson) {
  Result r = Validate({"--model", "google/gemma-2-2b-it", "--output=json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\n  \"apiVersion\": \"gspo/v1\",\n  \"name\": "));
  EXPECT_THAT(
      r.out,
      HasSubstr("\"lora_target_modules\": [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\"]"));
}

TEST(ValidateCommand, QuietPrintsNothing) {
  Result r = Validate({"-q", "--model", "google/gemma-2-2b-it"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(ValidateCommand, WarningsGoToStderr) {
  Result r = Validate({"--model", "acme/assistant"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.err, StartsWith("warning: preset: auto could not tell the size"));
}

TEST(ValidateCommand, InvalidSpecExitsTwoWithTheFieldPath) {
  Result r = Validate({"--model", "google/gemma-2-2b-it", "--set", "generation.top_p=2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "--set generation.top_p=2: generation.top_p: expected a number in (0, 1], got 2\n");
}

TEST(ValidateCommand, UsageErrorsExitTwo) {
  EXPECT_EQ(Validate({}).exit_code, 2);
  Result unknown = Validate({"--frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, StartsWith("gspoctl validate: unknown option '--frobnicate'\n"));
  Result format = Validate({"--model", "x/gemma-2-2b", "-o", "toml"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_THAT(format.err,
              StartsWith("gspoctl validate: unknown output format 'toml'; expected yaml or json"));
  Result two = Validate({"a.yaml", "b.yaml"});
  EXPECT_EQ(two.exit_code, 2);
  EXPECT_THAT(two.err, StartsWith("gspoctl validate: more than one job file ('a.yaml', 'b.yaml')"));
  Result set = Validate({"--set"});
  EXPECT_EQ(set.exit_code, 2);
  EXPECT_THAT(set.err, StartsWith("gspoctl validate: --set needs FIELD=VALUE"));
}

TEST(ValidateCommand, MissingFileExitsTwo) {
  Result r = Validate({"/nonexistent/job.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "/nonexistent/job.yaml: no such file\n");
}

// Runs the real binary; returns its exit code and stderr.
Result RunGspoctl(const std::string& args, const std::string& cwd) {
  const gspo::testing::CommandResult r = gspo::testing::RunShellCommand(
      "cd '" + cwd + "' && '" + std::string(GSPO_BINARY_DIR) + "/bin/gspoctl' " + args +
      " 2>&1 >/dev/null");
  return {r.exit_code, "", r.output};
}

TEST(GspoctlBinary, AcceptsEveryExampleJob) {
  int count = 0;
  const std::vector<std::string> names = common::ListDirectory(kSource + "/examples/jobs").value();
  for (const std::string& name : names) {
    if (!common::EndsWith(name, ".yaml")) continue;
    Result r = RunGspoctl("validate -q 'examples/jobs/" + name + "'", kSource);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    ++count;
  }
  EXPECT_GE(count, 10);
}

TEST(GspoctlBinary, RejectsEveryBadJobWithExitTwoAndItsMessage) {
  const std::string dir = kSource + "/tests/data/bad_jobs";
  int count = 0;
  const std::vector<std::string> names = common::ListDirectory(dir).value();
  for (const std::string& name : names) {
    auto text = common::ReadFileToString(common::JoinPath(dir, name), 1 << 20);
    ASSERT_TRUE(text.ok()) << text.status();
    ASSERT_THAT(*text, StartsWith("# expect: ")) << name;
    const std::string expected = text->substr(10, text->find('\n') - 10);
    Result r = RunGspoctl("validate '" + name + "'", dir);
    EXPECT_EQ(r.exit_code, 2) << name << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(expected)) << name;
    ++count;
  }
  EXPECT_GE(count, 15);
}

TEST(GspoctlBinary, RejectsAnOversizedFileQuickly) {
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("huge.yaml"), std::string(3 << 20, 'a')).ok());
  Result r = RunGspoctl("validate huge.yaml", dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "huge.yaml: file is 3 MiB; the limit is 1 MiB\n");
}

TEST(GspoctlBinary, UnknownCommandExitsTwo) {
  Result r = RunGspoctl("frobnicate", kSource);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("gspoctl: unknown command 'frobnicate'"));
}

}  // namespace
}  // namespace gspo::client
