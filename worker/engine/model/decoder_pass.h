// What the layers of one DecoderModel pass share (decoder_model.cc, decoder_packed_pass.cc):
// the rotary tables and attention masks computed once per pass, and for a packed pass
// (SharedPrefixHidden) the layout of its two parts. Internal to model/; one pass's objects
// belong to the thread running it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "worker/engine/model/attention.h"
#include "worker/engine/model/decoder_model.h"

namespace gspo::engine {

// A SharedPrefixHidden pass: the packed sequence's first G*P positions are the groups'
// prefixes (G batches of P), the next N*R every row's remaining positions (N batches of R).
struct DecoderModel::PackedRows {
  std::int64_t groups = 0, prefix = 0, rows = 0, rest = 0;
  at::Tensor prefix_positions, prefix_valid;  // [G,P]
  at::Tensor rest_positions, rest_valid;      // [N,R]
  at::Tensor row_positions, row_valid;        // [N,T]: every key a remaining position sees
  at::Tensor group_of_row;                    // [N] int64 on the model's device
};

// Computed once per forward pass and shared by the layers: the rotary tables of each distinct
// RoPE, and the attention bias of each (key set, window) pair (all full-length layers see the
// same keys' positions, so decode builds one mask for them instead of one per layer).
struct DecoderModel::StepShared {
  std::vector<std::pair<const RotaryEmbedding*, std::pair<at::Tensor, at::Tensor>>> rope;
  // (the keys' positions tensor, held so its storage cannot be reused meanwhile; window; bias)
  std::vector<std::tuple<at::Tensor, std::int64_t, at::Tensor>> bias;
  // A packed pass: this object's tables serve the prefixes, Rest()'s the remaining positions.
  std::shared_ptr<const PackedRows> packed;
  std::unique_ptr<StepShared> rest;  // made by the first Rest()

  StepShared& Rest() {
    if (!rest) rest = std::make_unique<StepShared>();
    return *rest;
  }

  const std::pair<at::Tensor, at::Tensor>& CosSin(const RotaryEmbedding& rope_of_layer,
                                                  const at::Tensor& positions, at::ScalarType dtype) {
    for (const auto& [key, tables] : rope) {
      if (key == &rope_of_layer) return tables;
    }
    rope.emplace_back(&rope_of_layer, rope_of_layer.CosSin(positions, dtype));
    return rope.back().second;
  }

  const at::Tensor& Bias(const at::Tensor& query_positions, const AttentionKeys& keys,
                         std::int64_t window, at::ScalarType dtype) {
    for (const auto& [positions, w, b] : bias) {
      // The same view of the same storage (full-length layers narrow one shared buffer).
      const bool same = positions.data_ptr() == keys.positions.data_ptr() &&
                        positions.sizes() == keys.positions.sizes() &&
                        positions.strides() == keys.positions.strides();
      if (same && w == window) return b;
    }
    bias.emplace_back(keys.positions, window,
                      AttentionBias(query_positions, keys.positions, keys.valid, window, dtype));
    return std::get<2>(bias.back());
  }
};

}  // namespace gspo::engine
