// WriteSafetensors (safetensors.h): validates the views, lays out the file and streams it into a
// temporary file that replaces the target only when complete.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "common/files.h"
#include "common/json.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_internal.h"

namespace gspo::engine {
namespace {

using common::InvalidArgumentError;
using common::Json;
using common::Status;
using safetensors_internal::Quote;
using safetensors_internal::ShowShape;

// The header is padded so that the data, and with it every tensor, starts 8-byte aligned.
constexpr std::size_t kAlignment = 8;

std::string BaseName(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

Status WriteAll(int fd, const void* data, std::size_t size, const std::string& path) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return common::ErrnoToStatus(errno, path + ": write failed");
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status CheckViews(const std::string& path, const std::vector<TensorView>& tensors) {
  std::set<std::string_view> names;
  for (const TensorView& view : tensors) {
    const std::string where = path + ": tensor " + Quote(view.name) + ": ";
    if (view.name == "__metadata__") {
      return InvalidArgumentError(where + "the name is reserved for the metadata");
    }
    if (!names.insert(view.name).second) return InvalidArgumentError(where + "appears twice");
    const std::optional<std::int64_t> count =
        safetensors_internal::ElementCount(view.shape, view.dtype);
    if (!count) {
      return InvalidArgumentError(where + "shape " + ShowShape(view.shape) +
                                  " must be non-negative and not too large");
    }
    const std::uint64_t needed = static_cast<std::uint64_t>(*count) * DTypeSize(view.dtype);
    if (view.nbytes != needed) {
      return InvalidArgumentError(where + "shape " + ShowShape(view.shape) + " of " +
                                  DTypeName(view.dtype) + " needs " + std::to_string(needed) +
                                  " bytes, the view has " + std::to_string(view.nbytes));
    }
    if (view.nbytes > 0 && view.data == nullptr) return InvalidArgumentError(where + "no data");
  }
  return Status::Ok();
}

}  // namespace

Status WriteSafetensors(const std::string& path, const std::vector<TensorView>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  GSPO_RETURN_IF_ERROR(CheckViews(path, tensors));

  // Data order: larger elements first, then by name. Every size is a power of two no larger than
  // the alignment, so each tensor starts at a multiple of its own element size.
  std::vector<const TensorView*> order;
  order.reserve(tensors.size());
  for (const TensorView& view : tensors) order.push_back(&view);
  std::sort(order.begin(), order.end(), [](const TensorView* a, const TensorView* b) {
    const std::size_t size_a = DTypeSize(a->dtype);
    const std::size_t size_b = DTypeSize(b->dtype);
    return size_a != size_b ? size_a > size_b : a->name < b->name;
  });
  std::map<std::string_view, Json> entries;  // header order: by name
  std::uint64_t offset = 0;
  for (const TensorView* view : order) {
    std::vector<Json> shape;
    for (const std::int64_t dim : view->shape) shape.push_back(Json::Integer(dim));
    const auto begin = static_cast<std::int64_t>(offset);
    offset += view->nbytes;
    entries.emplace(
        view->name,
        Json::Object({
            {"dtype", Json::String(DTypeName(view->dtype))},
            {"shape", Json::Array(std::move(shape))},
            {"data_offsets",
             Json::Array({Json::Integer(begin), Json::Integer(static_cast<std::int64_t>(offset))})},
        }));
  }
  std::vector<Json::Member> members;
  members.reserve(entries.size() + 1);
  if (!metadata.empty()) {
    std::vector<Json::Member> strings;
    strings.reserve(metadata.size());
    for (const auto& [key, value] : metadata) strings.emplace_back(key, Json::String(value));
    members.emplace_back("__metadata__", Json::Object(std::move(strings)));
  }
  for (auto& [name, entry] : entries) members.emplace_back(std::string(name), std::move(entry));
  std::string header = common::WriteJson(Json::Object(std::move(members)));
  header.resize((header.size() + kAlignment - 1) / kAlignment * kAlignment, ' ');
  const std::uint64_t header_bytes = header.size();  // little-endian on disk, as in memory

  if (path.empty()) return InvalidArgumentError("cannot write a file with an empty path");
  if (common::IsDirectory(path)) {
    return InvalidArgumentError(path + ": is a directory, expected a file");
  }
  // Same directory, hence same filesystem, so the rename below is atomic.
  const std::string dir = common::DirName(path);
  std::string temp = common::JoinPath(dir, "." + BaseName(path) + ".tmp.XXXXXX");
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return common::ErrnoToStatus(errno, path + ": cannot create a temporary file");
  const auto fail = [&](Status status) {
    ::close(fd);
    ::unlink(temp.c_str());
    return status;
  };
  mode_t mode = 0644;
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) mode = existing.st_mode & 07777;
  if (::fchmod(fd, mode) != 0) return fail(common::ErrnoToStatus(errno, path + ": cannot chmod"));
  Status status = WriteAll(fd, &header_bytes, sizeof(header_bytes), path);
  if (status.ok()) status = WriteAll(fd, header.data(), header.size(), path);
  for (const TensorView* view : order) {
    if (status.ok()) status = WriteAll(fd, view->data, view->nbytes, path);
  }
  if (!status.ok()) return fail(status);
  if (::fsync(fd) != 0) return fail(common::ErrnoToStatus(errno, path + ": fsync failed"));
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    return common::ErrnoToStatus(errno, path + ": close failed");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status renamed = common::ErrnoToStatus(errno, path + ": cannot replace");
    ::unlink(temp.c_str());
    return renamed;
  }
  // Makes the rename durable; the file is complete either way, so a failure is not reported.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::Ok();
}

}  // namespace gspo::engine
