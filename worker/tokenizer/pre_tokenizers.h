// Pre-tokenizers: tokenizer.json's "pre_tokenizer", which cuts normalized text into the words
// the model encodes one by one (Split, ByteLevel, Metaspace, Digits, Whitespace,
// WhitespaceSplit, Punctuation, CharDelimiterSplit, Sequence), as Hugging Face's
// PreTokenizedString::split does: every step works on each current piece and drops empty ones.
//
// Immutable after construction; PreTokenize is const and safe to call from many threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/json_util.h"

namespace gspo::tokenizer {

struct PreToken {
  std::string text;
  // The piece starts at offset 0 of the original input (Metaspace's prepend_scheme "first").
  bool at_origin = false;
  // Its first character lines up with its start in the original (false once a normalizer
  // removed leading characters); a split starting at 0 inherits at_origin only when true.
  bool start_aligned = true;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces *pieces by their splits, in order; empty splits are dropped.
  virtual void PreTokenize(std::vector<PreToken>* pieces) const = 0;
};

common::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizerFromJson(const common::Json& json,
                                                                     const JsonContext& context);

}  // namespace gspo::tokenizer
