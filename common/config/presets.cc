#include "common/config/presets.h"

#include <google/protobuf/text_format.h>

#include <cmath>
#include <cstdlib>
#include <map>

namespace gspo::config {
namespace {

// Written in protobuf text format so that they read like the guide's tables.
constexpr char kDefaults[] = R"pb(
  api_version: "gspo/v1"
  preset: "auto"
  algorithm: "gspo"
  model {
    torch_dtype: "auto"
    attn_implementation: "auto"
    use_4bit: false
    use_8bit: false
    use_double_quant: false
    gradient_checkpointing: true
  }
  lora {
    use_lora: true
    lora_r: 16
    lora_alpha: 32
    lora_dropout: 0
    lora_target_modules: [ "q_proj", "k_proj", "v_proj", "o_proj" ]
    use_rslora: false
  }
  gspo {
    num_generations: 4
    clip_range_left: 3e-4
    clip_range_right: 4e-4
    beta: 0
    use_gspo_token: false
    num_iterations: 1
    recompute_old_logprobs: "auto"
  }
  training {
    learning_rate: 1e-5
    lr_scheduler_type: "cosine"
    warmup_steps: 5
    max_grad_norm: 1.0
    weight_decay: 0
    num_outer_iterations: 100
    prompts_per_step: 8
    per_device_train_batch_size: 4
    gradient_accumulation_steps: 2
    seed: 42
    optimizer_offload: false
  }
  generation {
    max_prompt_length: 1024
    max_completion_length: 1024
    max_rollout_rows: 0
    temperature: 0.7
    top_p: 0.9
    top_k: 50
  }
  environment {
    task: "customer_service"
    user_simulator { type: "rule_based" model: "" max_new_tokens: 64 temperature: 0.7 }
  }
  resources { gpus: 1 mode: "colocated" max_restarts: 3 priority: 0 }
  output {
    save_steps: 50
    save_total_limit: 3
    export: [ "adapter" ]
  }
  logging { tensorboard: true log_every: 1 level: "info" }
)pb";

// The guide's "Recommended Configurations by Model Size".
constexpr char kPreset2b[] = R"pb(
  model { use_4bit: false }
  lora {
    lora_r: 16
    lora_alpha: 32
    lora_target_modules: [ "q_proj", "k_proj", "v_proj", "o_proj" ]
  }
  gspo { num_generations: 4 clip_range_left: 3e-4 clip_range_right: 4e-4 }
  training { learning_rate: 1e-5 per_device_train_batch_size: 4 gradient_accumulation_steps: 2 }
)pb";

constexpr char kPreset9b[] = R"pb(
  model { use_4bit: true gradient_checkpointing: true }
  lora {
    lora_r: 64
    lora_alpha: 128
    lora_target_modules: [
      "q_proj",
      "k_proj",
      "v_proj",
      "o_proj",
      "gate_proj",
      "up_proj",
      "down_proj"
    ]
  }
  gspo { num_generations: 6 clip_range_left: 2e-4 clip_range_right: 3e-4 }
  training { learning_rate: 5e-6 per_device_train_batch_size: 1 gradient_accumulation_steps: 8 }
)pb";

constexpr char kPreset27b[] = R"pb(
  model { use_4bit: true gradient_checkpointing: true }
  lora {
    lora_r: 64
    lora_alpha: 128
    lora_target_modules: [
      "q_proj",
      "k_proj",
      "v_proj",
      "o_proj",
      "gate_proj",
      "up_proj",
      "down_proj"
    ]
  }
  gspo { num_generations: 8 clip_range_left: 1.5e-4 clip_range_right: 2.5e-4 }
  training { learning_rate: 3e-6 per_device_train_batch_size: 1 gradient_accumulation_steps: 16 }
)pb";

struct TaskDefaults {
  const char* system_prompt;
  int max_turns;
  const char* reward_preset;
};

const std::map<std::string, TaskDefaults>& TaskTable() {
  static const auto* table = new std::map<std::string, TaskDefaults>{
      {"customer_service",
       {"You are a helpful customer service agent. Acknowledge the customer's concern, use the "
        "details they give you, and resolve the issue or explain the next step clearly.",
        4, "customer_service"}},
      {"technical_support",
       {"You are a technical support specialist. Diagnose the problem step by step, ask for "
        "missing details such as error messages or versions, and give clear instructions.",
        6, "technical_support"}},
      {"sales",
       {"You are a knowledgeable sales assistant. Understand the customer's needs, recommend "
        "suitable products honestly, and never promise discounts or terms you cannot offer.",
        5, "sales"}},
      {"custom", {"You are a helpful AI assistant.", 4, "none"}},
      {"mixture", {"You are a helpful AI assistant.", 10, "mixture"}},
  };
  return *table;
}

// Component weights of each task's multi-objective reward; each sums to 1. customer_service is
// the reference guide's reward. worker/reward/reward_presets.cc holds the same table (a test
// keeps them equal).
const std::map<std::string, std::vector<std::pair<const char*, double>>>& RewardTable() {
  static const auto* table = new std::map<std::string, std::vector<std::pair<const char*, double>>>{
      {"customer_service",
       {{"empathy", 0.25},
        {"action_orientation", 0.25},
        {"professionalism", 0.25},
        {"length_appropriateness", 0.1},
        {"reference_similarity", 0.15}}},
      {"technical_support",
       {{"task_resolution", 0.3},
        {"action_orientation", 0.25},
        {"reference_similarity", 0.15},
        {"professionalism", 0.15},
        {"empathy", 0.1},
        {"length_appropriateness", 0.05}}},
      {"sales",
       {{"task_resolution", 0.25},
        {"action_orientation", 0.2},
        {"professionalism", 0.2},
        {"empathy", 0.15},
        {"politeness", 0.1},
        {"length_appropriateness", 0.1}}},
  };
  return *table;
}

v1::JobSpec ParseText(const char* text) {
  v1::JobSpec spec;
  // The texts are constants of this file; a parse failure is a programming error that every
  // test run would show.
  if (!google::protobuf::TextFormat::ParseFromString(text, &spec)) std::abort();
  return spec;
}

}  // namespace

const std::vector<std::string>& KnownTasks() {
  static const auto* v =
      new std::vector<std::string>{"customer_service", "technical_support", "sales"};
  return *v;
}

const std::vector<std::string>& KnownEnvironmentTasks() {
  static const auto* v = new std::vector<std::string>{"customer_service", "technical_support",
                                                      "sales", "custom", "mixture"};
  return *v;
}

const std::vector<std::string>& KnownRewardComponents() {
  static const auto* v = new std::vector<std::string>{"empathy",
                                                      "action_orientation",
                                                      "professionalism",
                                                      "length_appropriateness",
                                                      "reference_similarity",
                                                      "task_resolution",
                                                      "politeness",
                                                      "format_penalty",
                                                      "safety_penalty"};
  return *v;
}

const std::vector<std::string>& KnownRewardPresets() {
  static const auto* v = new std::vector<std::string>{"customer_service", "technical_support",
                                                      "sales", "mixture", "none"};
  return *v;
}

const std::vector<std::string>& KnownLoraTargetModules() {
  static const auto* v = new std::vector<std::string>{"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                      "gate_proj", "up_proj", "down_proj"};
  return *v;
}

const std::vector<std::string>& KnownSizePresets() {
  static const auto* v = new std::vector<std::string>{"2b", "9b", "27b"};
  return *v;
}

v1::JobSpec DefaultSpec() { return ParseText(kDefaults); }

common::StatusOr<v1::JobSpec> SizePreset(const std::string& name) {
  if (name == "2b") return ParseText(kPreset2b);
  if (name == "9b") return ParseText(kPreset9b);
  if (name == "27b") return ParseText(kPreset27b);
  return common::InvalidArgumentError("unknown size preset '" + name + "'");
}

std::string SizePresetForParameters(double billions) {
  if (billions < 5.0) return "2b";
  if (billions < 18.0) return "9b";
  return "27b";
}

v1::JobSpec TaskPreset(const std::string& task) {
  v1::JobSpec spec;
  auto it = TaskTable().find(task);
  if (it == TaskTable().end()) return spec;
  spec.mutable_environment()->set_system_prompt(it->second.system_prompt);
  spec.mutable_environment()->set_max_turns(it->second.max_turns);
  spec.mutable_reward()->set_preset(it->second.reward_preset);
  return spec;
}

std::vector<v1::RewardComponent> RewardPresetComponents(
    const std::string& preset, const google::protobuf::Map<std::string, double>& mixture) {
  std::map<std::string, double> task_shares;
  if (preset == "mixture") {
    double total = 0;
    for (const auto& [task, weight] : mixture) total += weight;
    for (const auto& [task, weight] : mixture) {
      if (total > 0) task_shares[task] = weight / total;
    }
  } else {
    task_shares[preset] = 1.0;
  }
  // Sum by component name, keeping the order in which names first appear.
  std::vector<v1::RewardComponent> components;
  for (const auto& [task, share] : task_shares) {
    auto it = RewardTable().find(task);
    if (it == RewardTable().end()) continue;
    for (const auto& [name, weight] : it->second) {
      v1::RewardComponent* slot = nullptr;
      for (auto& c : components) {
        if (c.name() == name) slot = &c;
      }
      if (slot == nullptr) {
        slot = &components.emplace_back();
        slot->set_name(name);
        slot->set_weight(0);
      }
      slot->set_weight(slot->weight() + share * weight);
    }
  }
  // Mixture shares like 0.4 * 0.25 leave float noise (0.30000000000000004); keep 9 digits.
  for (auto& c : components) c.set_weight(std::round(c.weight() * 1e9) / 1e9);
  return components;
}

}  // namespace gspo::config
