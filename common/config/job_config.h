// Job spec resolution: job.yaml + command-line overrides -> one validated, complete JobSpec.
//
//   job.yaml ──ParseYaml──▶ SpecDecoder ─┐
//   --set a.b=v, guide flags ────────────┼─▶ user layer ─┐
//                                         │               ▼
//   defaults ◀── size preset (auto: from the model's size) ◀── task preset ◀── user layer
//                                                         │
//                                     derived fields, ValidateJobSpec, ResolveBatchShape
//
// Precedence: command line (in order given) > job.yaml > task preset > size preset > defaults.
// The same code runs in `gspoctl validate`, `gspo train` and the coordinator's SubmitJob.
// Stateless functions; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/spec_fields.h"
#include "common/status.h"
#include "gspo/v1/job.pb.h"

namespace gspo::config {

// One command-line change to the spec.
struct Override {
  std::string origin;  // how errors name it: "--set lora.lora_r=8", "--model"
  std::string path;    // dotted field path: "lora.lora_r"
  std::string value;
  bool value_is_yaml = true;  // --set values are YAML ("[q_proj, v_proj]"); flag values are text
};

// Parses the argument of --set ("lora.lora_r=8").
common::StatusOr<Override> ParseSetOverride(const std::string& argument);

// The reference guide's flags: --model M, --task T, --use-lora, --no-lora, --use-4bit,
// --use-8bit, --output-dir D, --wandb, --wandb-project P. If args[*index] is one of them, appends
// its overrides, advances *index past its value and returns true; returns false otherwise.
common::StatusOr<bool> ParseGuideFlag(const std::vector<std::string>& args, std::size_t* index,
                                      std::vector<Override>* overrides);

// Usage lines for the guide's flags, for --help texts.
const char* GuideFlagsHelp();

struct JobSource {
  std::optional<std::string> file;  // job.yaml; may be absent when flags describe the job
  std::optional<std::string> text;  // job.yaml contents already in memory (file names it)
  std::vector<Override> overrides;
};

struct ResolvedJob {
  v1::JobSpec spec;
  std::string size_preset;  // 2b | 9b | 27b | none
  std::string size_basis;   // why that preset: "the name 'google/gemma-2-9b-it'"
  SourceMap sources;
  std::vector<std::string> warnings;
};

// Loads, layers, derives and validates. Every problem is reported in one kInvalidArgument
// status, one "where: field.path: what was expected, got what" line each.
common::StatusOr<ResolvedJob> ResolveJob(const JobSource& source);

// A short header describing how the spec was resolved, for `-o yaml` output.
std::string DescribeResolution(const ResolvedJob& job);

}  // namespace gspo::config
