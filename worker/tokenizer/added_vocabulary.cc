#include "worker/tokenizer/added_vocabulary.h"

#include <algorithm>

#include "common/strings.h"
#include "worker/tokenizer/bpe_model.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

// The character before byte offset `end` of valid UTF-8 `text` (end > 0).
char32_t CharBefore(std::string_view text, std::size_t end, std::size_t* start) {
  std::size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  *start = i;
  std::size_t pos = i;
  return NextChar(text, &pos);
}

// Start of the whitespace run that ends at `end` (Hugging Face's \s*$ on text[..end]).
std::size_t WhitespaceRunStart(std::string_view text, std::size_t end) {
  while (end > 0) {
    std::size_t start;
    if (!IsWhitespace(CharBefore(text, end, &start))) break;
    end = start;
  }
  return end;
}

// End of the whitespace run that starts at `start` (^\s* on text[start..]).
std::size_t WhitespaceRunEnd(std::string_view text, std::size_t start) {
  while (start < text.size()) {
    std::size_t next = start;
    if (!IsWhitespace(NextChar(text, &next))) break;
    start = next;
  }
  return start;
}

}  // namespace

AddedVocabulary::Trie::Trie() { std::fill(std::begin(root_), std::end(root_), -1); }

void AddedVocabulary::Trie::Insert(std::string_view pattern, std::int32_t value) {
  std::int32_t node = 0;
  for (const char c : pattern) {
    const auto byte = static_cast<unsigned char>(c);
    std::int32_t child;
    if (node == 0) {
      child = root_[byte];
    } else {
      const PairMap::Entry* entry = children_.Find((static_cast<std::uint64_t>(node) << 8) | byte);
      child = entry == nullptr ? -1 : entry->id;
    }
    if (child < 0) {
      child = static_cast<std::int32_t>(terminal_.size());
      terminal_.push_back(-1);
      if (node == 0) {
        root_[byte] = child;
      } else {
        children_.Set((static_cast<std::uint64_t>(node) << 8) | byte, 0, child);
      }
    }
    node = child;
  }
  terminal_[node] = value;
}

bool AddedVocabulary::Trie::FindFrom(std::string_view text, std::size_t from, std::size_t* start,
                                     std::size_t* end, std::int32_t* value) const {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t pos = from; pos < text.size(); ++pos) {
    std::int32_t node = root_[bytes[pos]];
    if (node < 0) continue;
    std::size_t best_end = 0;
    std::int32_t best = -1;
    std::size_t i = pos + 1;
    while (true) {
      if (terminal_[node] >= 0) {
        best = terminal_[node];
        best_end = i;
      }
      if (i >= text.size()) break;
      const PairMap::Entry* entry =
          children_.Find((static_cast<std::uint64_t>(node) << 8) | bytes[i]);
      if (entry == nullptr) break;
      node = entry->id;
      ++i;
    }
    if (best >= 0) {
      *start = pos;
      *end = best_end;
      *value = best;
      return true;
    }
  }
  return false;
}

common::Status AddedVocabulary::Add(const AddedToken& token, const BpeModel& model,
                                    const Normalizer* normalizer, const JsonContext& context) {
  if (next_id_ < 0) next_id_ = std::max(model.vocab_size(), id_end_);
  if (token.content.empty()) return common::Status::Ok();  // Hugging Face ignores these.
  std::int32_t id;
  const auto known = by_content_.find(token.content);
  const std::int32_t model_id = model.TokenToId(token.content);
  if (known != by_content_.end()) {
    id = tokens_[known->second].id;
  } else if (model_id >= 0) {
    id = model_id;
  } else {
    id = next_id_;
  }
  if (token.id != id) {
    const std::string quoted = common::QuoteForMessage(token.content);
    if (known != by_content_.end() || model_id >= 0) {
      return context.Error(quoted + " has id " + std::to_string(token.id) +
                           " but is already token " + std::to_string(id));
    }
    const AddedToken* taken = Find(token.id);
    const std::string* taken_model = model.IdToToken(token.id);
    if (taken != nullptr || taken_model != nullptr) {
      return context.Error(
          "id " + std::to_string(token.id) + " of " + quoted + " is already taken by " +
          common::QuoteForMessage(taken != nullptr ? taken->content : *taken_model));
    }
    return context.Error(quoted + " has id " + std::to_string(token.id) +
                         ", but new added tokens are numbered in order after the vocabulary: "
                         "expected " +
                         std::to_string(id));
  }
  if (id == next_id_) ++next_id_;

  std::string decode_form = token.content;
  if (token.normalized && normalizer != nullptr) {
    bool start_moved = false;
    normalizer->Normalize(&decode_form, &start_moved);
  }
  if (token.special) special_contents_.insert(token.content);
  const auto by_id = by_id_.find(id);
  if (by_id != by_id_.end()) {  // The same content again: its new properties win.
    tokens_[by_id->second] = token;
    decode_forms_[by_id->second] = std::move(decode_form);
  } else {
    by_id_.emplace(id, tokens_.size());
    by_content_.emplace(token.content, tokens_.size());
    tokens_.push_back(token);
    decode_forms_.push_back(std::move(decode_form));
  }
  id_end_ = std::max(id_end_, id + 1);
  return common::Status::Ok();
}

void AddedVocabulary::Finalize() {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].normalized) {
      // An empty normalized form can never match (Hugging Face's automaton skips it too).
      if (!decode_forms_[i].empty())
        normalized_.Insert(decode_forms_[i], static_cast<std::int32_t>(i));
    } else {
      raw_.Insert(tokens_[i].content, static_cast<std::int32_t>(i));
    }
  }
}

void AddedVocabulary::Split(std::string_view text, bool normalized,
                            std::vector<Segment>* out) const {
  out->clear();
  if (text.empty()) return;
  const Trie& trie = normalized ? normalized_ : raw_;
  std::size_t start_offset = 0;
  std::size_t search_from = 0;
  std::size_t start, stop;
  std::int32_t index;
  while (trie.FindFrom(text, search_from, &start, &stop, &index)) {
    search_from = stop;
    const AddedToken& token = tokens_[index];
    if (token.single_word) {
      std::size_t unused;
      const bool start_space = start == 0 || !IsWordChar(CharBefore(text, start, &unused));
      std::size_t after = stop;
      const bool stop_space = stop == text.size() || !IsWordChar(NextChar(text, &after));
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip) start = std::max(WhitespaceRunStart(text, start), start_offset);
    if (token.rstrip) stop = WhitespaceRunEnd(text, stop);
    if (start_offset < start) out->push_back({-1, start_offset, start});
    out->push_back({token.id, start, stop});
    start_offset = stop;
  }
  if (start_offset != text.size()) out->push_back({-1, start_offset, text.size()});
}

std::int32_t AddedVocabulary::TokenToId(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? -1 : tokens_[it->second].id;
}

const AddedToken* AddedVocabulary::Find(std::int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const std::string& AddedVocabulary::DecodeForm(const AddedToken& token) const {
  return decode_forms_[&token - tokens_.data()];
}

bool AddedVocabulary::IsSpecialContent(std::string_view text) const {
  return !special_contents_.empty() && special_contents_.count(std::string(text)) > 0;
}

}  // namespace gspo::tokenizer
