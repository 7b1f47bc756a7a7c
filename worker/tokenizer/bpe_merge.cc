// BpeModel's merging: the initial symbols of a word, then the lowest-rank merges.
#include <algorithm>
#include <limits>

#include "worker/tokenizer/bpe_model.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

// Words of at most this many symbols are merged by scanning; longer ones through a heap.
constexpr std::size_t kSmallWord = 24;
constexpr std::uint32_t kNoMerge = std::numeric_limits<std::uint32_t>::max();

struct Candidate {
  std::uint32_t rank;
  std::int32_t pos;
  std::int32_t id;
  // std heap functions keep the largest first; the lowest rank, then leftmost, must win.
  bool operator<(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : pos > other.pos;
  }
};

}  // namespace

void BpeModel::MergeWord(std::string_view word, std::vector<std::int32_t>* ids) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::string affixed;
  symbols.clear();
  const auto add = [](std::int32_t id, std::uint32_t length) {
    symbols.push_back({id, -1, -1, length});
  };
  const bool affixes = !prefix_.empty() || !suffix_.empty();
  std::int32_t unk_pending = -1;
  std::uint32_t unk_length = 0;
  std::size_t pos = 0;
  while (pos < word.size()) {
    const std::size_t start = pos;
    const char32_t cp = NextChar(word, &pos);
    const auto length = static_cast<std::uint32_t>(pos - start);
    const std::string_view text = word.substr(start, length);
    std::int32_t id;
    std::string_view piece = text;
    if (affixes) {
      affixed.clear();
      if (start > 0) affixed.append(prefix_);
      affixed.append(text);
      if (pos == word.size()) affixed.append(suffix_);
      piece = affixed;
      id = vocab_.Find(piece);
    } else {
      id = CharId(cp, text);
    }
    if (id >= 0) {
      if (unk_pending >= 0) {
        add(unk_pending, unk_length);
        unk_pending = -1;
      }
      add(id, length);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (const char c : piece)
        all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes) {
        // As in Hugging Face, a pending unk waits until after these byte tokens.
        for (const char c : piece) add(byte_ids_[static_cast<unsigned char>(c)], 1);
        continue;
      }
    }
    if (unk_id_ < 0) continue;  // Without an unk token the character is dropped.
    if (unk_pending >= 0 && fuse_unk_) {
      unk_length += length;
    } else {
      if (unk_pending >= 0) add(unk_pending, unk_length);
      unk_pending = unk_id_;
      unk_length = length;
    }
  }
  if (unk_pending >= 0) add(unk_pending, unk_length);

  if (symbols.size() <= kSmallWord) {
    MergeSmall(&symbols);
    for (const Symbol& symbol : symbols) ids->push_back(symbol.id);
  } else {
    MergeLarge(&symbols);
    for (const Symbol& symbol : symbols) {
      if (symbol.length != 0) ids->push_back(symbol.id);
    }
  }
}

// Quadratic but allocation-free and cache-friendly for the common short word: the rank of each
// adjacent pair is kept in an array, the lowest (leftmost on ties) is merged, and only the two
// pairs around the merge are looked up again.
void BpeModel::MergeSmall(std::vector<Symbol>* symbols_ptr) const {
  std::vector<Symbol>& symbols = *symbols_ptr;
  std::size_t n = symbols.size();
  if (n < 2) return;
  std::uint32_t ranks[kSmallWord];
  std::int32_t merged[kSmallWord];
  const auto lookup = [&](std::size_t i) {
    const PairMap::Entry* entry = merges_.Find(PairMap::Key(symbols[i].id, symbols[i + 1].id));
    ranks[i] = entry == nullptr ? kNoMerge : entry->rank;
    merged[i] = entry == nullptr ? -1 : entry->id;
  };
  for (std::size_t i = 0; i + 1 < n; ++i) lookup(i);
  while (n > 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i] < ranks[best]) best = i;
    }
    if (ranks[best] == kNoMerge) break;
    symbols[best].id = merged[best];
    symbols[best].length += symbols[best + 1].length;
    symbols.erase(symbols.begin() + best + 1);
    for (std::size_t i = best + 1; i + 2 < n; ++i) {
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best > 0) lookup(best - 1);
    if (best + 1 < n) lookup(best);
  }
}

// Hugging Face's algorithm: a doubly linked list of symbols and a heap of candidate merges;
// stale candidates (whose pair changed since) are recognised and skipped when popped.
void BpeModel::MergeLarge(std::vector<Symbol>* symbols_ptr) const {
  std::vector<Symbol>& symbols = *symbols_ptr;
  const auto n = static_cast<std::int32_t>(symbols.size());
  for (std::int32_t i = 0; i < n; ++i) {
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }
  thread_local std::vector<Candidate> heap;
  heap.clear();
  const auto push = [&](std::int32_t pos) {
    const Symbol& left = symbols[pos];
    if (left.next < 0) return;
    const PairMap::Entry* entry = merges_.Find(PairMap::Key(left.id, symbols[left.next].id));
    if (entry == nullptr) return;
    heap.push_back({entry->rank, pos, entry->id});
    std::push_heap(heap.begin(), heap.end());
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) {
    const PairMap::Entry* entry = merges_.Find(PairMap::Key(symbols[i].id, symbols[i + 1].id));
    if (entry != nullptr) heap.push_back({entry->rank, i, entry->id});
  }
  std::make_heap(heap.begin(), heap.end());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.length == 0 || left.next < 0) continue;
    const Symbol right = symbols[left.next];
    const PairMap::Entry* entry = merges_.Find(PairMap::Key(left.id, right.id));
    if (entry == nullptr || entry->id != top.id) continue;  // stale
    symbols[left.next].length = 0;
    left.id = top.id;
    left.length += right.length;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }
}

}  // namespace gspo::tokenizer
