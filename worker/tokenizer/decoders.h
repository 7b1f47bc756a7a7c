// Decoders: tokenizer.json's "decoder", turning token strings back into text (ByteLevel,
// Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder, Sequence) exactly as Hugging Face's
// decode_chain does; the final text is the concatenation of what the chain returns. Invalid
// UTF-8 from byte tokens becomes U+FFFD: ByteLevel as String::from_utf8_lossy does, ByteFallback
// one U+FFFD per byte token of a run that is not valid UTF-8 as a whole.
//
// Immutable after construction; DecodeChain is const and safe to call from many threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/json_util.h"

namespace gspo::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Rewrites the list of token strings (a step may join or split them).
  virtual void DecodeChain(std::vector<std::string>* tokens) const = 0;
};

common::StatusOr<std::unique_ptr<Decoder>> DecoderFromJson(const common::Json& json,
                                                           const JsonContext& context);

}  // namespace gspo::tokenizer
