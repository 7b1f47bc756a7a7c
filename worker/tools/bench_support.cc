#include "worker/tools/bench_support.h"

#include <algorithm>
#include <map>

#include "common/files.h"
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

}  // namespace gspo::tools
