// TrainByteLevelBpe: learns a small byte-level BPE vocabulary from a corpus, the kind of
// tokenizer GPT-2, Llama 3 and Qwen use, and writes it as a tokenizer.json that this project's
// loader and Hugging Face `tokenizers` both read.
//
//   texts ─▶ ByteLevel pre-tokenizer (GPT-2 regex, bytes as printable characters) ─▶ word counts
//        ─▶ repeat: count adjacent symbol pairs over all words (weighted by word count), merge
//           the most frequent pair everywhere ─▶ until the vocabulary is full or no pair occurs
//           at least min_frequency times
//
// Ties between equally frequent pairs go to the pair whose (left, right) strings sort first,
// so the result is a pure function of the corpus and the options.
// Vocabulary ids: the 256 byte characters (id = byte value), then the special tokens, then the
// merged tokens in merge order; that keeps the special ids fixed whatever the corpus.
// Stateless functions; safe from any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gspo::tokenizer {

struct BpeTrainerOptions {
  int vocab_size = 1024;                    // bytes + special tokens + merges, at most
  int min_frequency = 2;                    // a pair seen fewer times is never merged
  std::vector<std::string> special_tokens;  // added tokens, never split, never in the corpus
};

struct BpeVocabulary {
  std::vector<std::string> tokens;  // by id, in byte-level characters (special tokens as is)
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  int num_special = 0;  // special tokens sit at ids 256 .. 256 + num_special - 1
};

// kInvalidArgument for a vocab_size below 256 + special tokens, or min_frequency < 1.
common::StatusOr<BpeVocabulary> TrainByteLevelBpe(const std::vector<std::string>& texts,
                                                  const BpeTrainerOptions& options);

// tokenizer.json text: ByteLevel pre-tokenizer, post-processor and decoder, a BPE model with
// the vocabulary (special tokens included) and merges ("left right" strings), the special
// tokens also as added tokens.
std::string ByteLevelBpeJson(const BpeVocabulary& vocabulary);

}  // namespace gspo::tokenizer
