#include "worker/engine/model/kv_cache.h"

#include <stdexcept>

namespace gspo::engine {

KvCache::KvCache(const ModelConfig& config, std::int64_t batch, std::int64_t max_tokens,
                 at::ScalarType dtype, at::Device device)
    : batch_(batch), max_tokens_(max_tokens) {
  const auto opts = at::TensorOptions().dtype(dtype).device(device);
  for (const LayerSpec& spec : config.layers) {
    LayerBuffers layer;
    layer.ring = spec.sliding && config.sliding_window < max_tokens;
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
    } else {
      layer.positions = shared_positions_;
      layer.valid = shared_valid_;
    }
  }
  batch_ = index.size(0);
}

}  // namespace gspo::engine
