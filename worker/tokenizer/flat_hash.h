// Open-addressing hash tables for the tokenizer's hot paths: token string -> id (looked up by
// string_view, without building a std::string) and (left id, right id) -> BPE merge.
//
// Filled once while loading, then read-only: concurrent Find calls are safe, anything else
// needs external synchronisation. Both own their contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace gspo::tokenizer {

inline std::uint64_t MixHash(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

inline std::uint64_t HashBytes(std::string_view s) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0x100000001B3ull);
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t v;
    std::memcpy(&v, s.data() + i, 8);
    h = MixHash(h ^ v) + i;
  }
  std::uint64_t v = 0;
  std::memcpy(&v, s.data() + i, s.size() - i);
  return MixHash(h ^ v ^ (static_cast<std::uint64_t>(s.size() - i) << 59));
}

// string -> int32 id; keys live in one arena.
class StringIdMap {
 public:
  static constexpr std::int32_t kNotFound = -1;

  explicit StringIdMap(std::size_t expected = 16) {
    Rehash(Capacity(expected));
    arena_.reserve(expected * 8);
  }

  // False (and no change) when `key` is already present.
  bool Insert(std::string_view key, std::int32_t value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Rehash(slots_.size() * 2);
    const std::uint64_t hash = HashBytes(key);
    std::size_t i = hash & mask_;
    while (slots_[i].length != kEmpty) {
      if (slots_[i].hash == hash && KeyAt(slots_[i]) == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = {hash, static_cast<std::uint32_t>(arena_.size()),
                 static_cast<std::uint32_t>(key.size()), value};
    arena_.append(key);
    ++size_;
    return true;
  }

  std::int32_t Find(std::string_view key) const {
    const std::uint64_t hash = HashBytes(key);
    std::size_t i = hash & mask_;
    while (slots_[i].length != kEmpty) {
      if (slots_[i].hash == hash && KeyAt(slots_[i]) == key) return slots_[i].value;
      i = (i + 1) & mask_;
    }
    return kNotFound;
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    std::uint64_t hash;
    std::uint32_t offset;
    std::uint32_t length;
    std::int32_t value;
  };

  static std::size_t Capacity(std::size_t expected) {
    std::size_t capacity = 16;
    while (capacity * 3 < expected * 4 + 4) capacity *= 2;
    return capacity;
  }
  std::string_view KeyAt(const Slot& slot) const {
    return std::string_view(arena_).substr(slot.offset, slot.length);
  }
  void Rehash(std::size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{0, 0, kEmpty, 0});
    mask_ = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.length == kEmpty) continue;
      std::size_t i = slot.hash & mask_;
      while (slots_[i].length != kEmpty) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
};

// uint64 key -> (rank, id); keys are never ~0.
class PairMap {
 public:
  struct Entry {
    std::uint64_t key;
    std::uint32_t rank;
    std::int32_t id;
  };

  explicit PairMap(std::size_t expected = 16) {
    std::size_t capacity = 16;
    while (capacity * 2 < expected * 3) capacity *= 2;  // load at most 2/3 before growing
    slots_.assign(capacity, Entry{kEmpty, 0, 0});
    mask_ = capacity - 1;
  }

  static std::uint64_t Key(std::uint32_t a, std::uint32_t b) {
    return (static_cast<std::uint64_t>(a) << 32) | b;
  }

  // Inserts or overwrites.
  void Set(std::uint64_t key, std::uint32_t rank, std::int32_t id) {
    if ((size_ + 1) * 3 > slots_.size() * 2) Grow();
    std::size_t i = MixHash(key) & mask_;
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    if (slots_[i].key == kEmpty) ++size_;
    slots_[i] = {key, rank, id};
  }

  const Entry* Find(std::uint64_t key) const {
    std::size_t i = MixHash(key) & mask_;
    while (true) {
      const Entry& entry = slots_[i];
      if (entry.key == key) return &entry;
      if (entry.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  void Grow() {
    std::vector<Entry> old = std::move(slots_);
    slots_.assign(old.size() * 2, Entry{kEmpty, 0, 0});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Entry& entry : old) {
      if (entry.key != kEmpty) Set(entry.key, entry.rank, entry.id);
    }
  }

  std::vector<Entry> slots_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
};

}  // namespace gspo::tokenizer
