// Checkpoint (safetensors.h): finds and opens the safetensors files of a model directory.
#include <algorithm>
#include <system_error>
#include <unordered_map>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_internal.h"

namespace gspo::engine {
namespace {

using common::InvalidArgumentError;
using common::Json;
using common::Status;
using common::StatusOr;
using safetensors_internal::Quote;
using safetensors_internal::ShowJson;

// Real indexes are tens of KB.
constexpr std::size_t kMaxIndexBytes = 64 << 20;

// A shard named by an index must be a file directly inside the model directory.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

}  // namespace

StatusOr<Checkpoint> Checkpoint::Open(const std::string& dir) {
  if (!common::IsDirectory(dir)) {
    if (common::PathExists(dir)) return InvalidArgumentError(dir + ": is not a directory");
    return common::NotFoundError(dir + ": no such directory");
  }
  Checkpoint checkpoint;
  checkpoint.dir_ = dir;
  const std::string index = common::JoinPath(dir, kIndexFile);
  if (common::PathExists(index)) {
    GSPO_RETURN_IF_ERROR(checkpoint.AddIndexedShards(index));
    return checkpoint;
  }
  std::string single = common::JoinPath(dir, kSingleFile);
  if (!common::PathExists(single)) {
    std::vector<std::string> found;
    GSPO_ASSIGN_OR_RETURN(std::vector<std::string> names, common::ListDirectory(dir));
    for (const std::string& name : names) {
      if (common::EndsWith(name, ".safetensors") && !common::IsDirectory(common::JoinPath(dir, name))) {
        found.push_back(name);
      }
    }
    if (found.empty()) {
      return common::NotFoundError(dir + ": no " + kIndexFile + ", " + kSingleFile +
                                   " or other .safetensors file");
    }
    if (found.size() > 1) {
      return InvalidArgumentError(dir + ": " + std::to_string(found.size()) +
                                  " .safetensors files (" + common::Join(found, ", ") +
                                  ") but no " + kIndexFile + " to say which tensors are where");
    }
    single = common::JoinPath(dir, found[0]);
  }
  GSPO_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file, SafetensorsFile::Open(single));
  checkpoint.AddAllTensors(std::move(file));
  return checkpoint;
}

Status Checkpoint::AddIndexedShards(const std::string& index_path) {
  GSPO_ASSIGN_OR_RETURN(const std::string text,
                        common::ReadFileToString(index_path, kMaxIndexBytes));
  GSPO_ASSIGN_OR_RETURN(const Json index, common::ParseJson(text, index_path));
  const Json* weight_map = index.Find("weight_map");
  if (weight_map == nullptr || !weight_map->is_object()) {
    return InvalidArgumentError(index_path +
                                ": expected an object with a 'weight_map' object mapping tensor "
                                "names to shard files");
  }
  std::unordered_map<std::string, const SafetensorsFile*> shards;  // by file name
  for (const auto& [name, shard] : weight_map->members()) {
    const std::string where = index_path + ": tensor " + Quote(name) + " ";
    if (!shard.is_string()) {
      return InvalidArgumentError(where + "maps to " + ShowJson(shard) +
                                  ", expected a shard file name");
    }
    const std::string& shard_name = shard.AsString();
    if (!IsPlainFileName(shard_name)) {
      return InvalidArgumentError(where + "is in shard " + Quote(shard_name) +
                                  ", which is not a plain file name inside " + dir_ +
                                  "; refusing to read outside the model directory");
    }
    auto it = shards.find(shard_name);
    if (it == shards.end()) {
      const std::string shard_path = common::JoinPath(dir_, shard_name);
      if (!common::PathExists(shard_path)) {
        return common::NotFoundError(where + "is in shard " + Quote(shard_name) +
                                     ", which does not exist in " + dir_);
      }
      GSPO_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> file,
                            SafetensorsFile::Open(shard_path));
      files_.push_back(std::move(file));
      it = shards.emplace(shard_name, files_.back().get()).first;
    }
    const TensorView* view = it->second->Find(name);
    if (view == nullptr) {
      return InvalidArgumentError(where + "is not in its shard " + it->second->path());
    }
    tensors_.emplace(name, view);
  }
  return Status::Ok();
}

void Checkpoint::AddAllTensors(std::unique_ptr<SafetensorsFile> file) {
  for (const TensorView& view : file->tensors()) tensors_.emplace(view.name, &view);
  files_.push_back(std::move(file));
}

const TensorView* Checkpoint::Find(std::string_view name) const {
  const auto it = tensors_.find(std::string(name));
  return it == tensors_.end() ? nullptr : it->second;
}

StatusOr<TensorView> Checkpoint::Get(std::string_view name) const {
  const TensorView* view = Find(name);
  if (view == nullptr) {
    return common::NotFoundError(dir_ + ": no tensor " + Quote(name) + " in the checkpoint");
  }
  return *view;
}

std::vector<std::string> Checkpoint::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, view] : tensors_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace gspo::engine
