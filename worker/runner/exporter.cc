#include "worker/runner/exporter.h"

#include <cstdio>
#include <map>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"

namespace gspo::runner {
namespace {

constexpr const char* kSideFiles[] = {"config.json", "generation_config.json", "tokenizer.json",
                                      "tokenizer_config.json", "tokenizer.model",
                                      "special_tokens_map.json", "chat_template.jinja"};

common::Status CopyFile(const std::string& from, const std::string& to) {
  GSPO_ASSIGN_OR_RETURN(std::string bytes, common::ReadFileToString(from, std::size_t{1} << 31));
  return common::WriteFileAtomically(to, bytes);
}

using Weights = std::map<std::string, engine::DecoderModel::LazyWeight>;

// Groups tensors (in name order) into shards of at most `max_bytes`.
std::vector<std::vector<std::string>> PlanShards(const Weights& weights, std::int64_t max_bytes) {
  std::vector<std::vector<std::string>> shards(1);
  std::int64_t filled = 0;
  for (const auto& [name, weight] : weights) {
    const std::int64_t bytes = weight.bytes;
    if (!shards.back().empty() && filled + bytes > max_bytes) {
      shards.emplace_back();
      filled = 0;
    }
    shards.back().push_back(name);
    filled += bytes;
  }
  return shards;
}

std::string ShardName(std::size_t index, std::size_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

// Weight files a previous export may have left (another shard count).
bool IsWeightFile(const std::string& name) {
  return name == "model.safetensors" || name == "model.safetensors.index.json" ||
         (common::StartsWith(name, "model-") && common::EndsWith(name, ".safetensors"));
}

// OUT/ as a Hugging Face checkpoint of `weights` (sharded past `max_shard_bytes`; one shard's
// tensors made, dequantized or merged, and held at a time) with the side files of `base_dir`.
common::Status WriteCheckpoint(const Weights& weights, const std::string& base_dir,
                               const std::string& out_dir, std::int64_t max_shard_bytes) {
  if (max_shard_bytes < 1) return common::InvalidArgumentError("max shard size must be at least 1 byte");
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(out_dir));
  GSPO_ASSIGN_OR_RETURN(std::vector<std::string> existing, common::ListDirectory(out_dir));
  for (const std::string& name : existing) {
    if (IsWeightFile(name)) GSPO_RETURN_IF_ERROR(common::RemoveTree(common::JoinPath(out_dir, name)));
  }
  const std::vector<std::vector<std::string>> shards = PlanShards(weights, max_shard_bytes);
  std::vector<common::Json::Member> weight_map;
  std::int64_t total_bytes = 0;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const std::string file = shards.size() == 1 ? "model.safetensors" : ShardName(i, shards.size());
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const std::string& name : shards[i]) {
      const engine::DecoderModel::LazyWeight& weight = weights.at(name);
      tensors.emplace_back(name, weight.make().detach().to(at::kCPU));
      total_bytes += weight.bytes;
      weight_map.emplace_back(name, common::Json::String(file));
    }
    GSPO_RETURN_IF_ERROR(engine::SaveTensors(common::JoinPath(out_dir, file), tensors, {{"format", "pt"}}));
  }
  if (shards.size() > 1) {
    const common::Json index = common::Json::Object(
        {{"metadata", common::Json::Object({{"total_size", common::Json::Integer(total_bytes)}})},
         {"weight_map", common::Json::Object(std::move(weight_map))}});
    GSPO_RETURN_IF_ERROR(common::WriteFileAtomically(common::JoinPath(out_dir, "model.safetensors.index.json"),
                                                     common::WriteJson(index) + "\n"));
  }
  for (const char* name : kSideFiles) {
    const std::string from = common::JoinPath(base_dir, name);
    if (common::PathExists(from)) {
      GSPO_RETURN_IF_ERROR(CopyFile(from, common::JoinPath(out_dir, name)));
    }
  }
  return common::Status::Ok();
}

}  // namespace

common::Status ExportMerged(const engine::DecoderModel& model, const engine::LoraAdapters& adapters,
                            const std::string& base_dir, const std::string& out_dir,
                            std::int64_t max_shard_bytes) {
  Weights weights = model.LazyWeights();
  for (const std::string& name : adapters.AdaptedWeightNames()) {
    auto it = weights.find(name);
    if (it == weights.end()) return common::InternalError("merged export: the model has no weight " + name);
    it->second.make = [&adapters, name] { return adapters.MergedWeight(name); };
  }
  return WriteCheckpoint(weights, base_dir, out_dir, max_shard_bytes);
}

common::Status ExportModel(const engine::DecoderModel& model, const std::string& base_dir,
                           const std::string& out_dir, std::int64_t max_shard_bytes) {
  return WriteCheckpoint(model.LazyWeights(), base_dir, out_dir, max_shard_bytes);
}

common::StatusOr<std::string> FindAdapterDirectory(const std::string& dir) {
  for (const std::string& candidate : {common::JoinPath(dir, "adapter"), dir}) {
    if (common::PathExists(common::JoinPath(candidate, "adapter_config.json")) &&
        common::PathExists(common::JoinPath(candidate, "adapter_model.safetensors"))) {
      return candidate;
    }
  }
  return common::NotFoundError(dir + ": not a checkpoint (no adapter/ with adapter_config.json and "
                               "adapter_model.safetensors) nor a PEFT adapter directory");
}

common::StatusOr<engine::LoraConfig> ReadPeftConfig(const std::string& adapter_dir, std::string* base_model) {
  const std::string path = common::JoinPath(adapter_dir, "adapter_config.json");
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, 1 << 20));
  GSPO_ASSIGN_OR_RETURN(common::Json json, common::ParseJson(text, path));
  const auto field = [&](const char* name) -> const common::Json* { return json.Find(name); };
  const common::Json* peft_type = field("peft_type");
  if (peft_type == nullptr || !peft_type->is_string() || peft_type->AsString() != "LORA") {
    return common::InvalidArgumentError(path + ": peft_type: expected \"LORA\"");
  }
  engine::LoraConfig config;
  const common::Json* r = field("r");
  const common::Json* alpha = field("lora_alpha");
  const common::Json* modules = field("target_modules");
  if (r == nullptr || !r->AsInt64() || *r->AsInt64() < 1) {
    return common::InvalidArgumentError(path + ": r: expected an integer >= 1");
  }
  if (alpha == nullptr || !alpha->is_number()) return common::InvalidArgumentError(path + ": lora_alpha: expected a number");
  if (modules == nullptr || modules->elements().empty()) {
    return common::InvalidArgumentError(path + ": target_modules: expected a list of module names");
  }
  config.r = *r->AsInt64();
  config.alpha = alpha->AsDouble();
  config.target_modules.clear();
  for (const common::Json& m : modules->elements()) {
    if (!m.is_string()) return common::InvalidArgumentError(path + ": target_modules: expected strings");
    config.target_modules.push_back(m.AsString());
  }
  const common::Json* rslora = field("use_rslora");
  config.use_rslora = rslora != nullptr && rslora->is_bool() && rslora->AsBool();
  const common::Json* base = field("base_model_name_or_path");
  if (base_model != nullptr) *base_model = base != nullptr && base->is_string() ? base->AsString() : "";
  return config;
}

common::Status LoadPeftWeights(const std::string& adapter_dir, engine::LoraAdapters* adapters) {
  GSPO_ASSIGN_OR_RETURN(auto file, engine::SafetensorsFile::Open(
                                       common::JoinPath(adapter_dir, "adapter_model.safetensors")));
  std::map<std::string, at::Tensor> tensors;
  const std::string prefix = "base_model.model.";
  for (const engine::TensorView& view : file->tensors()) {
    if (!common::StartsWith(view.name, prefix)) continue;
    tensors[view.name.substr(prefix.size())] = engine::ViewAsTensor(view).clone();
  }
  return adapters->LoadNamedParameters(tensors, file->path());
}

common::Status ExportAdapter(const std::string& adapter_dir, const std::string& out_dir) {
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(out_dir));
  for (const char* name : {"adapter_config.json", "adapter_model.safetensors"}) {
    GSPO_RETURN_IF_ERROR(CopyFile(common::JoinPath(adapter_dir, name), common::JoinPath(out_dir, name)));
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
