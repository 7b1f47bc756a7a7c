// Post-processors: tokenizer.json's "post_processor", which adds the special tokens of a single
// sequence when Encode is asked to (TemplateProcessing, BertProcessing, RobertaProcessing,
// ByteLevel (which changes no ids), Sequence). Pair templates are not used by this project.
//
// Immutable after construction; Process is const and safe to call from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "worker/tokenizer/json_util.h"

namespace gspo::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites the ids of one encoded sequence; called only with add_special_tokens.
  virtual void Process(std::vector<std::int32_t>* ids) const = 0;
};

common::StatusOr<std::unique_ptr<PostProcessor>> PostProcessorFromJson(const common::Json& json,
                                                                       const JsonContext& context);

}  // namespace gspo::tokenizer
