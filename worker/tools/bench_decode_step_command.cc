// gspo bench-decode-step: times each piece of one fused decode step on the gemma-2-2b shape
// (64 rows, a 384-slot cache filled to 256): the four matrix products, each fused kernel, the
// sampler and the logits product. Each piece runs 20 times between two device syncs, 11 such
// rounds after a warm-up; the median round over 20 is its time (launch included). Prints one
// JSON object: microseconds per piece and the per-step total they imply over 26 layers.
// Needs CUDA and the fused kernels (bench/gpu/run.sh runs it; results in bench/results/).
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/kernels/fused_ops.h"
#include "worker/engine/model/model_config.h"
#include "worker/engine/runtime.h"
#include "worker/tools/bench_command.h"
#include "worker/tools/model_commands.h"

namespace gspo::tools {
namespace {

using engine::Activation;
using engine::KvCache;
namespace fused = engine::fused;

void Sync(const at::Tensor& t) { (void)t.sum().item<double>(); }

double MedianMicros(const at::Tensor& sync_on, const std::function<void()>& op) {
  constexpr int kPerRound = 20;
  for (int i = 0; i < 10; ++i) op();
  Sync(sync_on);
  std::vector<double> rounds;
  for (int round = 0; round < 11; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kPerRound; ++i) op();
    Sync(sync_on);
    rounds.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
                     kPerRound);
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[rounds.size() / 2];
}

common::Status BenchDecodeStep(const std::vector<std::string>& args) {
  if (!args.empty()) return common::InvalidArgumentError("takes no arguments");
  const engine::RuntimeInfo runtime = engine::ConfigureRuntime();
  if (runtime.cuda_devices == 0) return common::FailedPreconditionError("needs a CUDA device");
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
  if (!fused::Available(x)) {
    return common::FailedPreconditionError("this build has no fused decode kernels");
  }

  std::map<std::string, double> us;
  const auto time = [&](const std::function<void()>& op) { return MedianMicros(x, op); };
  us["gemm_qkv"] = time([&] { at::linear(x, wqkv); });
  us["gemm_o"] = time([&] { at::linear(attn, wo); });
  us["gemm_gate_up"] = time([&] { at::linear(x, wgu); });
  us["gemm_down"] = time([&] { at::linear(act, wdown); });
  us["rope_write"] = time([&] {
    fused::RopeAndWriteCache(qkv, positions, column, inv_freq, none, none, true, 1e-6, layer, shape, q);
  });
  us["attention"] = time([&] {
    fused::DecodeAttention(q, layer, positions, column, 4096, 0.0625, 50.0, shape, attn);
  });
  us["add_norm"] = time([&] { fused::AddRmsNorm(x, hid, scale, scale, normed, true, 1e-6); });
  us["gated_activation"] = time([&] { fused::GatedActivation(gate_up, Activation::kGeluTanh, act); });
  us["lm_head"] = time([&] { at::mm_out(const_cast<at::Tensor&>(scratch), x, lm_head.t()); });
  us["sample_top_p"] = time([&] {
    scratch.copy_(logits);
    fused::Sample({scratch, 30.0, 0.7, 0.9, false, uniforms, 0, rows, out_tokens, out_logprobs, next, {}, finished});
  });
  us["copy_logits"] = time([&] { scratch.copy_(logits); });
  const double layer_us = us["gemm_qkv"] + us["gemm_o"] + us["gemm_gate_up"] + us["gemm_down"] + us["rope_write"] +
                          us["attention"] + 2 * us["add_norm"] + us["gated_activation"];
  const double step_us = 26 * layer_us + us["lm_head"] + us["sample_top_p"] - us["copy_logits"];
  std::printf("{\"shape\": \"gemma-2-2b\", \"rows\": %lld, \"cache_filled\": %lld", static_cast<long long>(b),
              static_cast<long long>(filled));
  for (const auto& [name, value] : us) std::printf(", \"%s_us\": %.2f", name.c_str(), value);
  std::printf(", \"layer_us\": %.2f, \"step_us_sum_of_pieces\": %.2f}\n", layer_us, step_us);
  return common::Status::Ok();
}

}  // namespace

int RunBenchDecodeStep(const std::vector<std::string>& args) {
  return GuardedCommand("bench-decode-step", [&] { return BenchDecodeStep(args); });
}

}  // namespace gspo::tools
