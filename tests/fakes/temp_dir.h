// ScopedTempDir: a fresh, uniquely named directory for one test, removed with its contents when
// the object is destroyed.
//
// Owns the directory on disk; not copyable. Not thread-safe, but the path may be read by any
// thread while the object lives.
#ifndef GSPO_TESTS_FAKES_TEMP_DIR_H_
#define GSPO_TESTS_FAKES_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace gspo::testing {

class ScopedTempDir {
 public:
  // Created under `parent`, or under $TMPDIR (else /tmp) when `parent` is empty. Aborts the
  // test binary when the directory cannot be made: no test could run meaningfully without it.
  explicit ScopedTempDir(const std::string& parent = "");
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace gspo::testing

#endif  // GSPO_TESTS_FAKES_TEMP_DIR_H_
