// The tensor-core variant of decode attention (decode_attention_mma.cu), chosen by
// DecodeAttention (decode_kernels.h) when the shape and device allow it and the caller asks for
// it (DecodeAttentionArgs::tensor_cores). Internal to the kernels library.
#pragma once

#include <cuda_runtime.h>

#include "worker/engine/kernels/decode_kernels.h"

namespace gspo::engine::kernels {

// bf16, head_dim 64, 128 or 256, at most 8 query heads per kv head, compute capability >= 8.0.
bool DecodeAttentionMmaSupports(DType dtype, int heads, int kv_heads, int head_dim);

// The attention kernel alone: with args.chunks > 1 it writes args.partials, which the caller
// merges as for the CUDA-core kernel.
cudaError_t LaunchDecodeAttentionMma(const DecodeAttentionArgs& args, cudaStream_t stream);

}  // namespace gspo::engine::kernels
