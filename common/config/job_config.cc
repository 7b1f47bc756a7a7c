#include "common/config/job_config.h"

#include <algorithm>
#include <cmath>

#include "common/config/config_error.h"
#include "common/config/model_size.h"
#include "common/config/presets.h"
#include "common/config/spec_decoder.h"
#include "common/config/spec_encoder.h"
#include "common/config/validate.h"
#include "common/config/yaml_source.h"
#include "common/files.h"
#include "common/strings.h"

namespace gspo::config {
namespace {

constexpr std::size_t kMaxOverrideBytes = 64 * 1024;

// {a: {b: value}} for the path "a.b".
YAML::Node NestUnderPath(const std::vector<std::string>& keys, const YAML::Node& value) {
  YAML::Node node = value;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    YAML::Node parent(YAML::NodeType::Map);
    parent[*it] = node;
    node = parent;
  }
  return node;
}

common::Status ApplyOverride(const Override& override, v1::JobSpec* user, SourceMap* sources,
                             std::vector<ConfigError>* errors) {
  const std::vector<std::string> keys = common::Split(override.path, '.');
  if (override.path.empty() ||
      std::any_of(keys.begin(), keys.end(), [](const std::string& k) { return k.empty(); })) {
    return common::InvalidArgumentError(override.origin +
                                        ": expected a field path like "
                                        "lora.lora_r, got " +
                                        common::QuoteForMessage(override.path));
  }
  YAML::Node value;
  if (override.value_is_yaml) {
    if (override.value.empty()) {
      return common::InvalidArgumentError(override.origin + ": expected a value after '='");
    }
    YamlLimits limits;
    limits.max_bytes = kMaxOverrideBytes;
    GSPO_ASSIGN_OR_RETURN(value, ParseYaml(override.origin, override.value, limits));
  } else {
    value = YAML::Node(override.value);
  }
  v1::JobSpec layer;
  SourceMap layer_sources;
  SpecDecoder decoder("", override.origin, &layer_sources, errors);
  decoder.Decode(NestUnderPath(keys, value), &layer);
  MergeLayer(layer, layer_sources, user);
  sources->Overlay(layer_sources);
  return common::Status::Ok();
}

// A lowercase [a-z0-9-] name from the model's base name and the task.
std::string DeriveName(const v1::JobSpec& spec) {
  std::string text = common::BaseName(spec.model().name_or_path()) + "-" + spec.environment().task();
  std::string name;
  for (char ch : text) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const bool keep = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (keep) {
      name += ch;
    } else if (!name.empty() && name.back() != '-') {
      name += '-';
    }
  }
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name.empty() ? "job" : name;
}

void FillDerived(const std::string& fallback_where, v1::JobSpec* spec, SourceMap* sources) {
  const auto derive = [&](const std::string& path) {
    sources->Set(path, fallback_where + " (derived)", false);
  };
  if (!spec->has_name()) {
    spec->set_name(DeriveName(*spec));
    derive("name");
  }
  if (!spec->output().has_output_dir()) {
    spec->mutable_output()->set_output_dir("./outputs/" + spec->name());
    derive("output.output_dir");
  }
  v1::RewardSpec* reward = spec->mutable_reward();
  if (reward->components().empty() && !sources->SetByUser("reward.components")) {
    for (auto& component :
         RewardPresetComponents(reward->preset(), spec->environment().mixture())) {
      *reward->add_components() = component;
    }
    derive("reward.components");
  }
  if (reward->has_remote()) {
    v1::RemoteReward* remote = reward->mutable_remote();
    if (!remote->has_timeout_ms()) remote->set_timeout_ms(5000);
    if (!remote->has_max_retries()) remote->set_max_retries(3);
    if (!remote->has_weight()) remote->set_weight(1.0);
  }
  // Without LoRA there is no adapter to export: the default export becomes the merged model.
  if (!spec->lora().use_lora() && !sources->SetByUser("output.export")) {
    spec->mutable_output()->clear_export_();
    spec->mutable_output()->add_export_("merged");
    derive("output.export");
  }
  v1::ResourcesSpec* resources = spec->mutable_resources();
  if (resources->mode() == "disaggregated" && !resources->has_rollout_gpus()) {
    resources->set_rollout_gpus(std::max(1, resources->gpus() / 2));
    derive("resources.rollout_gpus");
  }
  if (resources->mode() == "disaggregated" && !resources->has_max_staleness()) {
    resources->set_max_staleness(1);
    derive("resources.max_staleness");
  }
}

// The user's explicit quantization choice wins over a preset's: --use-8bit on a 9B model
// turns the preset's 4-bit off instead of failing as "both".
void ResolveQuantization(const SourceMap& sources, v1::JobSpec* spec) {
  v1::ModelSpec* model = spec->mutable_model();
  const bool user4 = sources.SetByUser("model.use_4bit");
  const bool user8 = sources.SetByUser("model.use_8bit");
  if (user8 && model->use_8bit() && !user4) model->set_use_4bit(false);
  if (user4 && model->use_4bit() && !user8) model->set_use_8bit(false);
}

}  // namespace

common::StatusOr<Override> ParseSetOverride(const std::string& argument) {
  const std::size_t eq = argument.find('=');
  if (eq == std::string::npos || eq == 0) {
    return common::InvalidArgumentError("--set " + argument +
                                        ": expected FIELD=VALUE, e.g. --set lora.lora_r=32");
  }
  return Override{"--set " + argument, argument.substr(0, eq), argument.substr(eq + 1), true};
}

const char* GuideFlagsHelp() {
  return "  --model NAME_OR_PATH       model.name_or_path\n"
         "  --task TASK                environment.task\n"
         "  --use-lora | --no-lora     lora.use_lora\n"
         "  --use-4bit | --use-8bit    model.use_4bit / model.use_8bit\n"
         "  --output-dir DIR           output.output_dir\n"
         "  --wandb                    logging.tensorboard: true (sync the event files to W&B)\n"
         "  --wandb-project NAME       logging.run_name (and logging.tensorboard: true)\n";
}

common::StatusOr<bool> ParseGuideFlag(const std::vector<std::string>& args, std::size_t* index,
                                      std::vector<Override>* overrides) {
  std::string flag = args[*index];
  std::optional<std::string> inline_value;
  if (const std::size_t eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
    inline_value = flag.substr(eq + 1);
    flag.resize(eq);
  }
  struct Switch {
    const char* flag;
    const char* path;
    const char* value;
  };
  static const Switch kSwitches[] = {
      {"--use-lora", "lora.use_lora", "true"},    {"--no-lora", "lora.use_lora", "false"},
      {"--use-4bit", "model.use_4bit", "true"},   {"--use-8bit", "model.use_8bit", "true"},
      {"--wandb", "logging.tensorboard", "true"},
  };
  for (const Switch& s : kSwitches) {
    if (flag != s.flag) continue;
    if (inline_value) return common::InvalidArgumentError(flag + " takes no value");
    overrides->push_back({flag, s.path, s.value, true});
    ++*index;
    return true;
  }
  struct Valued {
    const char* flag;
    const char* path;
  };
  static const Valued kValued[] = {{"--model", "model.name_or_path"},
                                   {"--task", "environment.task"},
                                   {"--output-dir", "output.output_dir"},
                                   {"--wandb-project", "logging.run_name"}};
  for (const Valued& v : kValued) {
    if (flag != v.flag) continue;
    std::string value;
    if (inline_value) {
      value = *inline_value;
      ++*index;
    } else {
      if (*index + 1 >= args.size()) return common::InvalidArgumentError(flag + " needs a value");
      value = args[*index + 1];
      *index += 2;
    }
    if (value.empty()) return common::InvalidArgumentError(flag + " needs a non-empty value");
    overrides->push_back({flag + " " + value, v.path, value, false});
    if (flag == "--wandb-project") {
      overrides->push_back({flag + " " + value, "logging.tensorboard", "true", true});
    }
    return true;
  }
  return false;
}

common::StatusOr<ResolvedJob> ResolveJob(const JobSource& source) {
  const std::string fallback_where = source.file ? *source.file : "command line";
  std::vector<ConfigError> errors;
  ResolvedJob job;

  // 1. The user's layer: job.yaml, then the command line in order.
  v1::JobSpec user;
  SourceMap user_sources;
  if (source.file || source.text) {
    YAML::Node root;
    if (source.text) {
      GSPO_ASSIGN_OR_RETURN(root, ParseYaml(fallback_where, *source.text));
    } else {
      GSPO_ASSIGN_OR_RETURN(root, LoadYamlFile(*source.file));
    }
    SpecDecoder decoder(fallback_where, "", &user_sources, &errors);
    decoder.Decode(root, &user);
  }
  for (const Override& override : source.overrides) {
    GSPO_RETURN_IF_ERROR(ApplyOverride(override, &user, &user_sources, &errors));
  }
  GSPO_RETURN_IF_ERROR(ErrorsToStatus(errors));

  // 2. Presets chosen from what the user asked for.
  const std::string preset = user.has_preset() ? user.preset() : "auto";
  job.size_preset = "none";
  if (preset == "auto") {
    if (auto size = EstimateModelSize(user.model().name_or_path())) {
      job.size_preset = SizePresetForParameters(size->billions);
      job.size_basis =
          FormatNumber(std::round(size->billions * 10) / 10) + "B parameters, from " + size->basis;
    } else if (!user.model().name_or_path().empty()) {
      job.warnings.push_back("preset: auto could not tell the size of '" +
                             user.model().name_or_path() +
                             "' (no config.json here, no size in the name); using the defaults. "
                             "Set preset: 2b, 9b or 27b to choose.");
    }
  } else if (preset != "none") {
    job.size_preset = preset;
    job.size_basis = "set by the user";
  }
  std::string task = user.environment().has_task() ? user.environment().task() : "customer_service";
  if (!user.environment().has_task() && !user.environment().mixture().empty()) task = "mixture";

  // 3. Layers, lowest first.
  job.spec = DefaultSpec();
  job.sources.SetAll(job.spec, fallback_where + " (default)");
  if (job.size_preset != "none") {
    auto layer = SizePreset(job.size_preset);
    if (layer.ok()) {
      MergeLayer(*layer, {}, &job.spec);
      job.sources.SetAll(*layer, fallback_where + " (preset " + job.size_preset + ")");
    }
  }
  // An unknown task is reported by validation; meanwhile the default task's preset keeps its
  // errors from cascading into max_turns and reward.
  const auto& tasks = KnownEnvironmentTasks();
  const bool known_task = std::find(tasks.begin(), tasks.end(), task) != tasks.end();
  v1::JobSpec task_layer = TaskPreset(known_task ? task : "customer_service");
  task_layer.mutable_environment()->set_task(task);
  MergeLayer(task_layer, {}, &job.spec);
  job.sources.SetAll(task_layer, fallback_where + " (task preset " + task + ")");
  MergeLayer(user, user_sources, &job.spec);
  job.sources.Overlay(user_sources);
  if (preset == "auto" || preset == "none") job.spec.set_preset(job.size_preset);

  // 4. Derived values, then checks.
  ResolveQuantization(job.sources, &job.spec);
  FillDerived(fallback_where, &job.spec, &job.sources);
  ValidateJobSpec(job.spec, job.sources, fallback_where, &errors, &job.warnings);
  if (errors.empty()) ResolveBatchShape(job.sources, fallback_where, &job.spec, &errors);
  GSPO_RETURN_IF_ERROR(ErrorsToStatus(errors));
  return job;
}

std::string DescribeResolution(const ResolvedJob& job) {
  std::string text = "Resolved by gspoctl validate: every field, with presets and defaults.\n";
  text += "Size preset: " + job.size_preset;
  if (!job.size_basis.empty()) text += " (" + job.size_basis + ")";
  text += "; task: " + job.spec.environment().task() + ".";
  return text;
}

}  // namespace gspo::config
