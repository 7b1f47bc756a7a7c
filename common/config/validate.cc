#include "common/config/validate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "common/config/presets.h"
#include "common/config/spec_encoder.h"
#include "common/strings.h"

namespace gspo::config {
namespace {

constexpr std::size_t kMaxPathChars = 4096;
constexpr std::size_t kMaxPromptChars = 64 * 1024;
constexpr int kMaxScenarios = 10000;

std::string Num(double v) { return FormatNumber(v); }

class Checker {
 public:
  Checker(const SourceMap& sources, const std::string& fallback_where,
          std::vector<ConfigError>* errors)
      : sources_(sources), fallback_(fallback_where), errors_(errors) {}

  void Fail(const std::string& path, const std::string& message) {
    std::string where = sources_.Where(path);
    errors_->push_back({where.empty() ? fallback_ : where, path, message});
  }

  // Names `path` but points at `at` when `path` has no position (a required field left out:
  // the error shows where the user wrote what requires it).
  void FailAt(const std::string& at, const std::string& path, const std::string& message) {
    std::string where = sources_.Where(path);
    if (where.empty()) where = sources_.Where(at);
    errors_->push_back({where.empty() ? fallback_ : where, path, message});
  }

  void IntRange(const std::string& path, std::int64_t v, std::int64_t lo, std::int64_t hi) {
    if (v >= lo && v <= hi) return;
    const std::string range = hi == INT32_MAX
                                  ? ">= " + std::to_string(lo)
                                  : "between " + std::to_string(lo) + " and " + std::to_string(hi);
    Fail(path, "expected an integer " + range + ", got " + std::to_string(v));
  }

  // `lo_open` / `hi_open` exclude the bound: (0, 1] is Range(p, v, 0, true, 1, false).
  void Range(const std::string& path, double v, double lo, bool lo_open, double hi, bool hi_open) {
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) return;
    Fail(path, std::string("expected a number in ") + (lo_open ? "(" : "[") + Num(lo) + ", " +
                   Num(hi) + (hi_open ? ")" : "]") + ", got " + Num(v));
  }

  void OneOf(const std::string& path, const std::string& v,
             const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return;
    std::string message =
        "expected one of " + common::Join(allowed, ", ") + "; got " + common::QuoteForMessage(v);
    if (auto close = common::ClosestMatch(v, allowed))
      message += " (did you mean '" + *close + "'?)";
    Fail(path, message);
  }

  void MaxChars(const std::string& path, const std::string& v, std::size_t limit) {
    if (v.size() <= limit) return;
    Fail(path, "expected at most " + std::to_string(limit) + " characters, got " +
                   std::to_string(v.size()));
  }

 private:
  const SourceMap& sources_;
  const std::string& fallback_;
  std::vector<ConfigError>* errors_;
};

void CheckModel(const v1::JobSpec& spec, Checker& c, std::vector<std::string>* warnings) {
  const v1::ModelSpec& m = spec.model();
  if (!m.has_name_or_path() || m.name_or_path().empty()) {
    c.Fail("model.name_or_path",
           "required: the model to fine-tune (a local Hugging Face directory, or a repo id in "
           "the local Hugging Face cache)");
  }
  c.MaxChars("model.name_or_path", m.name_or_path(), kMaxPathChars);
  c.OneOf("model.torch_dtype", m.torch_dtype(), {"auto", "bfloat16", "float16", "float32"});
  c.OneOf("model.attn_implementation", m.attn_implementation(), {"auto", "sdpa", "eager", "flash"});
  if (m.use_4bit() && m.use_8bit()) {
    c.Fail("model.use_8bit", "cannot be combined with model.use_4bit; choose one quantization");
  }
  if (m.use_double_quant() && !m.use_4bit()) {
    c.Fail("model.use_double_quant", "applies to 4-bit weights only; set model.use_4bit: true");
  }
  if ((m.use_4bit() || m.use_8bit()) && !spec.lora().use_lora()) {
    c.Fail("lora.use_lora", std::string("a quantized base model (model.") +
                                (m.use_4bit() ? "use_4bit" : "use_8bit") +
                                ") trains through LoRA adapters only; set lora.use_lora: true");
  }
  std::string lower = m.name_or_path();
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (m.torch_dtype() == "float16" && lower.find("gemma") != std::string::npos) {
    warnings->push_back(
        "model.torch_dtype: float16 overflows on Gemma activations; bfloat16 is "
        "recommended");
  }
}

void CheckLora(const v1::LoraSpec& l, Checker& c, std::vector<std::string>* warnings) {
  c.IntRange("lora.lora_r", l.lora_r(), 1, 1024);
  c.Range("lora.lora_alpha", l.lora_alpha(), 0, true, 1e6, false);
  c.Range("lora.lora_dropout", l.lora_dropout(), 0, false, 1, true);
  if (l.lora_dropout() > 0 && l.lora_dropout() < 1) {
    warnings->push_back(
        "lora.lora_dropout: dropout makes the GSPO importance ratio noisy; 0 is "
        "recommended");
  }
  if (l.use_lora() && l.lora_target_modules().empty()) {
    c.Fail("lora.lora_target_modules", "expected at least one module, e.g. [q_proj, v_proj]");
  }
  std::set<std::string> seen;
  for (int i = 0; i < l.lora_target_modules_size(); ++i) {
    const std::string& module = l.lora_target_modules(i);
    const std::string path = "lora.lora_target_modules[" + std::to_string(i) + "]";
    c.OneOf(path, module, KnownLoraTargetModules());
    if (!seen.insert(module).second) c.Fail(path, "'" + module + "' is listed twice");
  }
}

void CheckGspo(const v1::GspoSpec& g, Checker& c) {
  c.IntRange("gspo.num_generations", g.num_generations(), 2, 256);
  c.Range("gspo.clip_range_left", g.clip_range_left(), 0, true, 1, true);
  c.Range("gspo.clip_range_right", g.clip_range_right(), 0, true, 1, true);
  c.Range("gspo.beta", g.beta(), 0, false, 10, false);
  c.IntRange("gspo.num_iterations", g.num_iterations(), 1, 100);
  if (g.has_minibatches()) c.IntRange("gspo.minibatches", g.minibatches(), 1, 65536);
  c.OneOf("gspo.recompute_old_logprobs", g.recompute_old_logprobs(), {"auto", "true", "false"});
}

void CheckTraining(const v1::TrainingSpec& t, Checker& c) {
  c.Range("training.learning_rate", t.learning_rate(), 0, true, 1, false);
  c.OneOf("training.lr_scheduler_type", t.lr_scheduler_type(), {"constant", "linear", "cosine"});
  c.IntRange("training.num_outer_iterations", t.num_outer_iterations(), 1, 10000000);
  c.IntRange("training.warmup_steps", t.warmup_steps(), 0, INT32_MAX);
  if (t.warmup_steps() > t.num_outer_iterations() && t.num_outer_iterations() >= 1) {
    c.Fail("training.warmup_steps", "expected at most training.num_outer_iterations (" +
                                        std::to_string(t.num_outer_iterations()) + "), got " +
                                        std::to_string(t.warmup_steps()));
  }
  c.Range("training.max_grad_norm", t.max_grad_norm(), 0, false, 1e6, false);
  c.Range("training.weight_decay", t.weight_decay(), 0, false, 1, false);
  c.IntRange("training.prompts_per_step", t.prompts_per_step(), 1, 65536);
  c.IntRange("training.per_device_train_batch_size", t.per_device_train_batch_size(), 1, 4096);
  c.IntRange("training.gradient_accumulation_steps", t.gradient_accumulation_steps(), 1, 65536);
  c.IntRange("training.seed", t.seed(), 0, INT64_MAX);
}

void CheckGeneration(const v1::GenerationSpec& g, std::int64_t group_size, Checker& c) {
  c.IntRange("generation.max_prompt_length", g.max_prompt_length(), 1, 1 << 20);
  c.IntRange("generation.max_completion_length", g.max_completion_length(), 1, 1 << 20);
  c.Range("generation.temperature", g.temperature(), 0, true, 10, false);
  c.Range("generation.top_p", g.top_p(), 0, true, 1, false);
  c.IntRange("generation.top_k", g.top_k(), 0, 1 << 20);
  c.IntRange("generation.max_rollout_rows", g.max_rollout_rows(), 0, 1 << 20);
  if (g.max_rollout_rows() > 0 && g.max_rollout_rows() < group_size) {
    c.Fail("generation.max_rollout_rows", "expected 0 (as many as fit) or at least gspo.num_generations (" +
                                              std::to_string(group_size) +
                                              ": a group's samples are generated together), got " +
                                              std::to_string(g.max_rollout_rows()));
  }
}

// 1 to 128 letters, digits, '-', '_' or '.'.
bool IsScenarioId(const std::string& id) {
  const auto allowed = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
  };
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), allowed);
}

void CheckScenario(const v1::Scenario& s, const std::string& path, Checker& c) {
  const bool has_inline = s.has_id() || s.has_opening_message() || s.has_task() ||
                          s.has_system_prompt() || s.has_persona() || s.facts_size() > 0 ||
                          s.resolution_size() > 0 || s.user_replies_size() > 0 ||
                          s.has_max_turns() || s.forbidden_size() > 0 || s.has_reference() ||
                          s.reply_rules_size() > 0;
  if (s.has_file()) {
    if (has_inline)
      c.Fail(path, "a scenario entry is either {file: ...} or an inline scenario, not both");
    if (s.file().empty()) c.Fail(path + ".file", "expected a file path, got ''");
    c.MaxChars(path + ".file", s.file(), kMaxPathChars);
    return;
  }
  if (!s.has_id() || s.id().empty()) {
    c.Fail(path + ".id", "required for an inline scenario");
  } else if (!IsScenarioId(s.id())) {
    c.Fail(path + ".id", "expected 1 to 128 letters, digits, '-', '_' or '.', got " +
                             common::QuoteForMessage(s.id()));
  }
  if (!s.has_opening_message() || s.opening_message().empty()) {
    c.Fail(path + ".opening_message", "required for an inline scenario: the user's first message");
  }
  if (s.has_task()) {
    std::vector<std::string> tasks = KnownTasks();
    tasks.push_back("custom");
    c.OneOf(path + ".task", s.task(), tasks);
  }
  if (s.has_max_turns()) c.IntRange(path + ".max_turns", s.max_turns(), 1, 64);
  for (const std::string* text : {&s.system_prompt(), &s.opening_message(), &s.persona()}) {
    c.MaxChars(path, *text, kMaxPromptChars);
  }
  c.MaxChars(path + ".reference", s.reference(), kMaxPromptChars);
  for (int k = 0; k < s.reply_rules_size(); ++k) {
    const v1::ReplyRule& rule = s.reply_rules(k);
    const std::string rule_path = path + ".reply_rules[" + std::to_string(k) + "]";
    if (rule.when_agent_says().empty()) {
      c.Fail(rule_path + ".when_agent_says",
             "required: the phrases of the agent that trigger this reply, e.g. [\"order number\"]");
    }
    if (!rule.has_reply() || rule.reply().empty()) {
      c.Fail(rule_path + ".reply", "required: what the user answers");
    }
    c.MaxChars(rule_path + ".reply", rule.reply(), kMaxPromptChars);
  }
}

void CheckEnvironment(const v1::EnvironmentSpec& e, Checker& c) {
  c.OneOf("environment.task", e.task(), KnownEnvironmentTasks());
  c.IntRange("environment.max_turns", e.max_turns(), 1, 64);
  c.MaxChars("environment.system_prompt", e.system_prompt(), kMaxPromptChars);
  if (e.scenarios_size() > kMaxScenarios) {
    c.Fail("environment.scenarios", "expected at most " + std::to_string(kMaxScenarios) +
                                        " entries, got " + std::to_string(e.scenarios_size()));
  }
  for (int i = 0; i < e.scenarios_size() && i < kMaxScenarios; ++i) {
    const std::string path = "environment.scenarios[" + std::to_string(i) + "]";
    CheckScenario(e.scenarios(i), path, c);
    const v1::Scenario& s = e.scenarios(i);
    if (e.task() != "mixture" || s.has_file()) continue;
    if (!s.has_task()) {
      c.Fail(path + ".task",
             "required with task: mixture: the task whose share the scenario "
             "belongs to (customer_service, technical_support or sales)");
    } else if (!e.mixture().empty() && !e.mixture().count(s.task())) {
      std::vector<std::string> weighted;
      for (const auto& [task, weight] : e.mixture()) weighted.push_back(task);
      std::sort(weighted.begin(), weighted.end());
      c.Fail(path + ".task", "'" + s.task() +
                                 "' has no weight in environment.mixture, so the "
                                 "scenario would never be picked; expected one of " +
                                 common::Join(weighted, ", "));
    }
  }
  for (const auto& [task, weight] : e.mixture()) {
    const std::string path = "environment.mixture." + task;
    c.OneOf(path, task, KnownTasks());
    if (!(weight > 0)) c.Fail(path, "expected a weight > 0, got " + Num(weight));
  }
  if (e.task() == "mixture" && e.mixture().empty()) {
    c.Fail("environment.mixture",
           "expected task weights for task: mixture, e.g. "
           "{customer_service: 0.4, technical_support: 0.3, sales: 0.3}");
  }
  if (e.task() != "mixture" && !e.mixture().empty()) {
    c.Fail("environment.task",
           "expected 'mixture' when environment.mixture is set, got '" + e.task() + "'");
  }
  if (e.task() == "custom" && e.scenarios().empty()) {
    c.Fail("environment.scenarios", "task: custom needs scenarios (files or inline)");
  }
  const v1::UserSimulatorSpec& u = e.user_simulator();
  c.OneOf("environment.user_simulator.type", u.type(), {"rule_based", "llm"});
  c.MaxChars("environment.user_simulator.model", u.model(), kMaxPathChars);
  c.IntRange("environment.user_simulator.max_new_tokens", u.max_new_tokens(), 1, 4096);
  c.Range("environment.user_simulator.temperature", u.temperature(), 0, true, 10, false);
  if (u.type() != "llm" && !u.model().empty()) {
    c.Fail("environment.user_simulator.model",
           "only used with type: llm (the rule-based user needs no model); got type '" +
               u.type() + "'");
  }
}

void CheckReward(const v1::RewardSpec& r, Checker& c) {
  c.OneOf("reward.preset", r.preset(), KnownRewardPresets());
  std::set<std::string> seen;
  double positive = 0;
  for (int i = 0; i < r.components_size(); ++i) {
    const v1::RewardComponent& comp = r.components(i);
    const std::string path = "reward.components[" + std::to_string(i) + "]";
    if (!comp.has_name()) {
      c.Fail(path + ".name", "required: one of " + common::Join(KnownRewardComponents(), ", "));
    } else {
      c.OneOf(path + ".name", comp.name(), KnownRewardComponents());
      if (!seen.insert(comp.name()).second)
        c.Fail(path + ".name", "'" + comp.name() + "' is listed twice");
    }
    if (!comp.has_weight()) {
      c.Fail(path + ".weight", "required: a weight >= 0");
    } else if (!(comp.weight() >= 0) || comp.weight() > 1000) {
      c.Fail(path + ".weight", "expected a weight in [0, 1000], got " + Num(comp.weight()));
    } else {
      positive += comp.weight();
    }
  }
  if (r.has_remote()) {
    const v1::RemoteReward& remote = r.remote();
    const std::string& address = remote.address();
    const std::size_t colon = address.rfind(':');
    int port = 0;
    if (colon != std::string::npos && colon + 1 < address.size() && address.size() - colon <= 6 &&
        std::all_of(address.begin() + colon + 1, address.end(), ::isdigit)) {
      port = std::stoi(address.substr(colon + 1));
    }
    if (colon == 0 || colon == std::string::npos || port < 1 || port > 65535) {
      c.Fail("reward.remote.address",
             "expected host:port with a port in 1..65535, got " + common::QuoteForMessage(address));
    }
    c.IntRange("reward.remote.timeout_ms", remote.timeout_ms(), 1, 600000);
    c.IntRange("reward.remote.max_retries", remote.max_retries(), 0, 10);
    c.Range("reward.remote.weight", remote.weight(), 0, false, 1000, false);
    positive += remote.weight();
  }
  if (r.components_size() > 0 && !(positive > 0)) {
    c.Fail("reward.components", "expected at least one weight > 0");
  }
  if (r.components_size() == 0 && !r.has_remote()) {
    c.Fail("reward.components", "no reward: set reward.preset, reward.components or reward.remote");
  }
}

void CheckResources(const v1::ResourcesSpec& r, const SourceMap& sources, Checker& c) {
  c.IntRange("resources.gpus", r.gpus(), 1, 1024);
  c.OneOf("resources.mode", r.mode(), {"colocated", "disaggregated"});
  if (r.mode() == "disaggregated") {
    if (r.gpus() < 2) {
      c.Fail("resources.gpus",
             "disaggregated mode needs at least 2 ranks (rollout + learner), got " +
                 std::to_string(r.gpus()));
    } else {
      c.IntRange("resources.rollout_gpus", r.rollout_gpus(), 1, r.gpus() - 1);
    }
    c.IntRange("resources.max_staleness", r.max_staleness(), 0, 1);
  } else {
    if (sources.SetByUser("resources.rollout_gpus")) {
      c.Fail("resources.rollout_gpus", "applies to resources.mode: disaggregated only");
    }
    if (sources.SetByUser("resources.max_staleness")) {
      c.Fail("resources.max_staleness", "applies to resources.mode: disaggregated only");
    }
  }
  c.IntRange("resources.max_restarts", r.max_restarts(), 0, 100);
  c.IntRange("resources.priority", r.priority(), -1000, 1000);
}

void CheckOutput(const v1::JobSpec& spec, Checker& c) {
  const v1::OutputSpec& o = spec.output();
  if (o.output_dir().empty()) c.Fail("output.output_dir", "expected a directory path, got ''");
  c.MaxChars("output.output_dir", o.output_dir(), kMaxPathChars);
  c.IntRange("output.save_steps", o.save_steps(), 0, INT32_MAX);
  c.IntRange("output.save_total_limit", o.save_total_limit(), 0, INT32_MAX);
  std::set<std::string> seen;
  for (int i = 0; i < o.export__size(); ++i) {
    const std::string path = "output.export[" + std::to_string(i) + "]";
    c.OneOf(path, o.export_(i), {"adapter", "merged"});
    if (!seen.insert(o.export_(i)).second) c.Fail(path, "'" + o.export_(i) + "' is listed twice");
    if (o.export_(i) == "adapter" && !spec.lora().use_lora()) {
      c.Fail(path, "an adapter export needs lora.use_lora: true");
    }
  }
  if (o.has_resume_from_checkpoint() && o.resume_from_checkpoint().empty()) {
    c.Fail("output.resume_from_checkpoint", "expected a checkpoint directory or 'latest', got ''");
  }
}

void CheckTop(const v1::JobSpec& spec, Checker& c) {
  if (spec.api_version() != "gspo/v1") {
    c.Fail("apiVersion", "expected 'gspo/v1', got " + common::QuoteForMessage(spec.api_version()));
  }
  const std::string& name = spec.name();
  bool ok = !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-';
  for (char ch : name)
    ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-');
  if (!ok) {
    c.Fail("name",
           "expected 1 to 63 characters of [a-z0-9-] that start and end with a letter or "
           "digit, got " +
               common::QuoteForMessage(name));
  }
  std::vector<std::string> presets = {"auto", "none"};
  for (const auto& p : KnownSizePresets()) presets.push_back(p);
  c.OneOf("preset", spec.preset(), presets);
}

// algorithm: sft trains on a dataset of conversations on one rank; gspo needs no dataset.
void CheckAlgorithm(const v1::JobSpec& spec, Checker& c) {
  c.OneOf("algorithm", spec.algorithm(), {"gspo", "sft"});
  const bool has_path = spec.dataset().has_path();
  if (spec.algorithm() == "sft") {
    if (!has_path || spec.dataset().path().empty()) {
      c.FailAt("algorithm", "dataset.path",
               "required with algorithm: sft: a JSONL file of conversations, one "
               "{\"messages\": [...]} per line");
    }
    if (spec.output().has_resume_from_checkpoint()) {
      c.Fail("output.resume_from_checkpoint", "algorithm: sft writes no checkpoints to resume from");
    }
    if (spec.resources().gpus() > 1) {
      c.Fail("resources.gpus", "algorithm: sft runs on one rank; expected 1, got " +
                                   std::to_string(spec.resources().gpus()));
    }
  } else if (has_path && spec.algorithm() == "gspo") {
    c.Fail("dataset.path",
           "only used with algorithm: sft (GSPO draws its prompts from environment.scenarios)");
  }
  c.MaxChars("dataset.path", spec.dataset().path(), kMaxPathChars);
}

}  // namespace

int RolloutRanks(const v1::JobSpec& spec) {
  return spec.resources().mode() == "disaggregated" ? spec.resources().rollout_gpus()
                                                    : spec.resources().gpus();
}

int LearnerRanks(const v1::JobSpec& spec) {
  return spec.resources().mode() == "disaggregated"
             ? spec.resources().gpus() - spec.resources().rollout_gpus()
             : spec.resources().gpus();
}

void ValidateJobSpec(const v1::JobSpec& spec, const SourceMap& sources,
                     const std::string& fallback_where, std::vector<ConfigError>* errors,
                     std::vector<std::string>* warnings) {
  Checker c(sources, fallback_where, errors);
  CheckTop(spec, c);
  CheckAlgorithm(spec, c);
  CheckModel(spec, c, warnings);
  CheckLora(spec.lora(), c, warnings);
  CheckGspo(spec.gspo(), c);
  CheckTraining(spec.training(), c);
  CheckGeneration(spec.generation(), spec.gspo().num_generations(), c);
  CheckEnvironment(spec.environment(), c);
  CheckReward(spec.reward(), c);
  CheckResources(spec.resources(), sources, c);
  CheckOutput(spec, c);
  c.MaxChars("logging.run_name", spec.logging().run_name(), 256);
  const std::string& run_name = spec.logging().run_name();
  if (run_name.find('/') != std::string::npos || run_name == "." || run_name == "..") {
    // It names a folder under output_dir/tensorboard.
    c.Fail("logging.run_name", "expected a name without '/' (not '.' or '..'), got " +
                                   common::QuoteForMessage(run_name));
  }
  c.IntRange("logging.log_every", spec.logging().log_every(), 1, INT32_MAX);
  c.OneOf("logging.level", spec.logging().level(), {"debug", "info", "warning", "error"});
}

void ResolveBatchShape(const SourceMap& sources, const std::string& fallback_where,
                       v1::JobSpec* spec, std::vector<ConfigError>* errors) {
  Checker c(sources, fallback_where, errors);
  const int prompts = spec->training().prompts_per_step();
  const int rollout_ranks = RolloutRanks(*spec);
  const int learner_ranks = LearnerRanks(*spec);
  if (prompts % rollout_ranks != 0) {
    c.Fail("training.prompts_per_step",
           std::to_string(prompts) + " prompt groups cannot be shared evenly by " +
               std::to_string(rollout_ranks) + " rollout ranks; use a multiple of " +
               std::to_string(rollout_ranks));
    return;
  }
  const std::int64_t sequences = std::int64_t{prompts} * spec->gspo().num_generations();
  if (sequences % learner_ranks != 0) {
    c.Fail("training.prompts_per_step",
           std::to_string(sequences) +
               " sequences per step (prompts_per_step x num_generations) "
               "cannot be shared evenly by " +
               std::to_string(learner_ranks) + " learner ranks");
    return;
  }
  const std::int64_t per_rank = sequences / learner_ranks;
  const int micro = spec->training().per_device_train_batch_size();
  const std::string shape = std::to_string(per_rank) + " sequences per rank per step (" +
                            std::to_string(prompts) + " prompts x " +
                            std::to_string(spec->gspo().num_generations()) + " generations / " +
                            std::to_string(learner_ranks) + " ranks)";
  if (sources.SetByUser("gspo.minibatches") &&
      !sources.SetByUser("training.gradient_accumulation_steps")) {
    const std::int64_t per_update = std::int64_t{spec->gspo().minibatches()} * micro;
    if (per_rank % per_update != 0) {
      c.Fail("gspo.minibatches", std::to_string(spec->gspo().minibatches()) + " updates of " +
                                     std::to_string(micro) +
                                     "-sequence micro-batches do not divide " + shape);
      return;
    }
    spec->mutable_training()->set_gradient_accumulation_steps(
        static_cast<int>(per_rank / per_update));
    return;
  }
  const std::int64_t per_update =
      std::int64_t{micro} * spec->training().gradient_accumulation_steps();
  if (per_rank % per_update != 0) {
    c.Fail("training.gradient_accumulation_steps",
           "updates of " + std::to_string(spec->training().gradient_accumulation_steps()) + " x " +
               std::to_string(micro) +
               " sequences (gradient_accumulation_steps x "
               "per_device_train_batch_size) do not divide " +
               shape);
    return;
  }
  const std::int64_t minibatches = per_rank / per_update;
  if (sources.SetByUser("gspo.minibatches") && spec->gspo().minibatches() != minibatches) {
    c.Fail("gspo.minibatches", "expected " + std::to_string(minibatches) + " to match " + shape +
                                   " in updates of " + std::to_string(per_update) +
                                   " sequences, got " + std::to_string(spec->gspo().minibatches()) +
                                   "; set one of gspo.minibatches and "
                                   "training.gradient_accumulation_steps");
    return;
  }
  spec->mutable_gspo()->set_minibatches(static_cast<int>(minibatches));
}

}  // namespace gspo::config
