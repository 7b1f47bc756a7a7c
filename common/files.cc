#include "common/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace gspo::common {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;

// strerror_r has a GNU and an XSI form; overloads accept whichever one the C library provides.
[[maybe_unused]] const char* StrerrorResult(int rc, const char* buf) {
  return rc == 0 ? buf : "unknown error";
}
[[maybe_unused]] const char* StrerrorResult(const char* result, const char* /*buf*/) {
  return result;
}

std::string ErrnoText(int errno_value) {
  char buf[256] = {0};
  return StrerrorResult(strerror_r(errno_value, buf, sizeof(buf)), buf);
}

StatusCode CodeForErrno(int errno_value) {
  switch (errno_value) {
    case ENOENT:
    case ENOTDIR:
    case ENXIO:
    case ENODEV:
      return StatusCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EFBIG:
      return StatusCode::kResourceExhausted;
    case EEXIST:
      return StatusCode::kAlreadyExists;
    case EINVAL:
    case EISDIR:
    case ENAMETOOLONG:
    case ELOOP:
      return StatusCode::kInvalidArgument;
    case EAGAIN:
    case EINTR:
    case EBUSY:
      return StatusCode::kUnavailable;
    case ETIMEDOUT:
      return StatusCode::kDeadlineExceeded;
    default:
      return StatusCode::kInternal;
  }
}

// Closes a descriptor on every return path.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  // Closes now so the caller can see close's own error (which may report a failed write).
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// `exact` is false when all we know is that the file went past the limit while being read.
Status TooLargeError(const std::string& path, std::uint64_t size, std::uint64_t limit, bool exact) {
  std::string size_text = HumanBytes(size);
  std::string limit_text = HumanBytes(limit);
  // Rounding can make a file just over the limit look equal to it; fall back to bytes then.
  if (exact && size_text == limit_text) {
    size_text = std::to_string(size) + " bytes";
    limit_text = std::to_string(limit) + " bytes";
  }
  return InvalidArgumentError(path + ": file is " + (exact ? "" : "more than ") + size_text +
                              "; the limit is " + limit_text);
}

}  // namespace

Status ErrnoToStatus(int errno_value, std::string_view message) {
  return Status(CodeForErrno(errno_value), std::string(message) + ": " + ErrnoText(errno_value));
}

StatusOr<std::string> ReadFileToString(const std::string& path, std::size_t max_bytes) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFoundError(path + ": no such file");
    return ErrnoToStatus(errno, path + ": cannot open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoToStatus(errno, path + ": cannot stat");
  if (S_ISDIR(st.st_mode)) return InvalidArgumentError(path + ": is a directory, expected a file");

  const bool regular = S_ISREG(st.st_mode);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (regular && size > max_bytes) return TooLargeError(path, size, max_bytes, /*exact=*/true);

  // Read at most one byte past the limit: enough to know the file is too large.
  const std::size_t cap =
      max_bytes == std::numeric_limits<std::size_t>::max() ? max_bytes : max_bytes + 1;
  const std::size_t expected = regular ? static_cast<std::size_t>(size) : 0;
  std::string out;
  std::size_t used = 0;
  while (used < cap) {
    // A regular file is read in one call plus one to see EOF; anything else in chunks.
    const std::size_t want =
        std::min(cap - used, std::max(kReadChunk, expected >= used ? expected - used + 1 : 0));
    out.resize(used + want);
    const ssize_t n = ::read(fd.get(), out.data() + used, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, path + ": read failed");
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  out.resize(used);
  if (used > max_bytes) {
    // The file grew after fstat, or has no size of its own (a pipe, a device).
    struct stat now {};
    if (regular && ::fstat(fd.get(), &now) == 0 &&
        static_cast<std::uint64_t>(now.st_size) > max_bytes) {
      return TooLargeError(path, static_cast<std::uint64_t>(now.st_size), max_bytes,
                           /*exact=*/true);
    }
    return TooLargeError(path, max_bytes, max_bytes, /*exact=*/false);
  }
  return out;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  if (path.empty()) return InvalidArgumentError("cannot write a file with an empty path");
  if (IsDirectory(path)) return InvalidArgumentError(path + ": is a directory, expected a file");

  const std::string dir = DirName(path);
  mode_t mode = 0644;
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) mode = existing.st_mode & 07777;

  // Same directory, hence same filesystem, so the rename below is atomic.
  std::string temp = JoinPath(dir, "." + BaseName(path) + ".tmp.XXXXXX");
  ScopedFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFoundError(path + ": directory " + dir + " does not exist");
    }
    return ErrnoToStatus(errno, path + ": cannot create a temporary file in " + dir);
  }

  auto fail = [&temp](Status status) {
    ::unlink(temp.c_str());
    return status;
  };
  if (::fchmod(fd.get(), mode) != 0) return fail(ErrnoToStatus(errno, path + ": cannot chmod"));
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrnoToStatus(errno, path + ": write failed"));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(ErrnoToStatus(errno, path + ": fsync failed"));
  if (fd.Close() != 0) return fail(ErrnoToStatus(errno, path + ": close failed"));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return fail(ErrnoToStatus(errno, path + ": cannot replace"));
  }

  // Makes the rename itself durable. The new contents are already in place, so a failure here
  // is not reported: the caller could do nothing about it.
  ScopedFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return Status::Ok();
}

std::string HumanBytes(std::uint64_t bytes) {
  if (bytes == 1) return "1 byte";
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  constexpr int kLastUnit = 5;
  int unit = 0;
  double value = static_cast<double>(bytes) / 1024.0;
  while (value >= 1024.0 && unit < kLastUnit) {
    value /= 1024.0;
    ++unit;
  }
  auto tenths = static_cast<std::uint64_t>(std::llround(value * 10.0));
  // 1023.96 KiB would print as "1024 KiB"; say "1 MiB" instead.
  if (tenths >= 10240 && unit < kLastUnit) {
    tenths = 10;
    ++unit;
  }
  std::string out = std::to_string(tenths / 10);
  if (tenths % 10 != 0) {
    out.push_back('.');
    out.push_back(static_cast<char>('0' + tenths % 10));
  }
  out.push_back(' ');
  out += kUnits[unit];
  return out;
}

bool PathExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  if (b.front() == '/') return std::string(b);
  std::string out(a);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

std::string DirName(std::string_view path) {
  if (path.empty()) return ".";
  std::size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  std::size_t slash = path.rfind('/', end - 1);
  if (slash == std::string_view::npos) return ".";
  while (slash > 0 && path[slash - 1] == '/') --slash;
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const std::size_t slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

Status MakeDirectories(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("cannot create a directory with an empty path");
  std::string prefix;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    prefix = path.substr(0, i);
    if (prefix.empty() || IsDirectory(prefix)) continue;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoToStatus(errno, prefix + ": cannot create directory");
    }
  }
  return IsDirectory(path) ? Status::Ok()
                           : FailedPreconditionError(path + ": exists and is not a directory");
}

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : ErrnoToStatus(errno, path + ": cannot remove");
  }
  // Depth first, not following links, staying on one file system.
  const auto remove_one = [](const char* entry, const struct stat*, int, struct FTW*) {
    return ::remove(entry) == 0 ? 0 : -1;
  };
  if (::nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0) {
    return ErrnoToStatus(errno, path + ": cannot remove");
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return ErrnoToStatus(errno, path + ": cannot list directory");
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace gspo::common
