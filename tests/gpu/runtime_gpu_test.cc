// The engine's runtime and compatibility layer on CUDA with LibTorch 2.x: devices are seen, and
// bf16 attention on the GPU agrees with fp32 attention on the CPU.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "worker/engine/runtime.h"
#include "worker/engine/torch_compat.h"

namespace gspo::engine {
namespace {

TEST(GpuRuntime, SeesTheDevices) {
  const RuntimeInfo info = ConfigureRuntime();
  ASSERT_TRUE(info.cuda_available);
  EXPECT_GE(info.cuda_devices, 1);
  EXPECT_TRUE(compat::kTorch2);
}

TEST(GpuRuntime, Bf16CausalAttentionMatchesFp32OnCpu) {
  at::manual_seed(0);
  // [B=2, H=4, T=64, D=128], the head size of Gemma 2 27B.
  at::Tensor q = at::randn({2, 4, 64, 128});
  at::Tensor k = at::randn({2, 4, 64, 128});
  at::Tensor v = at::randn({2, 4, 64, 128});
  at::Tensor expected = compat::ScaledDotProductAttention(q, k, v, c10::nullopt, true);
  const auto cuda_bf16 = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::Tensor got = compat::ScaledDotProductAttention(q.to(cuda_bf16), k.to(cuda_bf16),
                                                     v.to(cuda_bf16), c10::nullopt, true)
                       .to(at::kCPU, at::kFloat);
  // bf16 keeps 8 bits of mantissa: inputs round by up to 2^-9 relative.
  const double max_error = (got - expected).abs().max().item<double>();
  EXPECT_LT(max_error, 0.05) << "max |bf16 GPU - fp32 CPU| = " << max_error;
}

}  // namespace
}  // namespace gspo::engine
