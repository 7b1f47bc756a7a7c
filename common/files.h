// Small filesystem helpers with Status errors that always name the path involved.
//
// Free functions without shared state; safe to call from any thread (two threads writing the
// same path at once each succeed, and the file ends up holding one of the two contents whole).
#ifndef GSPO_COMMON_FILES_H_
#define GSPO_COMMON_FILES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include "common/status.h"

namespace gspo::common {

// Reads a whole file, refusing anything larger than `max_bytes` (checked before reading, and
// again while reading for files that grow or have no size, like pipes or /dev/zero).
// Errors: kNotFound "PATH: no such file"; kInvalidArgument "PATH: is a directory, expected a
// file" or "PATH: file is 3.2 MiB; the limit is 1 MiB"; kPermissionDenied or kInternal with the
// system's reason.
StatusOr<std::string> ReadFileToString(const std::string& path, std::size_t max_bytes);

// Replaces `path` with `contents` so that readers see either the old file or the new one, never
// a partial write: writes a temporary file beside it, fsyncs it, renames it over `path` and
// fsyncs the directory. An existing file keeps its permission bits; a new one gets 0644.
Status WriteFileAtomically(const std::string& path, std::string_view contents);

// "0 bytes", "1 byte", "1023 bytes", "1 KiB", "1.5 KiB", "3.2 MiB", "2 GiB": one decimal,
// dropped when it is zero.
std::string HumanBytes(std::uint64_t bytes);

bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);

// Directory helpers on POSIX calls. The project avoids std::filesystem: LibTorch wheels export
// their own copies of some of its symbols, and a process linking both can call into the wrong
// one (seen as a crash in std::filesystem::remove_all).

// mkdir -p: creates `path` and missing parents (mode 0755); OK when it already exists.
Status MakeDirectories(const std::string& path);
// rm -r: removes `path` and everything under it, without following symbolic links; OK when
// `path` does not exist.
Status RemoveTree(const std::string& path);
// The names in a directory (no "." or ".."), sorted.
StatusOr<std::vector<std::string>> ListDirectory(const std::string& path);

// "a" + "b" -> "a/b" with exactly one slash between; an absolute `b` wins ("a" + "/b" -> "/b"),
// as with paths that a job file gives relative to its own directory; an empty side yields the
// other.
std::string JoinPath(std::string_view a, std::string_view b);
// POSIX dirname: "a/b/c" -> "a/b", "a/b/" -> "a", "c" -> ".", "/c" -> "/", "" -> ".".
std::string DirName(std::string_view path);
// The last component of `path`, ignoring trailing slashes ("/models/gemma-2b/" -> "gemma-2b").
std::string BaseName(std::string_view path);

// A Status for a failed system call: "MESSAGE: <strerror>", with the code chosen by errno
// (ENOENT -> kNotFound, EACCES -> kPermissionDenied, ENOSPC -> kResourceExhausted, ...).
Status ErrnoToStatus(int errno_value, std::string_view message);

}  // namespace gspo::common

#endif  // GSPO_COMMON_FILES_H_
