#include "worker/engine/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "worker/engine/model/safetensors_internal.h"

namespace gspo::engine {
namespace {

using common::InvalidArgumentError;
using common::Json;
using common::Status;
using common::StatusOr;
using safetensors_internal::ElementCount;
using safetensors_internal::Quote;
using safetensors_internal::ShowJson;
using safetensors_internal::ShowRange;
using safetensors_internal::ShowShape;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and is mapped without byte swapping");

constexpr std::size_t kLengthBytes = 8;  // the header length that starts every file
constexpr char kMetadataKey[] = "__metadata__";
// Headers nest three levels ({name: {shape: [...]}}); anything much deeper is hostile.
constexpr int kHeaderMaxDepth = 8;

struct DTypeInfo {
  DType dtype;
  const char* name;
  std::size_t size;
};
// In the order of the enum, so that a DType indexes it.
constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "BOOL", 1},      {DType::kU8, "U8", 1},          {DType::kI8, "I8", 1},
    {DType::kF8E5M2, "F8_E5M2", 1}, {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kI16, "I16", 2},
    {DType::kU16, "U16", 2},        {DType::kF16, "F16", 2},        {DType::kBF16, "BF16", 2},
    {DType::kI32, "I32", 4},        {DType::kU32, "U32", 4},        {DType::kF32, "F32", 4},
    {DType::kI64, "I64", 8},        {DType::kU64, "U64", 8},        {DType::kF64, "F64", 8},
};
constexpr bool DTypesInEnumOrder() {
  for (std::size_t i = 0; i < std::size(kDTypes); ++i) {
    if (static_cast<std::size_t>(kDTypes[i].dtype) != i) return false;
  }
  return true;
}
static_assert(DTypesInEnumOrder());

const DTypeInfo& Info(DType dtype) { return kDTypes[static_cast<std::size_t>(dtype)]; }

// A list of integers, or nullopt when `value` is anything else.
std::optional<std::vector<std::int64_t>> IntegerList(const Json& value) {
  if (!value.is_array()) return std::nullopt;
  std::vector<std::int64_t> out;
  out.reserve(value.size());
  for (const Json& element : value.elements()) {
    const std::optional<std::int64_t> integer = element.AsInt64();
    if (!integer) return std::nullopt;
    out.push_back(*integer);
  }
  return out;
}

// One header entry, checked against the data section of `data_bytes` bytes.
struct Entry {
  TensorView view;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

Status ParseEntry(const std::string& path, const std::string& name, const Json& json,
                  std::uint64_t data_bytes, Entry* entry) {
  const std::string where = path + ": tensor " + Quote(name) + ": ";
  if (!json.is_object()) {
    return InvalidArgumentError(where + "expected an object with dtype, shape and data_offsets, " +
                                "found " + ShowJson(json));
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (json.Find(field) == nullptr) return InvalidArgumentError(where + "missing '" + field + "'");
  }
  const Json& dtype = *json.Find("dtype");
  if (!dtype.is_string()) {
    return InvalidArgumentError(where + "dtype must be a string, found " + ShowJson(dtype));
  }
  StatusOr<DType> parsed = ParseDType(dtype.AsString());
  if (!parsed.ok()) return InvalidArgumentError(where + parsed.status().message());

  std::optional<std::vector<std::int64_t>> shape = IntegerList(*json.Find("shape"));
  if (!shape || std::any_of(shape->begin(), shape->end(), [](std::int64_t d) { return d < 0; })) {
    return InvalidArgumentError(where + "shape must be a list of non-negative integers, found " +
                                ShowJson(*json.Find("shape")));
  }
  const std::optional<std::int64_t> count = ElementCount(*shape, *parsed);
  if (!count) return InvalidArgumentError(where + "shape " + ShowShape(*shape) + " is too large");

  const std::optional<std::vector<std::int64_t>> offsets = IntegerList(*json.Find("data_offsets"));
  if (!offsets || offsets->size() != 2 || (*offsets)[0] < 0 || (*offsets)[0] > (*offsets)[1]) {
    return InvalidArgumentError(where +
                                "data_offsets must be two integers [begin, end] with 0 <= begin "
                                "<= end, found " +
                                ShowJson(*json.Find("data_offsets")));
  }
  entry->begin = static_cast<std::uint64_t>((*offsets)[0]);
  entry->end = static_cast<std::uint64_t>((*offsets)[1]);
  if (entry->end > data_bytes) {
    return InvalidArgumentError(where + "data_offsets " + ShowRange(entry->begin, entry->end) +
                                " end past the " + std::to_string(data_bytes) +
                                " bytes of data (file truncated?)");
  }
  const std::uint64_t needed = static_cast<std::uint64_t>(*count) * DTypeSize(*parsed);
  if (entry->end - entry->begin != needed) {
    return InvalidArgumentError(where + "shape " + ShowShape(*shape) + " of " + DTypeName(*parsed) +
                                " needs " + std::to_string(needed) + " bytes, but data_offsets " +
                                ShowRange(entry->begin, entry->end) + " hold " +
                                std::to_string(entry->end - entry->begin));
  }
  entry->view.name = name;
  entry->view.dtype = *parsed;
  entry->view.shape = std::move(*shape);
  entry->view.nbytes = static_cast<std::size_t>(needed);
  entry->view.file = path;
  return Status::Ok();
}

Status ParseMetadata(const std::string& path, const Json& json,
                     std::map<std::string, std::string>* metadata) {
  if (!json.is_object()) {
    return InvalidArgumentError(path + ": " + kMetadataKey +
                                " must be an object of strings, found " + ShowJson(json));
  }
  for (const auto& [key, value] : json.members()) {
    if (!value.is_string()) {
      return InvalidArgumentError(path + ": " + kMetadataKey + " " + Quote(key) +
                                  " must be a string, found " + ShowJson(value));
    }
    metadata->emplace(key, value.AsString());
  }
  return Status::Ok();
}

// Sorted by begin, every non-empty range must start at or after the end of those before it.
Status CheckDisjoint(const std::string& path, const std::vector<Entry>& entries) {
  std::vector<const Entry*> order;
  for (const Entry& entry : entries) {
    if (entry.end > entry.begin) order.push_back(&entry);
  }
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const Entry* furthest = nullptr;  // the range seen so far that ends last
  for (const Entry* entry : order) {
    if (furthest != nullptr && entry->begin < furthest->end) {
      return InvalidArgumentError(path + ": tensors " + Quote(furthest->view.name) +
                                  " (data_offsets " + ShowRange(furthest->begin, furthest->end) +
                                  ") and " + Quote(entry->view.name) + " (data_offsets " +
                                  ShowRange(entry->begin, entry->end) + ") overlap");
    }
    if (furthest == nullptr || entry->end > furthest->end) furthest = entry;
  }
  return Status::Ok();
}

}  // namespace

namespace safetensors_internal {

std::string Quote(std::string_view name) {
  const bool plain = name.size() <= 200 && std::none_of(name.begin(), name.end(), [](char c) {
                       return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
                     });
  return plain ? "'" + std::string(name) + "'" : common::QuoteForMessage(name);
}

namespace {

std::string ShowList(const std::vector<std::string>& items) {
  return "[" + common::Join(items, ", ") + "]";
}

}  // namespace

std::string ShowShape(const std::vector<std::int64_t>& shape) {
  std::vector<std::string> items;
  items.reserve(shape.size());
  for (const std::int64_t dim : shape) items.push_back(std::to_string(dim));
  return ShowList(items);
}
std::string ShowRange(std::uint64_t begin, std::uint64_t end) {
  return ShowList({std::to_string(begin), std::to_string(end)});
}
std::string ShowJson(const Json& value) {
  std::string shown;
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const Json& element : value.elements()) items.push_back(common::WriteJson(element));
    shown = ShowList(items);
  } else {
    shown = common::WriteJson(value);
  }
  constexpr std::size_t kMaxShown = 80;
  if (shown.size() > kMaxShown) shown = shown.substr(0, kMaxShown) + "...";
  return shown;
}

std::optional<std::int64_t> ElementCount(const std::vector<std::int64_t>& shape, DType dtype) {
  std::int64_t count = 1;
  for (const std::int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(count, dim, &count)) return std::nullopt;
  }
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(count), DTypeSize(dtype), &bytes)) {
    return std::nullopt;
  }
  return count;
}

}  // namespace safetensors_internal

std::size_t DTypeSize(DType dtype) { return Info(dtype).size; }

const char* DTypeName(DType dtype) { return Info(dtype).name; }

StatusOr<DType> ParseDType(std::string_view name) {
  std::vector<std::string> names;
  for (const DTypeInfo& info : kDTypes) {
    if (name == info.name) return info.dtype;
    names.emplace_back(info.name);
  }
  return InvalidArgumentError("unknown dtype " + Quote(name) + "; expected one of " +
                              common::Join(names, ", "));
}

std::int64_t TensorView::numel() const {
  std::int64_t count = 1;
  for (const std::int64_t dim : shape) count *= dim;
  return count;
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return common::NotFoundError(path + ": no such file");
    return common::ErrnoToStatus(errno, path + ": cannot open");
  }
  struct stat st {};
  const int stat_rc = ::fstat(fd, &st);
  const int stat_errno = errno;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  void* mapping = MAP_FAILED;
  if (stat_rc == 0 && S_ISREG(st.st_mode) && size >= kLengthBytes) {
    mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file
  if (stat_rc != 0) return common::ErrnoToStatus(stat_errno, path + ": cannot stat");
  if (S_ISDIR(st.st_mode)) return InvalidArgumentError(path + ": is a directory, expected a file");
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + ": is not a regular file");
  if (size < kLengthBytes) {
    return InvalidArgumentError(path + ": file is " + std::to_string(size) +
                                " bytes, too short for the 8-byte header length");
  }
  if (mapping == MAP_FAILED) return common::ErrnoToStatus(map_errno, path + ": cannot map");

  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_ = mapping;  // unmapped by the destructor on every return below
  file->mapping_bytes_ = size;
  const auto* bytes = static_cast<const std::byte*>(mapping);

  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes, kLengthBytes);
  if (header_bytes > kMaxHeaderBytes) {
    return InvalidArgumentError(path + ": header length " + std::to_string(header_bytes) +
                                " exceeds the limit of " + std::to_string(kMaxHeaderBytes) +
                                " bytes");
  }
  if (header_bytes > size - kLengthBytes) {
    return InvalidArgumentError(path + ": header length " + std::to_string(header_bytes) +
                                " is past the end of the file (" + std::to_string(size) +
                                " bytes)");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(bytes + kLengthBytes),
                                     header_bytes);
  const std::byte* data = bytes + kLengthBytes + header_bytes;
  const std::uint64_t data_bytes = size - kLengthBytes - header_bytes;

  StatusOr<Json> header = common::ParseJson(header_text, "", {kHeaderMaxDepth});
  if (!header.ok()) {
    return InvalidArgumentError(path + ": header is not valid JSON: " + header.status().message());
  }
  if (!header->is_object()) {
    return InvalidArgumentError(path + ": header must be a JSON object, found " +
                                ShowJson(*header));
  }
  std::vector<Entry> entries;
  entries.reserve(header->size());
  for (const auto& [name, value] : header->members()) {
    if (name == kMetadataKey) {
      GSPO_RETURN_IF_ERROR(ParseMetadata(path, value, &file->metadata_));
      continue;
    }
    GSPO_RETURN_IF_ERROR(ParseEntry(path, name, value, data_bytes, &entries.emplace_back()));
  }
  GSPO_RETURN_IF_ERROR(CheckDisjoint(path, entries));

  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.view.name < b.view.name; });
  file->tensors_.reserve(entries.size());
  for (Entry& entry : entries) {
    entry.view.data = data + entry.begin;
    file->by_name_.emplace(entry.view.name, file->tensors_.size());
    file->tensors_.push_back(std::move(entry.view));
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() { Unmap(); }

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept { *this = std::move(other); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
    tensors_ = std::move(other.tensors_);
    by_name_ = std::move(other.by_name_);
    metadata_ = std::move(other.metadata_);
  }
  return *this;
}

void SafetensorsFile::Unmap() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_bytes_);
  mapping_ = nullptr;
  mapping_bytes_ = 0;
}

const TensorView* SafetensorsFile::Find(std::string_view name) const {
  const auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace gspo::engine
