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
#include "worker/engine/dist/nccl_communicator.h"
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
  // One GPU per rank, made current before anything touches the GPU: rank R of `--nproc` on
  // cuda:R; a rank that sees one GPU (gspo-worker sets CUDA_VISIBLE_DEVICES per rank) on it.
  const int rank = runtime.cuda_devices == 1 ? 0 : std::max(0, ranks.rank);
  if (runtime.cuda_devices > 0 && rank >= runtime.cuda_devices) {
    return common::InvalidArgumentError(
        "rank " + std::to_string(rank) + " needs cuda:" + std::to_string(rank) + ", but " +
        std::to_string(runtime.cuda_devices) +
        " CUDA devices are visible (CUDA_VISIBLE_DEVICES): use at most one rank per GPU");
  }
  if (runtime.cuda_devices > 0) engine::SetCurrentCudaDevice(rank);
  const at::Device device =
      runtime.cuda_devices > 0 ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(rank))
                               : at::Device(at::kCPU);
  at::ScalarType dtype = device.is_cuda() ? at::kBFloat16 : at::kFloat;
  if (options.dtype == "float32") dtype = at::kFloat;
  if (options.dtype == "bfloat16") dtype = at::kBFloat16;
  if (options.dtype == "float16") dtype = at::kHalf;
  GSPO_ASSIGN_OR_RETURN(auto model, engine::DecoderModel::Load(options.model_dir, dtype, device));
  GSPO_ASSIGN_OR_RETURN(const engine::AttentionImplementation attention,
                        engine::ParseAttentionImplementation(options.attn_implementation));
  GSPO_RETURN_IF_ERROR(model->SetAttentionImplementation(attention));
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
    std::cerr << "gspo train: " << options.job_name << " (sft) on " << device.str()
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
  std::cerr << "gspo train: " << options.job_name << " on " << device.str()
            << " (" << runtime.intra_op_threads << " threads), model " << options.model_dir << ", "
            << options.steps << " steps of " << options.prompts_per_step << " x "
            << options.group_size << " episodes, " << options.user_simulator << " user"
            << (options.user_simulator == "llm" && !options.user_model.empty() ? " (" + options.user_model + ")" : "")
            << "\n";
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(ranks.timeout_s * 1000));
  engine::GlooOptions gloo;
  gloo.store_path = ranks.store;
  gloo.rank = ranks.rank;
  gloo.world_size = ranks.world_size;
  gloo.timeout = timeout;
  engine::NcclOptions nccl;
  nccl.store_path = ranks.store;
  nccl.rank = ranks.rank;
  nccl.world_size = ranks.world_size;
  nccl.device = device.is_cuda() ? device.index() : 0;
  nccl.timeout = timeout;
  // GPU ranks talk over NCCL, CPU ranks over Gloo.
  const runner::JoinGroups join = [&](const std::vector<engine::Subgroup>& subgroups) {
    return device.is_cuda() ? engine::CreateNcclCommunicators(nccl, subgroups)
                            : engine::CreateGlooCommunicators(gloo, subgroups);
  };
  if (options.mode == "disaggregated") {
    GSPO_ASSIGN_OR_RETURN(runner::DisaggregatedGroups joined,
                          runner::JoinDisaggregated(ranks.world_size, static_cast<int>(options.rollout_ranks), join));
    runner::DisaggregatedTrainer trainer(options, model.get(), tokenizer.get(), &format, &episodes,
                                         joined.Ranks());
    GSPO_RETURN_IF_ERROR(trainer.Run(setup.progress));
  } else {
    std::unique_ptr<engine::Communicator> communicator;
    if (ranks.world_size > 1) {
      GSPO_ASSIGN_OR_RETURN(engine::CommunicatorGroups joined, join({}));
      communicator = std::move(joined.world);
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

// `--nproc N` (or N visible GPUs, `defaulted`): validates the job as each rank will see it, then
// starts the ranks. A defaulted sft job runs on one rank (sft is single-rank).
int Launch(const std::vector<std::string>& args, const RankFlags& ranks, bool defaulted) {
  std::vector<std::string> as_ranks = args;
  as_ranks.push_back("--set");
  as_ranks.push_back("resources.gpus=" + std::to_string(ranks.nproc));
  bool one_rank = false;
  const int checked = GuardedCommand("train", [&]() -> common::Status {
    GSPO_ASSIGN_OR_RETURN(runner::TrainSetup setup, runner::PrepareTraining(as_ranks));
    if (defaulted && setup.options.algorithm == "sft") {
      one_rank = true;
      return common::Status::Ok();
    }
    const common::Status status = CheckRanks(setup.options, ranks.nproc);
    if (status.ok() || !defaulted) return status;
    return common::Status(status.code(), status.message() + " (" + std::to_string(ranks.nproc) +
                                             " ranks: one per visible GPU; --nproc 1 runs one)");
  });
  if (checked != 0) return checked;
  if (one_rank) {
    RankFlags single = ranks;
    single.nproc = 0;
    return GuardedCommand("train", [&] { return Train(args, single); });
  }
  const int gpus = engine::VisibleCudaDevices();
  if (gpus > 0 && ranks.nproc > gpus) {
    return GuardedCommand("train", [&] {
      return common::InvalidArgumentError(
          "--nproc " + std::to_string(ranks.nproc) + ": " + std::to_string(gpus) +
          " CUDA devices are visible (CUDA_VISIBLE_DEVICES) and each rank needs its own; use "
          "--nproc " + std::to_string(gpus) + " or fewer, or CPU ranks (CUDA_VISIBLE_DEVICES=)");
    });
  }
  if (gpus > 0 && !engine::NcclAvailable()) {
    return GuardedCommand("train", [&] { return engine::CreateNcclCommunicator({}).status(); });
  }
  return LaunchRanks("/proc/self/exe", args, ranks.nproc, ranks.timeout_s, ranks.threads,
                     gpus > 0 ? "NCCL" : "Gloo");
}

// --nproc when not given: one rank per visible GPU on CUDA, one rank on CPU.
int DefaultRanks() { return std::max(1, engine::VisibleCudaDevices()); }

}  // namespace

int RunTrain(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::cout << runner::TrainUsage();
    return 0;
  }
  std::vector<std::string> rest = args;
  auto ranks = ExtractRankFlags(&rest);
  if (!ranks.ok()) return GuardedCommand("train", [&] { return ranks.status(); });
  const bool defaulted = ranks->nproc == 0 && ranks->rank < 0;
  if (defaulted) {
    ranks->nproc = DefaultRanks();
    if (ranks->nproc == 1) ranks->nproc = 0;  // as before: resources.gpus stays the job's
  }
  if (ranks->nproc > 1) return Launch(rest, *ranks, defaulted);
  if (ranks->nproc == 1) {
    rest.push_back("--set");
    rest.push_back("resources.gpus=1");
  }
  return GuardedCommand("train", [&] { return Train(rest, *ranks); });
}

}  // namespace gspo::tools
