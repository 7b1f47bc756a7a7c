// Builds without CUDA: the fused decode path is never available, so callers keep the
// reference LibTorch layers and nothing below is reached.
#include "worker/engine/kernels/fused_ops.h"

namespace gspo::engine::fused {
namespace {

[[noreturn]] void Unavailable() { TORCH_CHECK(false, "fused decode kernels are not built (no CUDA)"); }

}  // namespace

bool Available(const at::Tensor&) { return false; }
void AddRmsNorm(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                const at::Tensor&, bool, double) { Unavailable(); }
void RmsNormBackward(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double) {
  Unavailable();
}
void RopeAndWriteCache(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                       const at::Tensor&, const at::Tensor&, bool, double, const KvCache::LayerBuffers&,
                       HeadShape, const at::Tensor&) { Unavailable(); }
bool AttentionSupports(HeadShape) { return false; }
void DecodeAttention(const at::Tensor&, const KvCache::LayerBuffers&, const at::Tensor&, const at::Tensor&,
                     std::int64_t, double, double, HeadShape, const at::Tensor&) { Unavailable(); }
void GatedActivation(const at::Tensor&, Activation, const at::Tensor&) { Unavailable(); }
void GatedActivationBackward(const at::Tensor&, const at::Tensor&, Activation, const at::Tensor&) { Unavailable(); }
void Rotary(const at::Tensor&, const at::Tensor&, const at::Tensor&, bool, const at::Tensor&) { Unavailable(); }
void AttentionProbs(const at::Tensor&, const at::Tensor&, std::int64_t, double, double, const at::Tensor&) {
  Unavailable();
}
void AttentionProbsBackward(const at::Tensor&, const at::Tensor&, const at::Tensor&, double, double) { Unavailable(); }
void Sample(const SampleStep&) { Unavailable(); }
void LogProbForward(const at::Tensor&, const at::Tensor&, double, double, const at::Tensor&, const at::Tensor&,
                    const at::Tensor&) {
  Unavailable();
}
void LogProbBackward(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double, double,
                     const at::Tensor&) {
  Unavailable();
}
void DequantizeNf4(const Nf4Storage&, const at::Tensor&) { Unavailable(); }
void DequantizeInt8(const at::Tensor&, const at::Tensor&, const at::Tensor&) { Unavailable(); }

}  // namespace gspo::engine::fused
