#include "tests/fakes/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "common/files.h"

namespace gspo::testing {

ScopedTempDir::ScopedTempDir(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* env = std::getenv("TMPDIR");
    base = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  std::string pattern = common::JoinPath(base, "gspo-test-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "ScopedTempDir: cannot create %s: %s\n", pattern.c_str(),
                 std::strerror(errno));
    std::abort();
  }
  path_ = pattern;
}

ScopedTempDir::~ScopedTempDir() {
  // Leftovers in a temp dir are not worth failing a test over.
  (void)common::RemoveTree(path_);
}

std::string ScopedTempDir::Join(std::string_view name) const {
  return common::JoinPath(path_, name);
}

}  // namespace gspo::testing
