// Times each piece of one fused decode step on the gemma-2-2b shape (64 rows, a 384-slot cache
// filled to 256): the four matrix products, each fused kernel, the sampler and the logits
// product, with CUDA events over 200 replays after a warm-up. Prints one JSON object: the
// median microseconds of each piece and the per-step total they imply over 26 layers.
//   gspo_decode_step_bench   (run by bench/gpu/run.sh; results in bench/results/)
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/core/GradMode.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/model/model_config.h"

namespace {

using gspo::engine::Activation;
using gspo::engine::KvCache;
namespace fused = gspo::engine::fused;

double MedianMicros(const std::function<void()>& op) {
  for (int i = 0; i < 10; ++i) op();
  std::vector<double> times;
  for (int rep = 0; rep < 200; ++rep) {
    at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
    start.record();
    op();
    stop.record();
    stop.synchronize();
    times.push_back(start.elapsed_time(stop) * 1000.0);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main() {
  c10::NoGradGuard no_grad;
  const at::Device cuda("cuda:0");
  const auto bf16 = at::TensorOptions(cuda).dtype(at::kBFloat16);
  const auto longs = at::TensorOptions(cuda).dtype(at::kLong);
  const std::int64_t b = 64, e = 2304, f = 9216, h = 8, kv = 4, d = 256, vocab = 256000, capacity = 384, filled = 256;
  at::manual_seed(0);
  const auto weight = [&](std::int64_t out, std::int64_t in) { return at::randn({out, in}, bf16) * 0.02; };
  const at::Tensor wqkv = weight((h + 2 * kv) * d, e), wo = weight(e, h * d), wgu = weight(2 * f, e), wdown = weight(e, f);
  const at::Tensor lm_head = weight(vocab, e);
  const at::Tensor x = at::randn({b, e}, bf16), normed = at::empty_like(x), hid = at::randn({b, e}, bf16);
  const at::Tensor scale = at::ones({e}, at::TensorOptions(cuda));
  KvCache::LayerBuffers layer{at::randn({b, kv, capacity, d}, bf16), at::randn({b, kv, capacity, d}, bf16),
                              at::arange(capacity, longs).expand({b, capacity}).contiguous(),
                              (at::arange(capacity, longs) < filled).expand({b, capacity}).contiguous(),
                              capacity, false, true};
  const at::Tensor positions = at::full({b}, filled, longs), column = at::full({1}, filled, longs);
  const at::Tensor qkv = at::randn({b, (h + 2 * kv) * d}, bf16), q = at::empty({b, h, d}, bf16);
  const at::Tensor attn = at::empty({b, h * d}, bf16), gate_up = at::randn({b, 2 * f}, bf16), act = at::empty({b, f}, bf16);
  const at::Tensor inv_freq = at::rand({d / 2}, at::TensorOptions(cuda));
  const at::Tensor logits = at::randn({b, vocab}, bf16) * 3, scratch = at::empty_like(logits);
  const at::Tensor uniforms = at::rand({b, 8}, at::TensorOptions(cuda));
  const at::Tensor out_tokens = at::zeros({b, 8}, longs), out_logprobs = at::zeros({b, 8}, at::TensorOptions(cuda));
  const at::Tensor next = at::zeros({b, 1}, longs), finished = at::zeros({b}, longs.dtype(at::kBool));
  const at::Tensor rows = at::arange(b, longs), none;
  const fused::HeadShape shape{h, kv, d};

  std::map<std::string, double> us;
  us["gemm_qkv"] = MedianMicros([&] { at::linear(x, wqkv); });
  us["gemm_o"] = MedianMicros([&] { at::linear(attn, wo); });
  us["gemm_gate_up"] = MedianMicros([&] { at::linear(x, wgu); });
  us["gemm_down"] = MedianMicros([&] { at::linear(act, wdown); });
  us["rope_write"] = MedianMicros([&] {
    fused::RopeAndWriteCache(qkv, positions, column, inv_freq, none, none, true, 1e-6, layer, shape, q);
  });
  us["attention"] = MedianMicros([&] {
    fused::DecodeAttention(q, layer, positions, column, 4096, 0.0625, 50.0, shape, attn);
  });
  us["add_norm"] = MedianMicros([&] { fused::AddRmsNorm(x, hid, scale, scale, normed, true, 1e-6); });
  us["gated_activation"] = MedianMicros([&] { fused::GatedActivation(gate_up, Activation::kGeluTanh, act); });
  us["lm_head"] = MedianMicros([&] { at::mm_out(const_cast<at::Tensor&>(scratch), x, lm_head.t()); });
  us["sample_top_p"] = MedianMicros([&] {
    scratch.copy_(logits);
    fused::Sample({scratch, 30.0, 0.7, 0.9, false, uniforms, 0, rows, out_tokens, out_logprobs, next, {}, finished});
  });
  us["copy_logits"] = MedianMicros([&] { scratch.copy_(logits); });
  const double layer_us = us["gemm_qkv"] + us["gemm_o"] + us["gemm_gate_up"] + us["gemm_down"] + us["rope_write"] +
                          us["attention"] + 2 * us["add_norm"] + us["gated_activation"];
  const double step_us = 26 * layer_us + us["lm_head"] + us["sample_top_p"] - us["copy_logits"];
  std::printf("{\"shape\": \"gemma-2-2b\", \"rows\": %lld, \"cache_filled\": %lld", static_cast<long long>(b),
              static_cast<long long>(filled));
  for (const auto& [name, value] : us) std::printf(", \"%s_us\": %.2f", name.c_str(), value);
  std::printf(", \"layer_us\": %.2f, \"step_us_sum_of_pieces\": %.2f}\n", layer_us, step_us);
  return 0;
}
