#include "worker/runner/checkpoint_manager.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"
#include "worker/runner/exporter.h"

namespace gspo::runner {
namespace {

constexpr char kPrefix[] = "step-";

// Completed steps of the checkpoint directories, ascending.
std::vector<std::int64_t> Steps(const std::string& dir) {
  std::vector<std::int64_t> steps;
  auto names = common::ListDirectory(dir);
  if (!names.ok()) return steps;
  for (const std::string& name : *names) {
    if (!common::StartsWith(name, kPrefix) || common::EndsWith(name, ".partial")) continue;
    char* end = nullptr;
    const long long step = std::strtoll(name.c_str() + 5, &end, 10);
    if (end != nullptr && *end == '\0' && step >= 0) steps.push_back(step);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

}  // namespace

std::string CheckpointManager::CheckpointsDir() const {
  return common::JoinPath(output_dir_, "checkpoints");
}

common::Status CheckpointManager::Save(std::int64_t step, const engine::LoraAdapters& adapters,
                                       const engine::AdamW& optimizer) const {
  const std::string final_dir = common::JoinPath(CheckpointsDir(), kPrefix + std::to_string(step));
  const std::string partial = final_dir + ".partial";
  GSPO_RETURN_IF_ERROR(common::RemoveTree(partial));
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(partial));
  GSPO_RETURN_IF_ERROR(adapters.SavePeft(common::JoinPath(partial, "adapter"), base_model_));
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& [name, tensor] : optimizer.State()) state.emplace_back(name, tensor.to(at::kCPU));
  GSPO_RETURN_IF_ERROR(engine::SaveTensors(common::JoinPath(partial, "optimizer.safetensors"), state, {}));
  const common::Json trainer = common::Json::Object({{"step", common::Json::Integer(step)}});
  GSPO_RETURN_IF_ERROR(common::WriteFileAtomically(common::JoinPath(partial, "trainer_state.json"),
                                                   common::WriteJson(trainer) + "\n"));
  GSPO_RETURN_IF_ERROR(common::RemoveTree(final_dir));
  if (std::rename(partial.c_str(), final_dir.c_str()) != 0) {
    return common::ErrnoToStatus(errno, final_dir + ": cannot finish checkpoint");
  }
  if (limit_ > 0) {
    std::vector<std::int64_t> steps = Steps(CheckpointsDir());
    for (std::size_t i = 0; i + limit_ < steps.size(); ++i) {
      GSPO_RETURN_IF_ERROR(common::RemoveTree(
          common::JoinPath(CheckpointsDir(), kPrefix + std::to_string(steps[i]))));
    }
  }
  return common::Status::Ok();
}

std::optional<std::string> CheckpointManager::Latest() const {
  std::vector<std::int64_t> steps = Steps(CheckpointsDir());
  if (steps.empty()) return std::nullopt;
  return common::JoinPath(CheckpointsDir(), kPrefix + std::to_string(steps.back()));
}

common::StatusOr<std::int64_t> CheckpointManager::Load(const std::string& dir,
                                                       engine::LoraAdapters* adapters,
                                                       engine::AdamW* optimizer) const {
  GSPO_RETURN_IF_ERROR(LoadPeftWeights(common::JoinPath(dir, "adapter"), adapters));
  GSPO_ASSIGN_OR_RETURN(auto state_file, engine::SafetensorsFile::Open(common::JoinPath(dir, "optimizer.safetensors")));
  std::map<std::string, at::Tensor> state;
  for (const engine::TensorView& view : state_file->tensors()) state[view.name] = engine::ViewAsTensor(view).clone();
  try {
    optimizer->LoadState(state);
  } catch (const std::exception& e) {
    return common::InvalidArgumentError(state_file->path() + ": optimizer state does not match: " + e.what());
  }
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(common::JoinPath(dir, "trainer_state.json"), 1 << 20));
  GSPO_ASSIGN_OR_RETURN(common::Json json, common::ParseJson(text, dir + "/trainer_state.json"));
  const common::Json* step = json.Find("step");
  if (step == nullptr || !step->AsInt64()) {
    return common::InvalidArgumentError(dir + "/trainer_state.json: step: expected an integer");
  }
  return *step->AsInt64();
}

}  // namespace gspo::runner
