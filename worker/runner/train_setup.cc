#include "worker/runner/train_setup.h"

#include "common/config/job_config.h"
#include "common/config/spec_encoder.h"
#include "common/files.h"
#include "common/model_dir.h"
#include "common/strings.h"
#include "gspo/v1/job.pb.h"
#include "worker/env/job_environment.h"
#include "worker/reward/job_reward.h"

namespace gspo::runner {

std::string TrainUsage() {
  return std::string("usage: gspo train job.yaml [--set FIELD=VALUE]... [flags] [--no-progress]\n"
                     "                  [--nproc N] [--dist-timeout SECONDS] [--threads N]\n") +
         "Runs the GSPO job (or, with algorithm: sft, supervised fine-tuning on dataset.path) on\n"
         "this machine; writes output.output_dir (metrics.jsonl, checkpoints/, final/).\n"
         "--nproc N runs N data-parallel ranks (sets resources.gpus to N): on CUDA rank R\n"
         "uses cuda:R and NCCL (default: one rank per visible GPU), else CPU ranks and Gloo\n"
         "(default 1); with resources.mode=disaggregated, resources.rollout_gpus of them only\n"
         "generate;\n"
         "--dist-timeout bounds how long a rank waits for the others (default 600 s);\n"
         "--threads sets each rank's intra-op threads (default: cores / ranks). The\n"
         "reference guide's flags also work:\n" +
         config::GuideFlagsHelp();
}

common::StatusOr<TrainSetup> PrepareTraining(const std::vector<std::string>& args) {
  TrainSetup setup;
  config::JobSource source;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--no-progress") {
      setup.progress = false;
      ++i;
    } else if (args[i] == "--set") {
      if (i + 1 >= args.size()) return common::InvalidArgumentError("--set needs FIELD=VALUE");
      GSPO_ASSIGN_OR_RETURN(config::Override o, config::ParseSetOverride(args[i + 1]));
      source.overrides.push_back(std::move(o));
      i += 2;
    } else {
      GSPO_ASSIGN_OR_RETURN(bool guide, config::ParseGuideFlag(args, &i, &source.overrides));
      if (guide) continue;
      if (args[i].rfind("-", 0) == 0) {
        return common::InvalidArgumentError("unknown option '" + args[i] + "'\n" + TrainUsage());
      }
      if (source.file) return common::InvalidArgumentError("more than one job file\n" + TrainUsage());
      source.file = args[i++];
    }
  }
  if (!source.file && source.overrides.empty()) {
    return common::InvalidArgumentError("expected a job file or flags such as --model\n" + TrainUsage());
  }
  GSPO_ASSIGN_OR_RETURN(config::ResolvedJob job, config::ResolveJob(source));
  setup.warnings = job.warnings;
  const v1::JobSpec& spec = job.spec;
  auto model_dir = common::FindModelDirectory(spec.model().name_or_path());
  if (!model_dir) {
    const std::string& name = spec.model().name_or_path();
    // A repo id: nothing is downloaded here, so say how it gets into the cache.
    const bool repo_id = !name.empty() && name[0] != '/' && name[0] != '.' && name.find('/') != std::string::npos;
    return common::NotFoundError(
        "model.name_or_path: '" + name + "' is not a directory, and not in the local Hugging Face cache (searched " +
        common::Join(common::HuggingFaceCacheRoots(), ", ") + ")" +
        (repo_id ? "; to fetch it: accept its licence on its Hugging Face page (gated models such as Gemma), "
                   "then `huggingface-cli login` and `huggingface-cli download " + name + "`"
                 : std::string()));
  }
  setup.options = TrainOptionsFromSpec(spec, *model_dir);
  env::ScenarioSources sources;
  sources.job_dir = source.file ? common::DirName(*source.file) : ".";
  GSPO_ASSIGN_OR_RETURN(env::EnvironmentOptions env_options, env::EnvironmentOptionsForJob(spec, sources));
  GSPO_ASSIGN_OR_RETURN(setup.environment, env::ConversationEnvironment::Create(std::move(env_options)));
  GSPO_ASSIGN_OR_RETURN(setup.rewarder, reward::BatchRewarderForJob(spec));
  if (setup.options.algorithm == "sft") {
    GSPO_ASSIGN_OR_RETURN(setup.conversations, LoadSftDataset(setup.options.dataset_path));
  }
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(setup.options.output_dir));
  GSPO_RETURN_IF_ERROR(common::WriteFileAtomically(
      common::JoinPath(setup.options.output_dir, "job.yaml"),
      config::EncodeYaml(spec, config::DescribeResolution(job))));
  return setup;
}

}  // namespace gspo::runner
