// Helpers shared by the safetensors reader, checkpoint and writer (safetensors*.cc): how error
// messages show names, shapes and header values, and overflow-checked sizes. Not a public API.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "worker/engine/model/safetensors.h"

namespace gspo::engine::safetensors_internal {

// A tensor or file name in quotes, whole (tensor names run long) unless it holds bytes that
// would garble the message: 'model.layers.0.mlp.up_proj.weight'.
std::string Quote(std::string_view name);
// "[2, 3]".
std::string ShowShape(const std::vector<std::int64_t>& shape);
// "[0, 4096]".
std::string ShowRange(std::uint64_t begin, std::uint64_t end);
// A header value as found, at most 80 characters: "[2, -1]", "\"x\"", "{\"a\":1}".
std::string ShowJson(const common::Json& value);

// The element count of `shape`, or nullopt when a dimension is negative, the count overflows
// int64 or its bytes overflow size_t.
std::optional<std::int64_t> ElementCount(const std::vector<std::int64_t>& shape, DType dtype);

}  // namespace gspo::engine::safetensors_internal
