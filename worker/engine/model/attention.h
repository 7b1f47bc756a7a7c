// Masked attention over keys that carry absolute positions: causal, sliding-window and padding
// masks all follow from (query position, key position, key validity), so the same code serves
// full sequences, padded batches and KV-cached decoding.
//
// Shapes: q [B,H,T,D]; k, v [B,K,S,D] with H a multiple of K (grouped-query attention);
// positions [B,T] / [B,S] int64; valid [B,S] bool; bias [B,1,T,S].
// Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace gspo::engine {

// Additive bias: 0 where the query may attend to the key, the dtype's lowest value elsewhere.
// A query that may attend to nothing (padding) gets 0 everywhere, so its output stays finite.
at::Tensor AttentionBias(const at::Tensor& query_positions_bt, const at::Tensor& key_positions_bs,
                         const at::Tensor& key_valid_bs, std::int64_t sliding_window,
                         at::ScalarType dtype);

// How attention over more than one query is computed (the job's model.attn_implementation).
// kAuto: LibTorch's fused scaled-dot-product kernels on CUDA where the model has no soft-cap
// (they cannot apply one), else the eager computation. kEager: always the eager computation.
// kScaledDotProduct ("sdpa", "flash"): as kAuto, but a soft-capped model is refused
// (DecoderModel::SetAttentionImplementation) rather than computed eagerly. The CPU has no fused
// kernels: every setting computes eagerly there.
enum class AttentionImplementation { kAuto, kEager, kScaledDotProduct };

// "auto", "eager", "sdpa" or "flash" (LibTorch picks the fused backend, its flash kernels
// where the shapes and the mask allow); kInvalidArgument otherwise.
common::StatusOr<AttentionImplementation> ParseAttentionImplementation(std::string_view name);

// softmax(softcap(q k^T * scale) + bias) v, the softmax in float32. With a soft-cap the scores
// are materialised in blocks of `query_block` queries (0: as many as keep a block's scores
// within 2^25 elements, at least 256), so long sequences never make one [B,H,T,S] float32 tensor.
at::Tensor MaskedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& bias, double scale, std::optional<double> softcap,
                           std::int64_t query_block = 0,
                           AttentionImplementation implementation = AttentionImplementation::kAuto);

// Whether MaskedAttention takes the fused kernels for these queries under `implementation`.
bool FusedAttentionApplies(const at::Tensor& q, std::optional<double> softcap,
                           AttentionImplementation implementation);

}  // namespace gspo::engine
