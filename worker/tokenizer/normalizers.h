// Normalizers: the text rewriting of tokenizer.json's "normalizer" (NFC/NFD/NFKC/NFKD,
// Lowercase, Replace, Prepend, Strip, StripAccents, ByteLevel, Sequence), with the semantics of
// Hugging Face's NormalizedString operations.
//
// Immutable after construction; Normalize is const and safe to call from many threads.
#pragma once

#include <memory>
#include <string>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/json_util.h"

namespace gspo::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites valid UTF-8 `text`. Sets *start_moved when characters at the very start were
  // removed, so that the first character no longer lines up with the start of the original
  // text (which Metaspace's prepend_scheme "first" looks at).
  virtual void Normalize(std::string* text, bool* start_moved) const = 0;
};

// Errors name the component, e.g. "tokenizer.json: normalizer: unknown type 'Foo'".
common::StatusOr<std::unique_ptr<Normalizer>> NormalizerFromJson(const common::Json& json,
                                                                 const JsonContext& context);

}  // namespace gspo::tokenizer
