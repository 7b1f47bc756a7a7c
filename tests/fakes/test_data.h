// Where the large test inputs that are fetched rather than committed live (real tokenizer
// files: scripts/fetch-test-tokenizers.sh). Tests that need them fail, never skip, when absent.
#pragma once

#include <cstdlib>
#include <string>

namespace gspo::testing {

// $GSPO_TEST_DATA/tokenizers/<name>, default ~/.cache/gspo/test-data/tokenizers/<name>.
inline std::string TestTokenizerDir(const std::string& name) {
  const char* root = std::getenv("GSPO_TEST_DATA");
  std::string base;
  if (root != nullptr && *root != '\0') {
    base = root;
  } else {
    const char* cache = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    base = (cache != nullptr && *cache != '\0') ? std::string(cache) + "/gspo/test-data"
                                                : std::string(home ? home : "") + "/.cache/gspo/test-data";
  }
  return base + "/tokenizers/" + name;
}

}  // namespace gspo::testing
