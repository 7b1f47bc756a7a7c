// SftTrainer: supervised fine-tuning (algorithm: sft), the warm start that teaches a model the
// domain before GSPO. Behind `gspo train` like GspoTrainer.
//
//   conversations ─▶ ids + assistant mask (EpisodeBuilder: the same chat rendering the rollout
//                    builds, each assistant turn = Encode(content) + end-of-turn id)
//   for step in [0, num_outer_iterations):
//     per_device_train_batch_size x gradient_accumulation_steps conversations (shuffled epochs)
//     ─▶ micro-batches ─▶ AssistantNll ─▶ backward(sum / step's assistant tokens)
//     ─▶ clip ─▶ AdamW ─▶ metrics.jsonl (loss, tokens, grad norm, lr)
//   final/merged (every weight) and final/adapter (with LoRA)
//
// With lora.use_lora the adapters train; without, every weight but the norms does (Gemma's
// norm scales are computed once at load, so the norms keep their loaded values). No checkpoints:
// a warm start is short. Borrows the model, tokenizer and format. Not thread-safe.
#pragma once

#include <vector>

#include "common/status.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/runner/sft_dataset.h"
#include "worker/runner/sft_loss.h"
#include "worker/runner/train_options.h"
#include "worker/tokenizer/chat_format.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::runner {

// A conversation as the chat template renders it: ids and which of them the assistant wrote.
struct SftExample {
  std::vector<std::int32_t> ids;
  std::vector<std::uint8_t> assistant_mask;
};

// kInvalidArgument "LINE: ..." when the template cannot render it or it is longer than
// `max_tokens`.
common::StatusOr<SftExample> TokenizeConversation(const SftConversation& conversation,
                                                  const tokenizer::Tokenizer& tokenizer,
                                                  const tokenizer::ChatFormat& format,
                                                  std::int64_t max_tokens,
                                                  const std::string& source_name);

// Right-padded tensors of `examples` (pad id 0, masked out).
SftBatch MakeSftBatch(const std::vector<const SftExample*>& examples);

class SftTrainer {
 public:
  SftTrainer(TrainOptions options, engine::DecoderModel* model,
             const tokenizer::Tokenizer* tokenizer, const tokenizer::ChatFormat* format,
             std::vector<SftConversation> conversations)
      : options_(std::move(options)),
        model_(model),
        tokenizer_(tokenizer),
        format_(format),
        conversations_(std::move(conversations)) {}

  common::Status Run(bool progress);

 private:
  TrainOptions options_;
  engine::DecoderModel* model_;
  const tokenizer::Tokenizer* tokenizer_;
  const tokenizer::ChatFormat* format_;
  std::vector<SftConversation> conversations_;
};

}  // namespace gspo::runner
