#include "worker/tools/train_command.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "common/files.h"
#include "common/model_dir.h"
#include "common/strings.h"
#include "worker/engine/dist/gloo_communicator.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/runtime.h"
#include "worker/runner/disaggregated_trainer.h"
#include "worker/runner/engine_user_simulator.h"
#include "worker/runner/env_episode_source.h"
#include "worker/runner/group_shard.h"
#include "worker/runner/gspo_trainer.h"
#include "worker/runner/sft_trainer.h"
#include "worker/runner/train_setup.h"
#include "worker/tools/model_commands.h"
#include "worker/tools/rank_launcher.h"

namespace gspo::tools {
namespace {

// The model playing the user (environment.user_simulator.type: llm) when it is not the policy's
// base model. Outlives the episode source that borrows it.
struct UserModel {
  std::unique_ptr<engine::DecoderModel> model;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::optional<tokenizer::ChatFormat> format;
};

common::Status LoadUserModel(const std::string& name, at::ScalarType dtype, at::Device device,
                             UserModel* out) {
  auto dir = common::FindModelDirectory(name);
  if (!dir) {
    return common::NotFoundError("environment.user_simulator.model: '" + name +
                                 "' is not a directory, and not in the local Hugging Face cache "
                                 "(searched " + common::Join(common::HuggingFaceCacheRoots(), ", ") + ")");
  }
  GSPO_ASSIGN_OR_RETURN(out->model, engine::DecoderModel::Load(*dir, dtype, device));
  GSPO_ASSIGN_OR_RETURN(out->tokenizer, tokenizer::Tokenizer::FromDirectory(*dir));
  GSPO_ASSIGN_OR_RETURN(tokenizer::ChatFormat format, tokenizer::ChatFormat::FromDirectory(*dir));
  out->format = std::move(format);
  return common::Status::Ok();
}

// Multi-rank jobs train GSPO (sft runs on one rank: the job validation says so) with whole
// groups in every minibatch of every rank.
common::Status CheckRanks(const runner::TrainOptions& options, int world_size) {
  if (options.mode == "disaggregated") return runner::CheckDisaggregatedRanks(options, world_size);
  if (world_size == 1) return common::Status::Ok();
  return runner::GroupShard::Create(0, world_size, options.prompts_per_step, options.minibatches).status();
}

common::Status Train(const std::vector<std::string>& args, const RankFlags& ranks) {
  GSPO_ASSIGN_OR_RETURN(runner::TrainSetup setup, runner::PrepareTraining(args));
  if (ranks.rank >= 0 || setup.options.mode == "disaggregated") {
    GSPO_RETURN_IF_ERROR(CheckRanks(setup.options, std::max(1, ranks.world_size)));
    setup.progress = setup.progress && ranks.rank == 0;
  }
  for (const std::string& warning : setup.warnings) std::cerr << "warning: " << warning << "\n";
  const runner::TrainOptions& options = setup.options;
  // Ranks on one machine share its cores.
  const int world_size = std::max(1, ranks.world_size);
  const engine::RuntimeInfo runtime = engine::ConfigureRuntime(
      ranks.threads > 0 ? ranks.threads : std::max(1, engine::UsableCores() / world_size));
  const at::Device device = runtime.cuda_devices > 0 ? at::Device("cuda:0") : at::Device(at::kCPU);
  if (ranks.world_size > 1 && device.is_cuda()) {
    // TODO(multi-GPU): an NCCL communicator and one device per rank.
    return common::UnimplementedError(
        "--nproc: several ranks on CUDA need the NCCL communicator, which this build does not "
        "have yet; run one rank per job, or CPU ranks (CUDA_VISIBLE_DEVICES=)");
  }
  at::ScalarType dtype = device.is_cuda() ? at::kBFloat16 : at::kFloat;
  if (options.dtype == "float32") dtype = at::kFloat;
  if (options.dtype == "bfloat16") dtype = at::kBFloat16;
  if (options.dtype == "float16") dtype = at::kHalf;
  GSPO_ASSIGN_OR_RETURN(auto model, engine::DecoderModel::Load(options.model_dir, dtype, device));
  if (options.use_4bit || options.use_8bit) {
    model->QuantizeBaseWeights({options.use_4bit ? engine::QuantKind::kNf4 : engine::QuantKind::kInt8,
                                options.use_double_quant});
    std::cerr << "base weights in " << (options.use_4bit ? "NF4" : "int8")
              << (options.use_double_quant ? " (double-quantized scales)" : "") << ": "
              << model->WeightBytes() / (1024.0 * 1024.0) << " MiB on " << device << "\n";
  }
  GSPO_ASSIGN_OR_RETURN(auto tokenizer, tokenizer::Tokenizer::FromDirectory(options.model_dir));
  GSPO_ASSIGN_OR_RETURN(tokenizer::ChatFormat format, tokenizer::ChatFormat::FromDirectory(options.model_dir));
  if (options.algorithm == "sft") {
    std::cerr << "gspo train: " << options.job_name << " (sft) on " << (device.is_cuda() ? "cuda:0" : "cpu")
              << " (" << runtime.intra_op_threads << " threads), model " << options.model_dir << ", "
              << setup.conversations.size() << " conversations from " << options.dataset_path << ", "
              << options.steps << " steps of " << options.micro_batch * options.gradient_accumulation_steps
              << " conversations, " << (options.use_lora ? "LoRA adapters" : "every weight but the norms")
              << " trained\n";
    runner::SftTrainer trainer(options, model.get(), tokenizer.get(), &format, std::move(setup.conversations));
    GSPO_RETURN_IF_ERROR(trainer.Run(setup.progress));
    std::cerr << "gspo train: metrics in " << common::JoinPath(options.output_dir, "metrics.jsonl")
              << "; exports in " << common::JoinPath(options.output_dir, "final") << "\n";
    return common::Status::Ok();
  }
  UserModel user_model;
  if (options.user_simulator == "llm") {
    runner::UserModelSampling sampling;
    sampling.max_new_tokens = options.user_max_new_tokens;
    sampling.temperature = options.user_temperature;
    if (options.user_model.empty()) {
      setup.environment->ReplaceUserSimulator(std::make_unique<runner::EngineUserSimulator>(
          model.get(), tokenizer.get(), &format, sampling));
    } else {
      GSPO_RETURN_IF_ERROR(LoadUserModel(options.user_model, dtype, device, &user_model));
      setup.environment->ReplaceUserSimulator(std::make_unique<runner::EngineUserSimulator>(
          user_model.model.get(), user_model.tokenizer.get(), &*user_model.format, sampling));
    }
  }
  runner::EnvEpisodeSource episodes(std::move(setup.environment), std::move(setup.rewarder),
                                    options.job_name);
  std::cerr << "gspo train: " << options.job_name << " on " << (device.is_cuda() ? "cuda:0" : "cpu")
            << " (" << runtime.intra_op_threads << " threads), model " << options.model_dir << ", "
            << options.steps << " steps of " << options.prompts_per_step << " x "
            << options.group_size << " episodes, " << options.user_simulator << " user"
            << (options.user_simulator == "llm" && !options.user_model.empty() ? " (" + options.user_model + ")" : "")
            << "\n";
  engine::GlooOptions gloo;
  gloo.store_path = ranks.store;
  gloo.rank = ranks.rank;
  gloo.world_size = ranks.world_size;
  gloo.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(ranks.timeout_s * 1000));
  if (options.mode == "disaggregated") {
    GSPO_ASSIGN_OR_RETURN(runner::DisaggregatedGloo joined,
                          runner::JoinDisaggregatedGloo(gloo, static_cast<int>(options.rollout_ranks)));
    runner::DisaggregatedTrainer trainer(options, model.get(), tokenizer.get(), &format, &episodes,
                                         joined.Ranks());
    GSPO_RETURN_IF_ERROR(trainer.Run(setup.progress));
  } else {
    std::unique_ptr<engine::Communicator> communicator;
    if (ranks.world_size > 1) {
      GSPO_ASSIGN_OR_RETURN(communicator, engine::CreateGlooCommunicator(gloo));
    }
    runner::GspoTrainer trainer(options, model.get(), tokenizer.get(), &format, &episodes,
                                communicator.get());
    GSPO_RETURN_IF_ERROR(trainer.Run(setup.progress));
  }
  // The rank that wrote them: rank 0, or the lead learner of a disaggregated job.
  const bool writer = options.mode == "disaggregated" ? ranks.rank == options.rollout_ranks : ranks.rank <= 0;
  if (writer) {
    std::cerr << "gspo train: metrics in " << common::JoinPath(options.output_dir, "metrics.jsonl")
              << "; exports in " << common::JoinPath(options.output_dir, "final") << "\n";
  }
  return common::Status::Ok();
}

// `--nproc N`: validates the job as each rank will see it, then starts the ranks.
int Launch(const std::vector<std::string>& args, const RankFlags& ranks) {
  std::vector<std::string> as_ranks = args;
  as_ranks.push_back("--set");
  as_ranks.push_back("resources.gpus=" + std::to_string(ranks.nproc));
  const int checked = GuardedCommand("train", [&]() -> common::Status {
    GSPO_ASSIGN_OR_RETURN(runner::TrainSetup setup, runner::PrepareTraining(as_ranks));
    return CheckRanks(setup.options, ranks.nproc);
  });
  if (checked != 0) return checked;
  return LaunchRanks("/proc/self/exe", args, ranks.nproc, ranks.timeout_s, ranks.threads);
}

}  // namespace

int RunTrain(const std::vector<std::string>& args) {
  std::vector<std::string> rest = args;
  auto ranks = ExtractRankFlags(&rest);
  if (!ranks.ok()) return GuardedCommand("train", [&] { return ranks.status(); });
  // One rank by default. TODO(multi-GPU): one rank per visible CUDA device.
  if (ranks->nproc > 1) return Launch(rest, *ranks);
  if (ranks->nproc == 1) {
    rest.push_back("--set");
    rest.push_back("resources.gpus=1");
  }
  return GuardedCommand("train", [&] { return Train(rest, *ranks); });
}

}  // namespace gspo::tools
