// What SubmitJob accepts: the spec validated as `gspoctl validate` does, then paths made
// absolute and checked, and every request field bounded.
#include "server/submission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"

namespace gspo::server {
namespace {

using ::testing::HasSubstr;

const std::string kSource = GSPO_SOURCE_DIR;

Submission Tiny() {
  Submission s;
  s.spec_yaml = *common::ReadFileToString(kSource + "/examples/jobs/tiny-cpu.yaml", 1 << 20);
  s.file_name = "examples/jobs/tiny-cpu.yaml";
  s.working_dir = kSource;
  s.job_dir = kSource + "/examples/jobs";
  return s;
}

common::Status Error(const Submission& s, const SubmissionLimits& limits = {}) {
  return ValidateSubmission(s, limits).status();
}

TEST(Submission, RelativePathsBecomeAbsolute) {
  auto job = ValidateSubmission(Tiny(), {});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->name, "tiny-cpu");
  EXPECT_EQ(job->output_dir, kSource + "/outputs/tiny-cpu");
  EXPECT_EQ(job->gpus, 1);
  EXPECT_EQ(job->total_steps, 6);
  EXPECT_EQ(job->max_restarts, 3);
  EXPECT_THAT(job->spec_yaml, HasSubstr("name_or_path: " + kSource + "/examples/models/tiny-chat"));
  EXPECT_THAT(job->spec_yaml, HasSubstr("output_dir: " + kSource + "/outputs/tiny-cpu"));
}

TEST(Submission, ScenarioFilesResolveAgainstTheJobDirectory) {
  Submission s = Tiny();
  s.job_dir = "/jobs";
  s.spec_yaml += "\n";
  s.set = {"environment.scenarios=[{file: packs/cs.yaml}]"};
  auto job = ValidateSubmission(s, {});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_THAT(job->spec_yaml, HasSubstr("/jobs/packs/cs.yaml"));
}

TEST(Submission, DatasetPathResolvesAgainstTheWorkingDirectory) {
  Submission s = Tiny();
  s.set = {"algorithm=sft", "dataset.path=data/conversations.jsonl", "output.save_steps=0"};
  auto job = ValidateSubmission(s, {});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_THAT(job->spec_yaml, HasSubstr("path: " + kSource + "/data/conversations.jsonl"));
}

TEST(Submission, ARepoIdModelStaysAsItIs) {
  Submission s = Tiny();
  s.set = {"model.name_or_path=google/gemma-2-2b-it"};
  auto job = ValidateSubmission(s, {});
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_THAT(job->spec_yaml, HasSubstr("name_or_path: google/gemma-2-2b-it"));
}

TEST(Submission, ARelativeModelPathThatIsNoDirectoryIsRejected) {
  Submission s = Tiny();
  s.working_dir = "/nonexistent";
  EXPECT_THAT(Error(s).message(),
              HasSubstr("model.name_or_path: 'examples/models/tiny-chat' is not a directory under "
                        "the working directory '/nonexistent'"));
  s.set = {"model.name_or_path=./tiny-chat"};
  EXPECT_THAT(Error(s).message(),
              HasSubstr("expected a model directory or a Hugging Face repo id"));
}

TEST(Submission, OutputDirectoryChecks) {
  Submission s = Tiny();
  s.set = {"output.output_dir=/data/../etc"};
  EXPECT_THAT(Error(s).message(), HasSubstr("output.output_dir: expected a path without '..'"));

  s.set = {"output.output_dir=/"};
  EXPECT_THAT(Error(s).message(), HasSubstr("output.output_dir: expected a directory below '/'"));

  s.set = {"output.output_dir=/elsewhere/run"};
  SubmissionLimits limits;
  limits.output_root = "/srv/gspo";
  EXPECT_THAT(Error(s, limits).message(),
              HasSubstr("outside the server's output root '/srv/gspo'"));
  s.set = {"output.output_dir=/srv/gspo/./run/"};
  auto job = ValidateSubmission(s, limits);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->output_dir, "/srv/gspo/run");

  s = Tiny();
  s.working_dir.clear();
  s.set = {"model.name_or_path=" + kSource + "/examples/models/tiny-chat"};
  EXPECT_THAT(Error(s).message(),
              HasSubstr("output.output_dir: relative path './outputs/tiny-cpu' needs the client's "
                        "working directory"));
}

TEST(Submission, RequestFieldsAreBounded) {
  Submission s = Tiny();
  s.working_dir = "relative/dir";
  EXPECT_THAT(Error(s).message(), HasSubstr("working_dir: expected an absolute path"));
  s = Tiny();
  s.job_dir = "/a/../b";
  EXPECT_THAT(Error(s).message(), HasSubstr("job_dir: expected an absolute path without '..'"));
  s = Tiny();
  s.spec_yaml = std::string(2 << 20, '#');
  EXPECT_THAT(Error(s).message(), HasSubstr("the spec is 2 MiB; the limit is 1 MiB"));
  s = Tiny();
  s.set.assign(65, "name=x");
  EXPECT_THAT(Error(s).message(), HasSubstr("set: 65 overrides; the limit is 64"));
  s = Tiny();
  s.file_name = "bad\nname";
  EXPECT_THAT(Error(s).message(), HasSubstr("file_name: expected at most 255 printable bytes"));
  s = Tiny();
  s.set = {"no-equals-sign"};
  EXPECT_EQ(Error(s).code(), common::StatusCode::kInvalidArgument);
}

TEST(Submission, SpecErrorsAreTheValidatorsOwn) {
  Submission s = Tiny();
  s.spec_yaml =
      "apiVersion: gspo/v1\nmodel:\n  name_or_path: google/gemma-2-9b-it\ngpso:\n  beta: 0.1\n";
  s.file_name = "unknown_key.yaml";
  EXPECT_THAT(Error(s).message(),
              HasSubstr("unknown_key.yaml:4:1: gpso: unknown key; did you mean 'gspo'?"));
  s.spec_yaml = "";
  s.file_name = "empty.yaml";
  EXPECT_THAT(Error(s).message(), HasSubstr("empty.yaml: empty document"));
}

}  // namespace
}  // namespace gspo::server
