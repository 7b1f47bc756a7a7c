#include "worker/tools/bench_support.h"

#include <algorithm>
#include <map>

#include "common/files.h"
#include "common/strings.h"
#include "worker/engine/model/weight_names.h"

namespace gspo::tools {

void Sync(const at::Tensor& t) { (void)t.sum().item<double>(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string JsonList(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

common::Status QuantizeFromFlag(const std::string& command, const std::string& quantize, engine::DecoderModel* model) {
  if (quantize == "none") return common::Status::Ok();
  if (quantize != "nf4" && quantize != "nf4-dq" && quantize != "int8") {
    return common::InvalidArgumentError(command + ": --quantize: expected none, nf4, nf4-dq or int8, got '" +
                                        quantize + "'");
  }
  model->QuantizeBaseWeights({quantize == "int8" ? engine::QuantKind::kInt8 : engine::QuantKind::kNf4,
                              quantize == "nf4-dq"});
  return common::Status::Ok();
}

common::StatusOr<std::unique_ptr<engine::DecoderModel>> RandomModel(const std::string& config_path,
                                                                    at::ScalarType dtype,
                                                                    at::Device device) {
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(config_path, 4 << 20));
  GSPO_ASSIGN_OR_RETURN(engine::ModelConfig config, engine::ParseModelConfig(text, config_path));
  at::manual_seed(0);
  std::map<std::string, at::Tensor> tensors;
  const auto opts = at::TensorOptions().device(device).dtype(dtype);
  for (const engine::WeightSpec& spec : engine::ExpectedWeights(config)) {
    const bool norm = spec.kind == engine::WeightKind::kNorm;
    tensors[spec.name] = norm ? at::randn(spec.shape, opts) * 0.05 + (config.norm_adds_one ? 0.0 : 1.0)
                              : at::randn(spec.shape, opts) * 0.02;
  }
  return engine::DecoderModel::FromTensors(config, tensors, dtype, device, config_path);
}

common::StatusOr<LoadedModel> LoadBenchModel(const Flags& flags) {
  if (!flags.Has("--random-config")) return LoadModelFromFlags(flags);
  LoadedModel loaded;
  loaded.device = at::Device(flags.Get("--device", "cpu"));
  GSPO_ASSIGN_OR_RETURN(at::ScalarType dtype,
                        ParseDtype(flags.Get("--dtype", loaded.device.is_cuda() ? "bfloat16" : "float32")));
  GSPO_ASSIGN_OR_RETURN(loaded.model, RandomModel(flags.Get("--random-config", ""), dtype, loaded.device));
  return loaded;
}

engine::LoraConfig LoraFromFlags(const Flags& flags, std::int64_t r) {
  engine::LoraConfig lora;
  lora.r = r;
  lora.alpha = 2.0 * r;
  lora.target_modules = common::Split(flags.Get("--lora-targets", "q_proj,k_proj,v_proj,o_proj"), ',');
  return lora;
}

common::StatusOr<RolloutSetting> ParseRolloutSetting(const std::string& command, const Flags& flags) {
  RolloutSetting s{};
  GSPO_ASSIGN_OR_RETURN(s.reps, flags.Int("--reps", 3));
  GSPO_ASSIGN_OR_RETURN(s.prompts, flags.Int("--prompts", 8));
  GSPO_ASSIGN_OR_RETURN(s.samples, flags.Int("--samples", 8));
  GSPO_ASSIGN_OR_RETURN(s.prompt_len, flags.Int("--prompt-len", 128));
  GSPO_ASSIGN_OR_RETURN(s.new_tokens, flags.Int("--new-tokens", 256));
  GSPO_ASSIGN_OR_RETURN(s.temperature, flags.Number("--temperature", 0.7));
  GSPO_ASSIGN_OR_RETURN(s.top_p, flags.Number("--top-p", 0.9));
  GSPO_ASSIGN_OR_RETURN(s.lora_r, flags.Int("--lora-r", 16));
  if (s.reps < 1 || s.prompts < 1 || s.samples < 1 || s.prompt_len < 1 || s.new_tokens < 1 || s.lora_r < 1) {
    return common::InvalidArgumentError(command + ": every size must be >= 1");
  }
  return s;
}

engine::RolloutRequest RandomPromptsRequest(const RolloutSetting& setting, std::int64_t vocab, std::uint64_t seed,
                                            at::Tensor* prompt_ids) {
  at::manual_seed(seed);
  const at::Tensor ids = at::randint(3, vocab, {setting.prompts, setting.prompt_len}, at::kLong);
  engine::RolloutRequest request;
  for (std::int64_t i = 0; i < setting.prompts; ++i) {
    const std::int64_t* row = ids[i].data_ptr<std::int64_t>();
    request.prompts.emplace_back(row, row + setting.prompt_len);
  }
  request.samples_per_prompt = setting.samples;
  request.max_new_tokens = setting.new_tokens;
  request.sampling.temperature = setting.temperature;
  request.sampling.top_p = setting.top_p;
  if (prompt_ids != nullptr) *prompt_ids = ids;
  return request;
}

}  // namespace gspo::tools
