// KvCache: keys and values of past tokens for incremental decoding, one buffer per layer.
//
// Global layers keep every position up to `max_tokens`; sliding-window layers keep only the
// last `sliding_window` positions in a ring buffer. Each slot records the absolute position and
// whether it holds a real token (padding and empty slots do not), so attention masks are built
// from positions, not buffer indices.
//
// Shapes: B rows, K kv heads, C slots, D head_dim; keys/values [B,K,C,D].
// Not thread-safe: one forward pass at a time owns the cache.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "worker/engine/model/model_config.h"

namespace gspo::engine {

// What one layer attends over: keys and values with per-slot positions and validity.
struct AttentionKeys {
  at::Tensor k;          // [B,K,S,D]
  at::Tensor v;          // [B,K,S,D]
  at::Tensor positions;  // [B,S] int64
  at::Tensor valid;      // [B,S] bool
};

class KvCache {
 public:
  KvCache(const ModelConfig& config, std::int64_t batch, std::int64_t max_tokens,
          at::ScalarType dtype, at::Device device);

  std::int64_t batch() const { return batch_; }
  std::int64_t length() const { return length_; }  // tokens appended per row so far
  std::int64_t max_tokens() const { return max_tokens_; }

  // Stores this step's keys/values ([B,K,T,D], after RoPE) for `layer` and returns what the
  // step's queries attend over: the earlier tokens plus these. Call for every layer, then
  // Advance(T) once.
  AttentionKeys Update(std::int64_t layer, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& positions_bt, const at::Tensor& valid_bt);
  void Advance(std::int64_t num_tokens) { length_ += num_tokens; }

  // Decoding with static shapes (what a captured CUDA graph replays): stores one token per row
  // ([B,K,1,D]) at `column` ([1] int64 on the cache's device; taken modulo the capacity on
  // ring layers) and returns every slot of the layer; unwritten slots are invalid, so masks
  // exclude them. Nothing is read back to the host, and length() does not move: the caller
  // keeps the column.
  AttentionKeys UpdateAtColumn(std::int64_t layer, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& positions_b1, const at::Tensor& column);

  // One layer's buffers, for kernels that read and write the cache in place (fused decode).
  struct LayerBuffers {
    at::Tensor k, v;             // [B,K,C,D]
    at::Tensor positions;        // [B,C] int64: each slot's absolute position
    at::Tensor valid;            // [B,C] bool: the slot holds a real token
    std::int64_t capacity;       // C
    bool ring;                   // slot = column mod C (sliding-window layers)
    bool sliding;                // a sliding-window layer (it rings once the cache outgrows the window)
    // Full-length layers share one positions/valid pair (their slots always match), written by
    // the first of them: fewer kernels per step, and equal key tensors let the model build one
    // attention mask for all of them.
    bool writes_positions;
    // SharePrefix: row r's slots [0, prefix_slots) equal row prefix_source[r]'s ([B] int32 on
    // the cache's device; undefined and 0 when nothing is shared). Valid on a ring layer only
    // while it has not wrapped.
    at::Tensor prefix_source;
    std::int64_t prefix_slots = 0;
  };
  const LayerBuffers& layer(std::int64_t index) const { return layers_.at(index); }
  std::int64_t layers() const { return static_cast<std::int64_t>(layers_.size()); }

  // Bytes held by the buffers (keys, values, positions, validity).
  std::int64_t Bytes() const;
  // What one row of a cache of `max_tokens` slots would hold, before making one.
  static std::int64_t BytesPerRow(const ModelConfig& config, std::int64_t max_tokens, at::ScalarType dtype);

  // Keeps only rows `index` ([B'] int64), e.g. to drop finished sequences. A shared prefix
  // follows: each kept row reads it from the first kept row of its run of equal sources.
  void SelectRows(const at::Tensor& index);

  // Declares that row r's first `slots` slots hold what row source[r]'s do ([B] int64), as
  // after copying one prompt's prefill to its G samples, so that decode attention may read one
  // copy for all of them (each row still has its own, which every other reader uses). Cleared
  // by anything that could write below `slots`: SetLength or InvalidateFrom below it, and
  // AppendRows of a cache that shares differently. Throws std::invalid_argument on a bad shape
  // or row index.
  void SharePrefix(const at::Tensor& source, std::int64_t slots);
  std::int64_t prefix_slots() const { return prefix_slots_; }
  const at::Tensor& prefix_source() const { return prefix_source_; }

  // Multi-turn continuation. A copy of rows `index`; appends another cache's rows (same model
  // and capacity) after this one's; sets where the next multi-token Update writes (after
  // decoding by column, the caller's column); grows every full-length layer to `max_tokens`
  // slots (sliding-window layers up to their window), keeping what is stored.
  KvCache Rows(const at::Tensor& index) const;
  void AppendRows(const KvCache& other);
  void SetLength(std::int64_t length) {
    length_ = length;
    if (length < prefix_slots_) ClearPrefix();
  }
  void Grow(std::int64_t max_tokens);
  // Whether a sliding-window layer is, or would be at `max_tokens`, a ring buffer.
  bool RingsAt(std::int64_t max_tokens) const;
  // Marks row r's slots from column first_column[r] on as empty (full-length layers: a row that
  // stopped while the batch went on decoding wrote tokens there that are not its own).
  void InvalidateFrom(const std::vector<std::int64_t>& first_column);

 private:
  void ShareFullLengthPositions();
  void ClearPrefix();
  void PublishPrefix();  // copies the shared prefix into every LayerBuffers

  std::vector<LayerBuffers> layers_;
  std::int64_t window_ = 0;
  at::Tensor shared_positions_, shared_valid_;
  at::Tensor prefix_source_;  // [B] int32, or undefined
  std::int64_t prefix_slots_ = 0;
  std::int64_t batch_ = 0;
  std::int64_t max_tokens_ = 0;
  std::int64_t length_ = 0;
};

}  // namespace gspo::engine
