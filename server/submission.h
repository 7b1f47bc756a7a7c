// Submission checks: what SubmitJob accepts. The spec goes through the same resolution and
// validation as `gspoctl validate` (config::ResolveJob), then the server's own checks: sizes of
// every request field, and paths.
//
// Paths: the client sends its working directory and the job file's directory (both absolute).
// A relative model.name_or_path that names a directory under the working directory, a relative
// output.output_dir and a relative output.resume_from_checkpoint resolve against the working
// directory; relative scenario files against the job file's directory (as `gspo train` reads
// them). The stored spec holds only absolute paths, so a rank reads the same files wherever its
// work directory is. output.output_dir may not contain '..' and, when the server has an output
// root, must lie under it.
// Stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gspo::server {

struct Submission {
  std::string spec_yaml;
  std::string file_name;
  std::vector<std::string> set;  // "FIELD=VALUE"
  std::string working_dir;
  std::string job_dir;
};

struct SubmissionLimits {
  std::size_t max_spec_bytes = 1 << 20;
  std::size_t max_overrides = 64;
  std::size_t max_override_bytes = 4096;
  std::size_t max_path_bytes = 4096;
  std::string output_root;  // empty: any absolute output directory
};

struct ValidatedJob {
  std::string name;
  std::string spec_yaml;  // resolved, with absolute paths
  std::string output_dir;
  int gpus = 1;
  int priority = 0;
  int max_restarts = 0;
  std::int64_t total_steps = 0;
  std::vector<std::string> warnings;
};

// kInvalidArgument with one "where: field: what was expected" line per problem.
common::StatusOr<ValidatedJob> ValidateSubmission(const Submission& submission,
                                                  const SubmissionLimits& limits);

}  // namespace gspo::server
