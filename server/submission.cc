#include "server/submission.h"

#include "common/config/job_config.h"
#include "common/config/spec_encoder.h"
#include "common/files.h"
#include "common/strings.h"
#include "gspo/v1/job.pb.h"

namespace gspo::server {
namespace {

using common::InvalidArgumentError;
using common::Status;

bool HasDotDot(const std::string& path) {
  for (const std::string& part : common::Split(path, '/')) {
    if (part == "..") return true;
  }
  return false;
}

// "org/name" with one slash and no path-like parts: a Hugging Face repo id, looked up in the
// worker's cache.
bool LooksLikeRepoId(const std::string& text) {
  const std::vector<std::string> parts = common::Split(text, '/');
  if (parts.size() != 2) return false;
  for (const std::string& part : parts) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

bool HasControlBytes(const std::string& text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

Status CheckDirField(const char* field, const std::string& value, const SubmissionLimits& limits) {
  if (value.empty()) return Status::Ok();
  if (value.size() > limits.max_path_bytes) {
    return InvalidArgumentError(std::string(field) + ": " + std::to_string(value.size()) +
                                " bytes; the limit is " + std::to_string(limits.max_path_bytes));
  }
  if (value[0] != '/' || HasDotDot(value) || HasControlBytes(value)) {
    return InvalidArgumentError(
        std::string(field) +
        ": expected an absolute path without '..' or control characters, got " +
        common::QuoteForMessage(value));
  }
  return Status::Ok();
}

bool IsUnder(const std::string& path, const std::string& root) {
  std::string prefix = root;
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix == "/") return true;
  return path == prefix || common::StartsWith(path, prefix + "/");
}

// Absolute paths for the spec's relative ones; the checks on output.output_dir.
Status ResolvePaths(const Submission& submission, const SubmissionLimits& limits,
                    v1::JobSpec* spec) {
  const std::string where = submission.file_name;
  auto* output = spec->mutable_output();
  std::string output_dir = output->output_dir();
  if (output_dir[0] != '/') {
    if (submission.working_dir.empty()) {
      return InvalidArgumentError(
          where + ": output.output_dir: relative path " + common::QuoteForMessage(output_dir) +
          " needs the client's working directory; expected an absolute path");
    }
    output_dir = common::JoinPath(submission.working_dir, output_dir);
  }
  while (output_dir.size() > 1 && output_dir.back() == '/') output_dir.pop_back();
  if (HasDotDot(output_dir) || HasControlBytes(output_dir)) {
    return InvalidArgumentError(where +
                                ": output.output_dir: expected a path without '..' or "
                                "control characters, got " +
                                common::QuoteForMessage(output_dir));
  }
  // Drop "." components so that the stored path is canonical.
  std::vector<std::string> parts;
  for (const std::string& part : common::Split(output_dir, '/')) {
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  output_dir = "/" + common::Join(parts, "/");
  if (output_dir == "/") {
    return InvalidArgumentError(where +
                                ": output.output_dir: expected a directory below '/', got '/'");
  }
  if (!limits.output_root.empty() && !IsUnder(output_dir, limits.output_root)) {
    return InvalidArgumentError(
        where + ": output.output_dir: " + common::QuoteForMessage(output_dir) +
        " is outside the server's output root '" + limits.output_root + "'");
  }
  output->set_output_dir(output_dir);

  const std::string& resume = output->resume_from_checkpoint();
  if (!resume.empty() && resume != "latest" && resume[0] != '/') {
    if (submission.working_dir.empty()) {
      return InvalidArgumentError(where +
                                  ": output.resume_from_checkpoint: relative path needs "
                                  "the client's working directory; expected an absolute path");
    }
    output->set_resume_from_checkpoint(common::JoinPath(submission.working_dir, resume));
  }

  const std::string& dataset = spec->dataset().path();
  if (!dataset.empty() && dataset[0] != '/') {
    if (submission.working_dir.empty()) {
      return InvalidArgumentError(where +
                                  ": dataset.path: relative path needs the client's working "
                                  "directory; expected an absolute path");
    }
    spec->mutable_dataset()->set_path(common::JoinPath(submission.working_dir, dataset));
  }

  auto* scenarios = spec->mutable_environment()->mutable_scenarios();
  for (int i = 0; i < scenarios->size(); ++i) {
    auto* scenario = scenarios->Mutable(i);
    if (!scenario->has_file() || scenario->file().empty() || scenario->file()[0] == '/') continue;
    if (submission.job_dir.empty()) {
      return InvalidArgumentError(where + ": environment.scenarios[" + std::to_string(i) +
                                  "].file: relative path needs the job file's directory; "
                                  "expected an absolute path");
    }
    scenario->set_file(common::JoinPath(submission.job_dir, scenario->file()));
  }
  return Status::Ok();
}

}  // namespace

common::StatusOr<ValidatedJob> ValidateSubmission(const Submission& submission,
                                                  const SubmissionLimits& limits) {
  std::string file_name = submission.file_name.empty() ? "job.yaml" : submission.file_name;
  if (file_name.size() > 255 || HasControlBytes(file_name)) {
    return InvalidArgumentError("file_name: expected at most 255 printable bytes, got " +
                                common::QuoteForMessage(file_name));
  }
  if (submission.spec_yaml.size() > limits.max_spec_bytes) {
    return InvalidArgumentError(file_name + ": the spec is " +
                                common::HumanBytes(submission.spec_yaml.size()) +
                                "; the limit is " + common::HumanBytes(limits.max_spec_bytes));
  }
  GSPO_RETURN_IF_ERROR(CheckDirField("working_dir", submission.working_dir, limits));
  GSPO_RETURN_IF_ERROR(CheckDirField("job_dir", submission.job_dir, limits));
  if (submission.set.size() > limits.max_overrides) {
    return InvalidArgumentError("set: " + std::to_string(submission.set.size()) +
                                " overrides; the limit is " + std::to_string(limits.max_overrides));
  }

  config::JobSource source;
  source.file = file_name;
  source.text = submission.spec_yaml;
  for (const std::string& set : submission.set) {
    if (set.size() > limits.max_override_bytes) {
      return InvalidArgumentError("--set: " + std::to_string(set.size()) + " bytes; the limit is " +
                                  std::to_string(limits.max_override_bytes));
    }
    GSPO_ASSIGN_OR_RETURN(config::Override o, config::ParseSetOverride(set));
    source.overrides.push_back(std::move(o));
  }

  GSPO_ASSIGN_OR_RETURN(config::ResolvedJob job, config::ResolveJob(source));
  // A relative model directory under the client's working directory becomes absolute; resolve
  // again so that the size preset ("auto") reads that model's config.
  const std::string model = job.spec.model().name_or_path();
  if (!model.empty() && model[0] != '/' && !submission.working_dir.empty() &&
      common::IsDirectory(common::JoinPath(submission.working_dir, model))) {
    config::Override o;
    o.origin = "model.name_or_path (resolved against the working directory)";
    o.path = "model.name_or_path";
    o.value = common::JoinPath(submission.working_dir, model);
    o.value_is_yaml = false;
    source.overrides.push_back(std::move(o));
    GSPO_ASSIGN_OR_RETURN(job, config::ResolveJob(source));
  } else if (!model.empty() && model[0] != '/' && !LooksLikeRepoId(model)) {
    // Neither a directory under the client's working directory nor "org/name": no worker
    // could find it, so say so now rather than when a rank starts.
    return InvalidArgumentError(
        file_name + ": model.name_or_path: " + common::QuoteForMessage(model) +
        " is not a directory under the working directory " +
        common::QuoteForMessage(submission.working_dir.empty() ? "(none sent)"
                                                               : submission.working_dir) +
        "; expected a model directory or a Hugging Face repo id (org/name)");
  }
  GSPO_RETURN_IF_ERROR(ResolvePaths(submission, limits, &job.spec));

  ValidatedJob out;
  out.name = job.spec.name();
  out.output_dir = job.spec.output().output_dir();
  out.gpus = job.spec.resources().gpus();
  out.priority = job.spec.resources().priority();
  out.max_restarts = job.spec.resources().max_restarts();
  out.total_steps = job.spec.training().num_outer_iterations();
  out.warnings = job.warnings;
  out.spec_yaml = config::EncodeYaml(job.spec, config::DescribeResolution(job));
  return out;
}

}  // namespace gspo::server
