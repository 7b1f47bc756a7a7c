#include "worker/runner/train_options.h"

#include "gspo/v1/job.pb.h"

namespace gspo::runner {

TrainOptions TrainOptionsFromSpec(const v1::JobSpec& spec, const std::string& model_dir) {
  TrainOptions o;
  o.job_name = spec.name();
  o.algorithm = spec.algorithm();
  o.dataset_path = spec.dataset().path();
  o.model_dir = model_dir;
  o.model_name = spec.model().name_or_path();
  o.dtype = spec.model().torch_dtype();
  o.attn_implementation = spec.model().attn_implementation();
  o.use_4bit = spec.model().use_4bit();
  o.use_8bit = spec.model().use_8bit();
  o.use_double_quant = spec.model().use_double_quant();
  o.gradient_checkpointing = spec.model().gradient_checkpointing();
  o.output_dir = spec.output().output_dir();
  o.steps = spec.training().num_outer_iterations();
  o.prompts_per_step = spec.training().prompts_per_step();
  o.group_size = spec.gspo().num_generations();
  o.max_prompt_length = spec.generation().max_prompt_length();
  o.max_completion_length = spec.generation().max_completion_length();
  o.max_rollout_rows = spec.generation().max_rollout_rows();
  o.temperature = spec.generation().temperature();
  o.top_p = spec.generation().top_p();
  o.top_k = spec.generation().top_k();
  o.use_lora = spec.lora().use_lora();
  o.lora_r = spec.lora().lora_r();
  o.lora_alpha = spec.lora().lora_alpha();
  o.lora_dropout = spec.lora().lora_dropout();
  o.lora_target_modules = {spec.lora().lora_target_modules().begin(),
                           spec.lora().lora_target_modules().end()};
  o.use_rslora = spec.lora().use_rslora();
  o.clip_range_left = spec.gspo().clip_range_left();
  o.clip_range_right = spec.gspo().clip_range_right();
  o.beta = spec.gspo().beta();
  o.use_gspo_token = spec.gspo().use_gspo_token();
  o.num_iterations = spec.gspo().num_iterations();
  o.minibatches = spec.gspo().minibatches();
  o.micro_batch = spec.training().per_device_train_batch_size();
  o.gradient_accumulation_steps = spec.training().gradient_accumulation_steps();
  o.max_grad_norm = spec.training().max_grad_norm();
  o.recompute_old_logprobs = spec.gspo().recompute_old_logprobs() == "true";
  o.weight_decay = spec.training().weight_decay();
  o.learning_rate = spec.training().learning_rate();
  o.lr_schedule = spec.training().lr_scheduler_type();
  o.warmup_steps = spec.training().warmup_steps();
  o.seed = static_cast<std::uint64_t>(spec.training().seed());
  o.optimizer_offload = spec.training().optimizer_offload();
  o.mode = spec.resources().mode();
  if (o.mode == "disaggregated") {
    o.rollout_ranks = spec.resources().rollout_gpus();
    o.max_staleness = spec.resources().max_staleness();
  }
  o.save_steps = spec.output().save_steps();
  o.save_total_limit = spec.output().save_total_limit();
  o.exports = {spec.output().export_().begin(), spec.output().export_().end()};
  o.resume_from_checkpoint = spec.output().resume_from_checkpoint();
  o.log_every = spec.logging().log_every();
  o.tensorboard = spec.logging().tensorboard();
  o.run_name = spec.logging().run_name();
  const v1::UserSimulatorSpec& user = spec.environment().user_simulator();
  o.user_simulator = user.type();
  o.user_model = user.model();
  o.user_max_new_tokens = user.max_new_tokens();
  o.user_temperature = user.temperature();
  return o;
}

}  // namespace gspo::runner
