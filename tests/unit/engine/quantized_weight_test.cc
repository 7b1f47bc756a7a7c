// 4- and 8-bit base weights: the NF4 levels are the QLoRA paper's normal quantiles (derived here
// from the inverse normal CDF), quantization picks the nearest level per 64-value block (checked
// against a brute-force search), int8 rounds per row, double quantization stays close to plain
// NF4, and a quantized model computes exactly what a dense model with the dequantized weights
// computes, forward and backward, and stays close to the unquantized model.
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/quant/quantized_weight.h"

namespace gspo::engine {
namespace {

const std::string kModels = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/";

// The standard normal quantile by bisection on its CDF.
double NormalQuantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

TEST(Nf4, CodeBookIsTheNormalQuantilesOfQLoRA) {
  // 8 positive levels from quantiles between 0.5 and 0.9677083 (9 points, the last dropped),
  // 7 negative ones from 8 points, and an exact zero; scaled so the extremes are +-1.
  const double offset = 0.9677083;
  std::vector<double> levels = {0.0};
  for (int i = 0; i < 8; ++i) levels.push_back(NormalQuantile(offset + (0.5 - offset) * i / 8));
  for (int i = 0; i < 7; ++i) levels.push_back(-NormalQuantile(offset + (0.5 - offset) * i / 7));
  std::sort(levels.begin(), levels.end());
  const double top = levels.back();
  const auto& book = Nf4CodeBook();
  for (int i = 0; i < 16; ++i) EXPECT_NEAR(book[i], levels[i] / top, 1e-6) << i;
}

// NF4 of `w` done the slow, obvious way: per block of 64 (flattened), nearest level of w/absmax.
at::Tensor BruteForceNf4(const at::Tensor& w) {
  const at::Tensor flat = w.reshape({-1}).to(at::kDouble);
  at::Tensor out = at::empty_like(flat);
  const auto& book = Nf4CodeBook();
  for (std::int64_t start = 0; start < flat.numel(); start += 64) {
    const std::int64_t len = std::min<std::int64_t>(64, flat.numel() - start);
    const double absmax = flat.narrow(0, start, len).abs().max().item<double>();
    for (std::int64_t i = start; i < start + len; ++i) {
      const double x = flat[i].item<double>() / absmax;
      int best = 0;
      for (int l = 1; l < 16; ++l) {
        if (std::abs(x - book[l]) < std::abs(x - book[best])) best = l;
      }
      out[i] = book[best] * absmax;
    }
  }
  return out.view(w.sizes());
}

TEST(Nf4, QuantizesToTheNearestLevelOfEachBlock) {
  at::manual_seed(4);
  const at::Tensor w = at::randn({24, 40});  // 960 values: 15 blocks, rows straddle blocks
  const QuantizedWeight q = QuantizedWeight::Quantize(w, {QuantKind::kNf4, false});
  const at::Tensor got = q.Dequantize(at::kFloat);
  EXPECT_LE((got.to(at::kDouble) - BruteForceNf4(w)).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(q.StorageBytes(), 960 / 2 + 15 * 4);
  // Values that are levels times the block maximum come back exactly.
  const auto& book = Nf4CodeBook();
  at::Tensor exact = at::empty({2, 64});
  for (int i = 0; i < 128; ++i) exact.view({-1})[i] = book[i % 16] * (i < 64 ? 3.0 : 0.5);
  const at::Tensor back = QuantizedWeight::Quantize(exact, {QuantKind::kNf4, false}).Dequantize(at::kFloat);
  EXPECT_LE((back - exact).abs().max().item<double>(), 1e-6);
}

TEST(Nf4, DoubleQuantizationKeepsTheScalesWithinTheirStep) {
  at::manual_seed(5);
  const at::Tensor w = at::randn({64, 512});  // 512 blocks: two groups of 256 scales
  const at::Tensor plain = QuantizedWeight::Quantize(w, {QuantKind::kNf4, false}).Dequantize(at::kFloat);
  const QuantizedWeight dq = QuantizedWeight::Quantize(w, {QuantKind::kNf4, true});
  EXPECT_TRUE(dq.double_quant());
  EXPECT_EQ(dq.StorageBytes(), 64 * 512 / 2 + 512 * 1 + 2 * 4);
  // Each block maximum moves by at most half a step of its int8 group (spread / 127 / 2, the
  // spread of these maxima being well under 2): relative to values of order 3, a small change.
  const double err = (dq.Dequantize(at::kFloat) - plain).abs().max().item<double>();
  EXPECT_GT(err, 0.0);
  EXPECT_LE(err, 2.0 / 127 / 2 + 1e-6);
}

TEST(Int8, RoundsEachRowByItsAbsoluteMaximum) {
  at::manual_seed(6);
  const at::Tensor w = at::randn({8, 33}) * at::arange(1, 9, at::kFloat).unsqueeze(1);
  const QuantizedWeight q = QuantizedWeight::Quantize(w, {QuantKind::kInt8, false});
  const at::Tensor step = w.abs().amax(1, true) / 127;
  const at::Tensor want = at::round(w / step) * step;
  EXPECT_LE((q.Dequantize(at::kFloat) - want).abs().max().item<double>(), 1e-5);
  EXPECT_LE(((q.Dequantize(at::kFloat) - w).abs() / step).max().item<double>(), 0.5 + 1e-4);
  EXPECT_EQ(q.StorageBytes(), 8 * 33 + 8 * 4);
}

// The model with every projection replaced by BruteForceNf4 of its weights, built densely.
std::unique_ptr<DecoderModel> DenseFromBruteForce(const DecoderModel& model) {
  std::map<std::string, at::Tensor> tensors = model.NamedWeights();
  for (auto& [name, t] : tensors) {
    if (name.find("_proj.weight") != std::string::npos) t = BruteForceNf4(t).to(at::kFloat);
  }
  auto dense = DecoderModel::FromTensors(model.config(), tensors, at::kFloat, at::kCPU, "brute force");
  EXPECT_TRUE(dense.ok()) << dense.status();
  return std::move(*dense);
}

TEST(QuantizedModel, ComputesWhatTheDequantizedWeightsComputeForwardAndBackward) {
  auto original = DecoderModel::Load(kModels + "gemma2", at::kFloat, at::kCPU);
  ASSERT_TRUE(original.ok()) << original.status();
  auto model = DecoderModel::Load(kModels + "gemma2", at::kFloat, at::kCPU);
  ASSERT_TRUE(model.ok());
  std::unique_ptr<DecoderModel> dense = DenseFromBruteForce(**original);
  (*model)->QuantizeBaseWeights({QuantKind::kNf4, false});
  EXPECT_LT((*model)->WeightBytes(), (*original)->WeightBytes());

  LoraConfig lora;
  lora.r = 2;
  lora.target_modules = {"q_proj", "v_proj", "down_proj"};
  auto quantized_adapters = LoraAdapters::Attach(model->get(), lora);
  auto dense_adapters = LoraAdapters::Attach(dense.get(), lora);
  ASSERT_TRUE(quantized_adapters.ok() && dense_adapters.ok());
  {
    c10::NoGradGuard no_grad;
    at::manual_seed(9);
    auto qp = (*quantized_adapters)->Parameters();
    auto dp = (*dense_adapters)->Parameters();
    for (std::size_t i = 0; i < qp.size(); ++i) {
      qp[i].normal_(0, 0.2);
      dp[i].copy_(qp[i]);
    }
  }
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{1, 5, 9, 14, 200, 31, 7, 77}, at::kLong).unsqueeze(0);
  const at::Tensor q_logits = (*model)->Forward({ids, {}, {}});
  const at::Tensor d_logits = dense->Forward({ids, {}, {}});
  EXPECT_LE((q_logits - d_logits).abs().max().item<double>(), 1e-4);
  q_logits.logsumexp(-1).sum().backward();
  d_logits.logsumexp(-1).sum().backward();
  auto qp = (*quantized_adapters)->Parameters();
  auto dp = (*dense_adapters)->Parameters();
  for (std::size_t i = 0; i < qp.size(); ++i) {
    ASSERT_TRUE(qp[i].grad().defined()) << i;
    EXPECT_LE((qp[i].grad() - dp[i].grad()).abs().max().item<double>(),
              1e-4 * (1 + dp[i].grad().abs().max().item<double>())) << i;
  }

  // Against the unquantized model: close, not equal. The documented tolerances: every projection
  // within 12 % (Frobenius; NF4 of Gaussian weights is about 10 %), and logits pointing the same
  // way (cosine >= 0.9; this 4-layer random model amplifies weight noise, so single logits move
  // by a large fraction of the largest one).
  c10::NoGradGuard no_grad;
  const at::Tensor base_q = (*model)->Forward({ids, {}, {}, /*use_adapters=*/false});
  const at::Tensor base = (*original)->Forward({ids, {}, {}});
  const double rel = ((base_q - base).abs().max() / base.abs().max()).item<double>();
  const double cosine = at::cosine_similarity(base_q.reshape({-1}), base.reshape({-1}), 0).item<double>();
  double weight_rel = 0;
  for (const auto& [name, w] : (*original)->NamedWeights()) {
    if (name.find("_proj.weight") == std::string::npos) continue;
    const at::Tensor q = (*model)->NamedWeights().at(name);
    weight_rel = std::max(weight_rel, ((q - w).norm() / w.norm()).item<double>());
  }
  EXPECT_GT(rel, 0.0);
  EXPECT_GT(weight_rel, 0.01);
  EXPECT_LE(weight_rel, 0.12);
  EXPECT_GE(cosine, 0.9);
  // Exports plan shards from sizes known before dequantizing: they must be the dense sizes.
  const auto lazy = (*model)->LazyWeights();
  const auto unquantized = (*original)->NamedWeights();
  ASSERT_EQ(lazy.size(), unquantized.size());
  for (const auto& [name, w] : unquantized) {
    EXPECT_EQ(lazy.at(name).bytes, w.numel() * static_cast<std::int64_t>(w.element_size())) << name;
  }
}

}  // namespace
}  // namespace gspo::engine
