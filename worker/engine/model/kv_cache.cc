#include "worker/engine/model/kv_cache.h"

#include <stdexcept>

namespace gspo::engine {

namespace {

// A sliding-window layer keeps a ring of the window's slots once the cache outgrows it.
bool Rings(const ModelConfig& config, const LayerSpec& spec, std::int64_t max_tokens) {
  return spec.sliding && config.sliding_window < max_tokens;
}

}  // namespace

KvCache::KvCache(const ModelConfig& config, std::int64_t batch, std::int64_t max_tokens,
                 at::ScalarType dtype, at::Device device)
    : window_(config.sliding_window), batch_(batch), max_tokens_(max_tokens) {
  const auto opts = at::TensorOptions().dtype(dtype).device(device);
  for (const LayerSpec& spec : config.layers) {
    LayerBuffers layer;
    layer.sliding = spec.sliding;
    layer.ring = Rings(config, spec, max_tokens);
    layer.capacity = layer.ring ? config.sliding_window : max_tokens;
    layer.k = at::zeros({batch, config.num_kv_heads, layer.capacity, config.head_dim}, opts);
    layer.v = at::zeros_like(layer.k);
    layer.writes_positions = layer.ring || !shared_positions_.defined();
    if (layer.ring) {
      layer.positions = at::zeros({batch, layer.capacity}, opts.dtype(at::kLong));
      layer.valid = at::zeros({batch, layer.capacity}, opts.dtype(at::kBool));
    } else {
      if (!shared_positions_.defined()) {
        shared_positions_ = at::zeros({batch, layer.capacity}, opts.dtype(at::kLong));
        shared_valid_ = at::zeros({batch, layer.capacity}, opts.dtype(at::kBool));
      }
      layer.positions = shared_positions_;
      layer.valid = shared_valid_;
    }
    layers_.push_back(std::move(layer));
  }
}

AttentionKeys KvCache::Update(std::int64_t index, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& positions, const at::Tensor& valid) {
  LayerBuffers& layer = layers_.at(index);
  const std::int64_t t = k.size(2);
  if (!layer.ring) {
    if (length_ + t > layer.capacity) {
      throw std::length_error("KV cache full: " + std::to_string(length_ + t) + " tokens > " +
                              std::to_string(layer.capacity));
    }
    layer.k.narrow(2, length_, t).copy_(k);
    layer.v.narrow(2, length_, t).copy_(v);
    if (layer.writes_positions) {
      layer.positions.narrow(1, length_, t).copy_(positions);
      layer.valid.narrow(1, length_, t).copy_(valid);
    }
    const std::int64_t s = length_ + t;
    return {layer.k.narrow(2, 0, s), layer.v.narrow(2, 0, s), layer.positions.narrow(1, 0, s),
            layer.valid.narrow(1, 0, s)};
  }
  // Ring buffer. Queries of a multi-token step need keys that writing would overwrite, so they
  // attend over the old contents plus the new keys; a one-token step writes first.
  AttentionKeys keys;
  if (t > 1) {
    keys = {at::cat({layer.k, k}, 2), at::cat({layer.v, v}, 2),
            at::cat({layer.positions, positions}, 1), at::cat({layer.valid, valid}, 1)};
  }
  const std::int64_t keep = std::min(t, layer.capacity);
  at::Tensor slots =
      (at::arange(length_ + t - keep, length_ + t, positions.options()) % layer.capacity);
  layer.k.index_copy_(2, slots, k.narrow(2, t - keep, keep));
  layer.v.index_copy_(2, slots, v.narrow(2, t - keep, keep));
  layer.positions.index_copy_(1, slots, positions.narrow(1, t - keep, keep));
  layer.valid.index_copy_(1, slots, valid.narrow(1, t - keep, keep));
  if (t == 1) keys = {layer.k, layer.v, layer.positions, layer.valid};
  return keys;
}

AttentionKeys KvCache::UpdateAtColumn(std::int64_t index, const at::Tensor& k, const at::Tensor& v,
                                      const at::Tensor& positions, const at::Tensor& column) {
  LayerBuffers& layer = layers_.at(index);
  const at::Tensor slot = layer.ring ? column.remainder(layer.capacity) : column;
  layer.k.index_copy_(2, slot, k);
  layer.v.index_copy_(2, slot, v);
  if (layer.writes_positions) {
    layer.positions.index_copy_(1, slot, positions);
    layer.valid.index_fill_(1, slot, true);
  }
  return {layer.k, layer.v, layer.positions, layer.valid};
}

std::int64_t KvCache::Bytes() const {
  const auto bytes = [](const at::Tensor& t) { return static_cast<std::int64_t>(t.numel() * t.element_size()); };
  std::int64_t total = shared_positions_.defined() ? bytes(shared_positions_) + bytes(shared_valid_) : 0;
  for (const LayerBuffers& layer : layers_) {
    total += bytes(layer.k) + bytes(layer.v);
    if (layer.ring) total += bytes(layer.positions) + bytes(layer.valid);
  }
  return total;
}

std::int64_t KvCache::BytesPerRow(const ModelConfig& config, std::int64_t max_tokens, at::ScalarType dtype) {
  const std::int64_t element = static_cast<std::int64_t>(c10::elementSize(dtype));
  const std::int64_t slot_record = sizeof(std::int64_t) + sizeof(bool);  // position and validity
  std::int64_t total = 0;
  bool full_length = false;  // such layers share one record of positions and validity
  for (const LayerSpec& spec : config.layers) {
    const bool ring = Rings(config, spec, max_tokens);
    const std::int64_t slots = ring ? config.sliding_window : max_tokens;
    total += 2 * config.num_kv_heads * config.head_dim * slots * element + (ring ? slots * slot_record : 0);
    full_length = full_length || !ring;
  }
  return total + (full_length ? max_tokens * slot_record : 0);
}

void KvCache::SelectRows(const at::Tensor& index) {
  if (shared_positions_.defined()) {
    shared_positions_ = shared_positions_.index_select(0, index);
    shared_valid_ = shared_valid_.index_select(0, index);
  }
  for (LayerBuffers& layer : layers_) {
    layer.k = layer.k.index_select(0, index);
    layer.v = layer.v.index_select(0, index);
    if (layer.ring) {
      layer.positions = layer.positions.index_select(0, index);
      layer.valid = layer.valid.index_select(0, index);
    }
  }
  ShareFullLengthPositions();
  batch_ = index.size(0);
  if (prefix_slots_ > 0) {
    // Rows that shared a source keep sharing through the first kept row of each run of equal
    // sources (every row of a run holds the same prefix, so any of them would do).
    const at::Tensor sources = prefix_source_.index_select(0, index.to(prefix_source_.device()));
    const auto [unique, inverse, counts] = at::unique_consecutive(sources, true, true);
    const at::Tensor first = counts.cumsum(0) - counts;
    prefix_source_ = first.index_select(0, inverse).to(at::kInt);
    PublishPrefix();
  }
}

void KvCache::SharePrefix(const at::Tensor& source, std::int64_t slots) {
  if (source.dim() != 1 || source.size(0) != batch_ || source.scalar_type() != at::kLong) {
    throw std::invalid_argument("KvCache::SharePrefix: expected one int64 source row per cache row (" +
                                std::to_string(batch_) + ")");
  }
  if (slots < 0 || slots > max_tokens_) {
    throw std::invalid_argument("KvCache::SharePrefix: " + std::to_string(slots) + " slots, expected 0 to " +
                                std::to_string(max_tokens_));
  }
  if (batch_ > 0 && (source.min().item<std::int64_t>() < 0 || source.max().item<std::int64_t>() >= batch_)) {
    throw std::invalid_argument("KvCache::SharePrefix: source rows must be below " + std::to_string(batch_));
  }
  if (slots == 0) {
    ClearPrefix();
    return;
  }
  prefix_source_ = source.to(layers_.empty() ? source.device() : layers_.front().k.device(), at::kInt);
  prefix_slots_ = slots;
  PublishPrefix();
}

void KvCache::ClearPrefix() {
  prefix_source_ = at::Tensor();
  prefix_slots_ = 0;
  PublishPrefix();
}

void KvCache::PublishPrefix() {
  for (LayerBuffers& layer : layers_) {
    layer.prefix_source = prefix_source_;
    layer.prefix_slots = prefix_slots_;
  }
}

void KvCache::ShareFullLengthPositions() {
  for (LayerBuffers& layer : layers_) {
    if (layer.ring) continue;
    layer.positions = shared_positions_;
    layer.valid = shared_valid_;
  }
}

KvCache KvCache::Rows(const at::Tensor& index) const {
  KvCache copy = *this;  // shares buffers until SelectRows replaces them with copies
  copy.SelectRows(index);
  return copy;
}

void KvCache::AppendRows(const KvCache& other) {
  if (other.layers_.size() != layers_.size() || other.max_tokens_ != max_tokens_) {
    throw std::invalid_argument("KvCache::AppendRows: caches of different shapes");
  }
  if (shared_positions_.defined()) {
    shared_positions_ = at::cat({shared_positions_, other.shared_positions_});
    shared_valid_ = at::cat({shared_valid_, other.shared_valid_});
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    LayerBuffers& layer = layers_[i];
    const LayerBuffers& more = other.layers_[i];
    layer.k = at::cat({layer.k, more.k});
    layer.v = at::cat({layer.v, more.v});
    if (layer.ring) {
      layer.positions = at::cat({layer.positions, more.positions});
      layer.valid = at::cat({layer.valid, more.valid});
    }
  }
  ShareFullLengthPositions();
  if (prefix_slots_ > 0 && other.prefix_slots_ == prefix_slots_) {
    prefix_source_ = at::cat({prefix_source_, other.prefix_source_ + static_cast<int>(batch_)});
    PublishPrefix();
  } else {
    ClearPrefix();
  }
  batch_ += other.batch_;
}

bool KvCache::RingsAt(std::int64_t max_tokens) const {
  for (const LayerBuffers& layer : layers_) {
    if (layer.ring || (layer.sliding && window_ < max_tokens)) return true;
  }
  return false;
}

void KvCache::InvalidateFrom(const std::vector<std::int64_t>& first_column) {
  for (const std::int64_t column : first_column) {
    if (column < prefix_slots_) ClearPrefix();
  }
  if (!shared_valid_.defined()) return;
  const at::Tensor first = at::tensor(first_column, at::kLong).to(shared_valid_.device()).unsqueeze(1);
  const at::Tensor columns = at::arange(shared_valid_.size(1), first.options()).unsqueeze(0);
  shared_valid_.masked_fill_(columns >= first, false);
}

void KvCache::Grow(std::int64_t max_tokens) {
  if (max_tokens <= max_tokens_) return;
  // Slot = column while a layer has never wrapped, so stored slots keep their index in a larger
  // buffer; a layer that already rings (capacity = window) stays as it is, and a sliding layer
  // that held every token so far rings once the window is the smaller.
  const auto grown = [&](const at::Tensor& t, std::int64_t dim, std::int64_t capacity) {
    std::vector<std::int64_t> shape = t.sizes().vec();
    const std::int64_t old = shape[dim];
    shape[dim] = capacity;
    at::Tensor bigger = at::zeros(shape, t.options());
    bigger.narrow(dim, 0, old).copy_(t);
    return bigger;
  };
  for (LayerBuffers& layer : layers_) {
    if (layer.ring) continue;
    const bool ring = layer.sliding && window_ < max_tokens;
    const std::int64_t capacity = ring ? window_ : max_tokens;
    layer.k = grown(layer.k, 2, capacity);
    layer.v = grown(layer.v, 2, capacity);
    if (ring) {  // its own positions from now on, starting from the shared ones
      layer.positions = grown(shared_positions_, 1, capacity);
      layer.valid = grown(shared_valid_, 1, capacity);
    }
    layer.capacity = capacity;
    layer.ring = ring;
  }
  bool first_full_length = true;
  for (LayerBuffers& layer : layers_) {
    layer.writes_positions = layer.ring || first_full_length;
    if (!layer.ring) first_full_length = false;
  }
  if (first_full_length) {  // every layer rings now
    shared_positions_ = at::Tensor();
    shared_valid_ = at::Tensor();
  } else {
    shared_positions_ = grown(shared_positions_, 1, max_tokens);
    shared_valid_ = grown(shared_valid_, 1, max_tokens);
  }
  ShareFullLengthPositions();
  PublishPrefix();  // slots keep their index, so a shared prefix stays where it was
  max_tokens_ = max_tokens;
}

}  // namespace gspo::engine
