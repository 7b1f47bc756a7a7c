// Fused CUDA kernels of the one-token decode step, on raw device pointers (no LibTorch here:
// worker/engine/model/fused_decode.cc checks the tensors and launches these on the current
// stream). Each replaces a chain of small LibTorch kernels with one launch; each rounds to the
// activation type T (bf16 or float) where the reference LibTorch ops would, so the fused step
// computes what the unfused one does up to float32 summation order.
//
// Shapes: B rows, E hidden, H query heads, K kv heads, D head_dim, C cache slots, F
// intermediate, V vocabulary. Rows are contiguous unless a stride is given. Every function
// returns the launch's cudaError_t (cudaSuccess or the first error), never throws.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace gspo::engine::kernels {

enum class DType { kFloat32, kBFloat16 };

// How a norm applies its float32 scale: Gemma multiplies in float32 before rounding (its
// scale is 1 + w); Llama and Qwen round the normalised value first, then multiply by w.
enum class NormMode { kScaleThenRound, kRoundThenScale };

struct NormArgs {
  NormMode mode = NormMode::kScaleThenRound;
  float eps = 1e-6f;
};

// For each row: if `h` is given, x += (norm1 ? norm(h) * norm1 : h) (rounded to T, in place);
// then out = norm(x) * norm2. `h` null: out = norm(x) * norm2 only. x, out: [B,E]; h: [B,E]
// with row stride h_stride (>= E: a column range of a wider product).
cudaError_t AddRmsNorm(DType dtype, void* x, const void* h, std::int64_t h_stride, const float* norm1,
                       const float* norm2, void* out, std::int64_t rows, std::int64_t hidden, NormArgs norm,
                       cudaStream_t stream);

// The gradient of out = norm(x) * scale in Gemma's order (kScaleThenRound) with respect to x,
// for each row: dx = r * g - x * r^3 * sum(g * x) / E, with g = dy * scale and
// r = rsqrt(mean(x^2) + eps), in float32 and rounded to T once (the rounding of the forward is
// not differentiated, as autograd's own backward of the LibTorch ops does not). x, dy, dx: [B,E]
// contiguous; scale: float32 [E]. Used by training (model/fused_norm.h), not by the decode step.
cudaError_t RmsNormBackward(DType dtype, const void* x, const void* dy, const float* scale, void* dx,
                            std::int64_t rows, std::int64_t hidden, float eps, cudaStream_t stream);

// Rotary embedding and the cache write of one decode step. qkv: [B, (H+2K)*D] with row stride
// `qkv_stride` (the fused projection's output: q heads, then k heads, then v heads). Writes the
// rotated queries to q_out [B,H,D], the rotated keys and the values into slot
// (*column mod capacity when ring, else *column) of k_cache / v_cache [B,K,C,D]; when
// `key_positions` is not null also key_positions[b, slot] = positions[b] and key_valid = true.
// q_norm / k_norm (float32 [D], may be null): per-head RMSNorm before the rotation (Qwen 3,
// Gemma 3). inv_freq: float32 [D/2].
struct RopeWriteArgs {
  const void* qkv;
  std::int64_t qkv_stride;
  const std::int64_t* positions;  // [B]
  const std::int64_t* column;     // [1]
  const float* inv_freq;
  const float* q_norm;
  const float* k_norm;
  NormArgs norm;
  void* q_out;
  void* k_cache;
  void* v_cache;
  std::int64_t* key_positions;  // [B,C] or null
  bool* key_valid;              // [B,C] or null
  std::int64_t capacity;
  bool ring;
  int rows, heads, kv_heads, head_dim;
};
cudaError_t RopeAndWriteCache(DType dtype, const RopeWriteArgs& args, cudaStream_t stream);

// Attention of one query per row over its cache: softmax(cap(q.k * scale) + mask) v, masks
// from positions (a key counts when valid, not after the query, and, with window > 0, less than
// `window` positions before it). Reads only the slots written so far (up to *column). q:
// [B,H,D]; out: [B,H*D]. softcap <= 0: none.
struct DecodeAttentionArgs {
  const void* q;
  const void* k_cache;
  const void* v_cache;
  const std::int64_t* key_positions;  // [B,C]
  const bool* key_valid;              // [B,C]
  const std::int64_t* query_positions;  // [B]
  const std::int64_t* column;           // [1]
  std::int64_t capacity;
  bool ring;
  std::int64_t window;
  float scale;
  float softcap;
  void* out;
  int rows, heads, kv_heads, head_dim;
  // Split-K: the slots are cut into `chunks` ranges of `chunk` slots (chunks * chunk >=
  // capacity); with chunks > 1, `partials` holds DecodeAttentionPartialFloats floats.
  int chunks = 1;
  std::int64_t chunk = 0;
  float* partials = nullptr;
  // Keys each warp loads per round (2, 4 or 8; 0: the kernel's default for the shape), for
  // measuring; GSPO_ATTENTION_KEYS sets it.
  int keys_per_round = 0;
  // The tensor-core kernel where it applies (bf16; see decode_attention_mma.h); false: always
  // the CUDA-core one. GSPO_ATTENTION_MMA=0 turns it off.
  bool tensor_cores = false;
  // Rows whose first prefix_slots slots equal another row's (KvCache::SharePrefix) read them
  // from row prefix_source[row] ([B] int32; null: none), so the G samples of a prompt share one
  // copy in L2 instead of each fetching its own from memory. Ignored once a ring has wrapped.
  const int* prefix_source = nullptr;
  std::int64_t prefix_slots = 0;
};
// cudaErrorNotSupported when head_dim or heads / kv_heads has no compiled variant;
// cudaErrorInvalidValue when the chunks do not cover the capacity or lack their workspace.
cudaError_t DecodeAttention(DType dtype, const DecodeAttentionArgs& args, cudaStream_t stream);
bool DecodeAttentionSupports(int heads, int kv_heads, int head_dim);
// How many chunks of about `keys_per_chunk` slots keep the device busy for this batch (1: none).
int DecodeAttentionChunks(int rows, int kv_heads, std::int64_t capacity, std::int64_t keys_per_chunk);
std::int64_t DecodeAttentionPartialFloats(int rows, int heads, int head_dim, int chunks);

// out[B,F] = act(gate) * up with gate_up [B,2F] (gate first), rounded to T after the
// activation and after the product, as the reference ops do.
enum class Activation { kGeluTanh, kGelu, kSilu };
cudaError_t GatedActivation(DType dtype, Activation act, const void* gate_up, void* out,
                            std::int64_t rows, std::int64_t intermediate, cudaStream_t stream);
// Its backward (training): from gate_up [B,2F] and dh [B,F] = dL/d out, writes d_gate_up [B,2F]:
// d gate = act'(gate) * round(dh * up), d up = dh * round(act(gate)), each rounded to T.
cudaError_t GatedActivationBackward(DType dtype, Activation act, const void* gate_up, const void* dh, void* d_gate_up,
                                    std::int64_t rows, std::int64_t intermediate, cudaStream_t stream);

// One sampling step over raw logits [B,V] (row stride `logits_stride`, overwritten with the
// soft-capped values): z = cap(logits) / temperature; the kept set is the smallest set of
// highest-z tokens holding top_p of the mass (ties at the boundary kept); the token is drawn by
// inverse CDF with uniforms[b * uniforms_stride + step]. Greedy takes the first highest logit.
// Records token and log_softmax(z)[token] at out_*[rows[b] * out_stride + step], feeds the
// token to next_ids[b], and sets finished[b] when it is one of stop_ids.
struct SampleArgs {
  void* logits;
  std::int64_t logits_stride;
  std::int64_t vocab;
  int rows;
  float softcap;
  float temperature;
  float top_p;
  bool greedy;
  const float* uniforms;
  std::int64_t uniforms_stride;
  std::int64_t step;
  const std::int64_t* row_index;  // [B]
  std::int64_t* out_tokens;
  float* out_logprobs;
  std::int64_t out_stride;
  std::int64_t* next_ids;  // [B]
  const std::int64_t* stop_ids;
  int num_stop_ids;
  bool* finished;  // [B]
};
cudaError_t SampleTopP(DType dtype, const SampleArgs& args, cudaStream_t stream);

}  // namespace gspo::engine::kernels
