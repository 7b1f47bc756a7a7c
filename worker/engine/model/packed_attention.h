// Attention of a packed pass (DecoderModel::SharedPrefixHidden): q [1, G*P + N*R, H*D] and k, v
// [1, G*P + N*R, K*D] hold G prefixes of P positions, then N rows' R remaining positions,
// token-major as the projections write them (any row stride). Each prefix attends over itself;
// each row's remaining positions over its group's prefix and themselves. Queries and keys are
// rotated inside. Output [1, G*P + N*R, H*D], contiguous.
//
// With gradients this is one autograd node whose backward is written out: the rows' gradients
// of their prefix keys and values sum into the group's prefix, and every gradient is written
// straight into the projections' token-major layout, where the composed parts (splits, two
// rotations and attentions, the key gather, the output's concatenation) record ~30 nodes per
// layer and fill, copy and add full-size gradients for each split. Stateless; thread-safe.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>

#include "worker/engine/model/attention.h"
#include "worker/engine/model/rope.h"

namespace gspo::engine {

struct PackedAttentionArgs {
  std::int64_t groups = 0, prefix = 0, rows = 0, rest = 0;  // G, P, N, R
  std::int64_t heads = 0, kv_heads = 0, head_dim = 0;       // H, K, D
  at::Tensor group_of_row;                                  // [N] int64 on q's device
  RotaryTables prefix_rope, rest_rope;                      // [G or 1,1,P,D], [N or 1,1,R,D]
  at::Tensor prefix_bias, rest_bias;                        // [G,1,P,P], [N,1,R,P+R]
  double scale = 1.0;
  std::optional<double> softcap;
  AttentionImplementation implementation = AttentionImplementation::kAuto;
};

// Whether PackedAttention computes what MaskedAttention would for each part: its eager path (a
// soft-cap, the CPU, or AttentionImplementation::kEager) in one query block per part, with training's nodes on and
// GSPO_PACKED_ATTENTION not 0 (read at every call). Otherwise the caller attends to the parts
// one by one.
bool PackedAttentionApplies(const at::Tensor& q, const PackedAttentionArgs& args);

at::Tensor PackedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const PackedAttentionArgs& args);

}  // namespace gspo::engine
