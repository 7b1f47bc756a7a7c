// The eager attention's passes without autograd, for the attention nodes that own their backward
// (attention.cc's node, packed_attention.cc's). The R = H / K query heads that share a kv head
// are stacked along the query axis, so each kv head is one plain batched matmul against its
// keys: k and v are never expanded (decode reads the whole cache per step, and a broadcast there
// would copy it R times per layer).
//   scores [B*K,R*T,S] = softcap(q k^T * scale); probs = softmax(scores + bias) in float32, cast
// to q's dtype. The products run as bmm on [B*K, ., .] tensors (what matmul would fold them to).
// On CUDA, outside autograd's recording, the steps between the two products run as one kernel
// each way (fused::AttentionProbs; GSPO_ATTENTION_PROBS_KERNEL=0 runs the operators).
// Shapes as attention.h. Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>

namespace gspo::engine {

// What backward needs from a forward.
struct EagerTensors {
  at::Tensor q, k, v;  // [B*K,R*T,D], [B*K,S,D], [B*K,S,D]
  at::Tensor capped;   // the scores after the soft-cap, before the bias (with a soft-cap)
  at::Tensor probs;    // [B*K,R*T,S] in q's dtype
};

struct EagerGrads {
  at::Tensor dq;      // [B,H,T,D]
  at::Tensor dk, dv;  // [B,K,S,D]
};

// Queries per block of the eager path (B*H query heads over S keys): on CUDA as many as keep a
// block's [B,H,rows,S] scores within 2^25 elements (the operators' float32 softmax makes two
// such tensors), at least 256; on the CPU 256.
std::int64_t QueryBlockRows(std::int64_t batch_heads, std::int64_t keys, const at::Device& device);

// Output [B,H,T,D]; with `keep`, what EagerAttentionBackward needs.
at::Tensor EagerAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias,
                          double scale, std::optional<double> softcap, EagerTensors* keep = nullptr);

// The gradients of q, k and v from the output's (any [B,H,T,D] layout); softcap 0: none.
EagerGrads EagerAttentionBackward(const EagerTensors& keep, const at::Tensor& dout_bhtd, double scale, double softcap,
                                  at::IntArrayRef shape_q, at::IntArrayRef shape_kv);

}  // namespace gspo::engine
