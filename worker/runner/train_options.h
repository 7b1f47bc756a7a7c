// TrainOptions: the plain settings the training loop reads, converted once from a resolved
// JobSpec. Deliberately free of protobuf and LibTorch types: a translation unit must never see
// both (LibTorch ships its own, older protobuf headers), so the conversion from JobSpec lives
// in a torch-free file and the loop in a protobuf-free one.
// Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gspo::v1 {
class JobSpec;
}

namespace gspo::runner {

struct TrainOptions {
  std::string job_name;
  std::string algorithm = "gspo";  // gspo | sft
  std::string dataset_path;        // sft: the JSONL conversations
  std::string model_dir;    // resolved local directory
  std::string model_name;   // as the user wrote it (recorded in adapter_config.json)
  std::string dtype = "auto";
  std::string attn_implementation = "auto";  // auto | sdpa | eager | flash (engine/model/attention.h)
  bool use_4bit = false;          // NF4 base weights (QLoRA)
  bool use_8bit = false;          // int8 base weights
  bool use_double_quant = false;  // NF4 block scales in 8 bits too
  bool gradient_checkpointing = false;
  std::string output_dir;
  std::int64_t steps = 1;             // num_outer_iterations
  std::int64_t prompts_per_step = 1;
  std::int64_t group_size = 2;        // num_generations
  std::int64_t max_prompt_length = 1024;
  std::int64_t max_rollout_rows = 0;  // 0: as many as fit (EpisodeCollector)
  std::int64_t max_completion_length = 256;
  double temperature = 1.0;
  double top_p = 1.0;
  std::int64_t top_k = 0;
  // LoRA
  bool use_lora = true;  // sft only: false trains every weight but the norms
  std::int64_t lora_r = 16;
  double lora_alpha = 32;
  double lora_dropout = 0;
  std::vector<std::string> lora_target_modules;
  bool use_rslora = false;
  // GSPO and the learner
  double clip_range_left = 3e-4;
  double clip_range_right = 4e-4;
  double beta = 0;
  bool use_gspo_token = false;
  std::int64_t num_iterations = 1;
  std::int64_t minibatches = 1;
  std::int64_t micro_batch = 1;
  std::int64_t gradient_accumulation_steps = 1;
  double max_grad_norm = 1.0;
  bool recompute_old_logprobs = false;
  double weight_decay = 0;
  double learning_rate = 1e-5;
  std::string lr_schedule = "cosine";
  std::int64_t warmup_steps = 0;
  std::uint64_t seed = 42;
  bool optimizer_offload = false;  // AdamW moments in pinned host memory
  // Ranks (resources)
  std::string mode = "colocated";   // colocated | disaggregated
  std::int64_t rollout_ranks = 0;   // disaggregated: ranks [0, rollout_ranks) generate
  std::int64_t max_staleness = 1;   // disaggregated: policy versions a sample may lag (0 or 1)
  // Output
  std::int64_t save_steps = 0;
  std::int64_t save_total_limit = 0;
  std::vector<std::string> exports;
  std::string resume_from_checkpoint;  // "", "latest" or a directory
  std::int64_t log_every = 1;
  bool tensorboard = false;  // event files under output_dir/tensorboard[/run_name]
  std::string run_name;
  // The simulated user (environment.user_simulator)
  std::string user_simulator = "rule_based";  // rule_based | llm
  std::string user_model;                     // llm: "" is the policy's base model
  std::int64_t user_max_new_tokens = 64;
  double user_temperature = 0.7;
};

// From a resolved, validated spec; `model_dir` is where model.name_or_path was found.
TrainOptions TrainOptionsFromSpec(const v1::JobSpec& spec, const std::string& model_dir);

}  // namespace gspo::runner
