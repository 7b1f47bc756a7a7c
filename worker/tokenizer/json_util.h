// Reading tokenizer.json components: typed field access whose errors name the file and the
// component's path in the document, e.g.
//   tokenizer.json: pre_tokenizer.pretokenizers[1]: unknown type 'Foo'
//
// JsonContext is a small value type; the functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/pattern.h"

namespace gspo::tokenizer {

struct JsonContext {
  std::string source;  // the file, as given to FromJson
  std::string path;    // e.g. "normalizer.normalizers[0]"

  // kInvalidArgument "<source>: <path>: <what>".
  common::Status Error(std::string_view what) const;
  JsonContext Child(std::string_view key) const;
  JsonContext Index(std::size_t index) const;
};

// The member `key` of `object`, or nullptr when it is absent or null.
const common::Json* FindField(const common::Json& object, std::string_view key);

// Absent or null fields give `fallback`; a value of another type is an error naming the field.
common::StatusOr<std::string> GetString(const common::Json& object, std::string_view key,
                                        const JsonContext& context, std::string fallback = "");
common::StatusOr<bool> GetBool(const common::Json& object, std::string_view key,
                               const JsonContext& context, bool fallback);
common::StatusOr<std::int64_t> GetInt(const common::Json& object, std::string_view key,
                                      const JsonContext& context, std::int64_t fallback);
// A field that must hold exactly one character.
common::StatusOr<char32_t> GetChar(const common::Json& object, std::string_view key,
                                   const JsonContext& context, char32_t fallback);
// The "type" string of a component object (required).
common::StatusOr<std::string> GetType(const common::Json& object, const JsonContext& context);

// The "pattern" field of Split and Replace: {"String": "..."} or {"Regex": "..."}.
common::StatusOr<Pattern> GetPattern(const common::Json& object, const JsonContext& context);

}  // namespace gspo::tokenizer
