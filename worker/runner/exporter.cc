#include "worker/runner/exporter.h"

#include "common/files.h"
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

}  // namespace

common::Status ExportMerged(const engine::DecoderModel& model, const engine::LoraAdapters& adapters,
                            const std::string& base_dir, const std::string& out_dir) {
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(out_dir));
  std::map<std::string, at::Tensor> weights = model.NamedWeights();
  for (auto& [name, merged] : adapters.MergedWeights()) weights[name] = merged;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, tensor] : weights) tensors.emplace_back(name, tensor.detach().to(at::kCPU));
  GSPO_RETURN_IF_ERROR(engine::SaveTensors(common::JoinPath(out_dir, "model.safetensors"), tensors,
                                           {{"format", "pt"}}));
  for (const char* name : kSideFiles) {
    const std::string from = common::JoinPath(base_dir, name);
    if (common::PathExists(from)) {
      GSPO_RETURN_IF_ERROR(CopyFile(from, common::JoinPath(out_dir, name)));
    }
  }
  return common::Status::Ok();
}

common::Status ExportAdapter(const std::string& checkpoint_dir, const std::string& out_dir) {
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(out_dir));
  for (const char* name : {"adapter_config.json", "adapter_model.safetensors"}) {
    GSPO_RETURN_IF_ERROR(CopyFile(common::JoinPath(checkpoint_dir, std::string("adapter/") + name),
                                  common::JoinPath(out_dir, name)));
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
