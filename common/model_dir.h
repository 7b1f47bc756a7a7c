// Finds a Hugging Face model directory on this machine; never downloads.
//
// `name_or_path` is either a directory, or a repo id ("google/gemma-2-9b-it") looked up in the
// local Hugging Face cache: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub,
// layout models--org--name/snapshots/<revision>/ with refs/main naming the revision.
// Reads the environment; safe from any thread that does not modify it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gspo::common {

// The model's directory, or nullopt when it is neither a directory nor in a cache.
std::optional<std::string> FindModelDirectory(const std::string& name_or_path);

// The cache roots searched, in order (for error messages).
std::vector<std::string> HuggingFaceCacheRoots();

}  // namespace gspo::common
