#include "worker/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "common/json.h"
#include "worker/tokenizer/pre_tokenizers.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

using Pair = std::pair<std::string, std::string>;

struct Word {
  std::vector<std::string> symbols;  // byte-level characters, merged as training goes
  std::int64_t count = 0;
};

// The UTF-8 characters of a byte-level string: each is one byte of the original text.
std::vector<std::string> SplitCharacters(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = 1;
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead >= 0xF0)
      n = 4;
    else if (lead >= 0xE0)
      n = 3;
    else if (lead >= 0xC0)
      n = 2;
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

// The pre-tokenizer of the file this trainer writes, so training splits text exactly as
// encoding will.
common::StatusOr<std::unique_ptr<PreTokenizer>> ByteLevelPreTokenizer() {
  GSPO_ASSIGN_OR_RETURN(common::Json json,
                        common::ParseJson(R"({"type":"ByteLevel","add_prefix_space":false,)"
                                          R"("trim_offsets":true,"use_regex":true})",
                                          "byte-level pre-tokenizer"));
  return PreTokenizerFromJson(json, JsonContext{"bpe trainer", "pre_tokenizer"});
}

std::map<Pair, std::int64_t> CountPairs(const std::vector<Word>& words) {
  std::map<Pair, std::int64_t> counts;
  for (const Word& w : words) {
    for (std::size_t i = 0; i + 1 < w.symbols.size(); ++i)
      counts[{w.symbols[i], w.symbols[i + 1]}] += w.count;
  }
  return counts;
}

void ApplyMerge(const Pair& pair, std::vector<Word>* words) {
  const std::string joined = pair.first + pair.second;
  for (Word& w : *words) {
    std::vector<std::string> out;
    out.reserve(w.symbols.size());
    for (std::size_t i = 0; i < w.symbols.size(); ++i) {
      if (i + 1 < w.symbols.size() && w.symbols[i] == pair.first &&
          w.symbols[i + 1] == pair.second) {
        out.push_back(joined);
        ++i;
      } else {
        out.push_back(w.symbols[i]);
      }
    }
    w.symbols = std::move(out);
  }
}

std::string JsonList(const std::vector<std::string>& items, const std::string& indent) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i ? ",\n" : "\n") + indent + "  " + items[i];
  }
  return out + (items.empty() ? "]" : "\n" + indent + "]");
}

}  // namespace

common::StatusOr<BpeVocabulary> TrainByteLevelBpe(const std::vector<std::string>& texts,
                                                  const BpeTrainerOptions& options) {
  const int fixed = 256 + static_cast<int>(options.special_tokens.size());
  if (options.vocab_size < fixed) {
    return common::InvalidArgumentError("vocab_size: expected at least " + std::to_string(fixed) +
                                        " (256 bytes + special tokens), got " +
                                        std::to_string(options.vocab_size));
  }
  if (options.min_frequency < 1) {
    return common::InvalidArgumentError("min_frequency: expected at least 1, got " +
                                        std::to_string(options.min_frequency));
  }
  std::set<std::string> seen_special;
  for (const std::string& s : options.special_tokens) {
    if (s.empty() || !seen_special.insert(s).second) {
      return common::InvalidArgumentError(
          "special_tokens: expected distinct non-empty tokens, got '" + s + "'");
    }
  }
  GSPO_ASSIGN_OR_RETURN(auto pre_tokenizer, ByteLevelPreTokenizer());
  std::map<std::string, std::int64_t> word_counts;
  for (const std::string& text : texts) {
    std::vector<PreToken> pieces = {PreToken{text, true, true}};
    pre_tokenizer->PreTokenize(&pieces);
    for (const PreToken& piece : pieces) ++word_counts[piece.text];
  }
  std::vector<Word> words;
  words.reserve(word_counts.size());
  for (const auto& [text, count] : word_counts) words.push_back({SplitCharacters(text), count});

  BpeVocabulary vocab;
  for (int b = 0; b < 256; ++b)
    vocab.tokens.push_back(ByteToUnicode(static_cast<unsigned char>(b)));
  vocab.tokens.insert(vocab.tokens.end(), options.special_tokens.begin(),
                      options.special_tokens.end());
  vocab.num_special = static_cast<int>(options.special_tokens.size());
  std::set<std::string> known(vocab.tokens.begin(), vocab.tokens.end());
  while (static_cast<int>(vocab.tokens.size()) < options.vocab_size) {
    const std::map<Pair, std::int64_t> counts = CountPairs(words);
    // The map is ordered by (left, right), so the first maximum is the tie-break winner.
    auto best = counts.end();
    for (auto it = counts.begin(); it != counts.end(); ++it) {
      if (best == counts.end() || it->second > best->second) best = it;
    }
    if (best == counts.end() || best->second < options.min_frequency) break;
    const Pair pair = best->first;
    ApplyMerge(pair, &words);
    vocab.merges.push_back(pair);
    // A merged string may already be a token (two different merges can spell it).
    if (known.insert(pair.first + pair.second).second)
      vocab.tokens.push_back(pair.first + pair.second);
  }
  return vocab;
}

std::string ByteLevelBpeJson(const BpeVocabulary& vocabulary) {
  const auto quote = [](std::string_view s) { return common::QuoteJsonString(s); };
  std::vector<std::string> added, entries, merges;
  for (int i = 0; i < vocabulary.num_special; ++i) {
    added.push_back("{\"id\": " + std::to_string(256 + i) +
                    ", \"content\": " + quote(vocabulary.tokens[256 + i]) +
                    ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                    "\"normalized\": false, \"special\": true}");
  }
  // Special tokens are in the model's vocabulary too: an added token that the vocabulary lacks
  // would be numbered after it, not at 256.
  for (std::size_t id = 0; id < vocabulary.tokens.size(); ++id) {
    entries.push_back(quote(vocabulary.tokens[id]) + ": " + std::to_string(id));
  }
  for (const auto& [left, right] : vocabulary.merges) merges.push_back(quote(left + " " + right));
  std::string vocab_object = "{";
  for (std::size_t i = 0; i < entries.size(); ++i)
    vocab_object += (i ? ",\n    " : "\n    ") + entries[i];
  vocab_object += "\n  }";
  const std::string byte_level =
      R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})";
  return "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
         "  \"added_tokens\": " +
         JsonList(added, "  ") +
         ",\n"
         "  \"normalizer\": null,\n"
         "  \"pre_tokenizer\": " +
         byte_level +
         ",\n"
         "  \"post_processor\": " +
         R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false})" +
         ",\n"
         "  \"decoder\": " +
         byte_level +
         ",\n"
         "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
         "\"continuing_subword_prefix\": \"\", \"end_of_word_suffix\": \"\", \"fuse_unk\": false, "
         "\"byte_fallback\": false, \"ignore_merges\": false,\n  \"vocab\": " +
         vocab_object + ",\n  \"merges\": " + JsonList(merges, "  ") + "}\n}\n";
}

}  // namespace gspo::tokenizer
