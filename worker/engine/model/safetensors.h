// Reading and writing safetensors files, the weight format of Hugging Face model directories.
// No LibTorch here (safetensors_torch.h turns views into tensors), so the format code is small,
// fast to build and testable on its own.
//
// Layout: an 8-byte little-endian length N, N bytes of JSON header (an object mapping each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets relative to the data that
// follows the header, plus an optional "__metadata__" object of strings), then the data.
//
// Files are untrusted: Open checks every field of the header against the file before it hands
// out a single view, and every error names the file and the tensor at fault.
//
// Ownership: SafetensorsFile owns a read-only memory map of its file; its TensorViews point into
// that map and live exactly as long as the SafetensorsFile. Checkpoint owns the files of a model
// directory. Both are immutable after Open, so any number of threads may read them at once.
// Truncating a file while it is mapped makes later reads of the lost pages fault (SIGBUS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace gspo::engine {

// The element types of the format, with their names in the header ("BF16").
enum class DType {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kI64,
  kU64,
  kF64,
};

// Bytes per element.
std::size_t DTypeSize(DType dtype);
// The header name: "F32", "BF16", "F8_E4M3".
const char* DTypeName(DType dtype);
// The inverse of DTypeName (case-sensitive, as in the format). Error (kInvalidArgument):
// "unknown dtype 'bf16'; expected one of BOOL, U8, ...".
common::StatusOr<DType> ParseDType(std::string_view name);

// One tensor's bytes: little-endian, row-major, contiguous. Not owning.
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;
  // The file the bytes are mapped from, for error messages; empty for views of memory.
  std::string file;

  // The product of the shape (1 for a scalar).
  std::int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Larger headers are refused, as the reference implementation does.
  static constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

  // Maps `path` and validates it. Errors: kNotFound "PATH: no such file"; kInvalidArgument for a
  // malformed file, e.g. "PATH: tensor 'w': data_offsets [0, 4096] end past the 1024 bytes of
  // data (file truncated?)"; other codes for failed system calls.
  static common::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // nullptr when the file has no tensor of that name.
  const TensorView* Find(std::string_view name) const;
  // Sorted by name.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // The header's "__metadata__" (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  void Unmap();

  std::string path_;
  void* mapping_ = nullptr;
  std::size_t mapping_bytes_ = 0;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, std::size_t> by_name_;  // into tensors_
  std::map<std::string, std::string> metadata_;
};

// The weights of a model directory, whichever way they are stored: shards listed by
// model.safetensors.index.json, else model.safetensors, else the directory's only *.safetensors.
class Checkpoint {
 public:
  static constexpr const char* kIndexFile = "model.safetensors.index.json";
  static constexpr const char* kSingleFile = "model.safetensors";

  // Opens every file the checkpoint needs, each once. With an index, the index decides which
  // tensors exist: each must be in the shard it names, and shards must be plain file names in
  // `dir` (a name like "../x.safetensors" is refused). Errors name the directory or the file.
  static common::StatusOr<Checkpoint> Open(const std::string& dir);

  Checkpoint(Checkpoint&&) = default;
  Checkpoint& operator=(Checkpoint&&) = default;
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  // kNotFound "DIR: no tensor 'lm_head.weight' in the checkpoint" when absent (models with tied
  // embeddings have no lm_head.weight, for one).
  common::StatusOr<TensorView> Get(std::string_view name) const;
  // nullptr when absent; valid as long as this Checkpoint.
  const TensorView* Find(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  // Every tensor name, sorted.
  std::vector<std::string> Names() const;

  const std::string& dir() const { return dir_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  Checkpoint() = default;
  // The two ways of finding the tensors: through the index, or all those of one file.
  common::Status AddIndexedShards(const std::string& index_path);
  void AddAllTensors(std::unique_ptr<SafetensorsFile> file);

  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const TensorView*> tensors_;  // views owned by files_
};

// Writes `tensors` to `path` as a safetensors file that the reference implementation reads:
// header keys sorted by name, the header padded with spaces to a multiple of 8 bytes, and the
// data packed without gaps, largest element size first, so every tensor is aligned to its
// element size. Streams the data (no copy of the whole file in memory) into a temporary file that
// replaces `path` only when complete. Errors name the file and the tensor (a duplicate name, a
// byte count that does not match the shape).
common::Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                                const std::map<std::string, std::string>& metadata = {});

}  // namespace gspo::engine
