// WordCache: remembers the BPE ids of recently seen words so that repeated words skip merging.
//
// Thread-safe: 64 shards, each a mutex-protected hash map; a shard that fills up is emptied
// (cheap, and the cache only ever holds results that merging would reproduce exactly).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "worker/tokenizer/flat_hash.h"

namespace gspo::tokenizer {

class WordCache {
 public:
  static constexpr std::size_t kMaxWordBytes = 256;

  explicit WordCache(std::size_t capacity) : per_shard_(capacity / kShards + 1) {}

  // Appends the cached ids of `word` to *ids; false when absent.
  bool Find(std::string_view word, std::vector<std::int32_t>* ids) const {
    if (word.size() > kMaxWordBytes) return false;
    const std::uint64_t hash = HashBytes(word);
    Shard& shard = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(shard.mutex);
    const auto it = shard.map.find(hash);
    if (it == shard.map.end() || it->second.word != word) return false;
    ids->insert(ids->end(), it->second.ids.begin(), it->second.ids.end());
    return true;
  }

  void Insert(std::string_view word, const std::int32_t* ids, std::size_t count) const {
    if (word.size() > kMaxWordBytes) return;
    const std::uint64_t hash = HashBytes(word);
    Shard& shard = shards_[hash % kShards];
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.map.size() >= per_shard_) shard.map.clear();
    Entry& entry = shard.map[hash];
    entry.word.assign(word);
    entry.ids.assign(ids, ids + count);
  }

 private:
  static constexpr std::size_t kShards = 64;
  struct Entry {
    std::string word;
    std::vector<std::int32_t> ids;
  };
  struct alignas(64) Shard {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, Entry> map;
  };

  std::size_t per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace gspo::tokenizer
