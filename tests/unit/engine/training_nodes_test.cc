// Training's single-node attention (model/attention.cc), rotation (model/rope.cc), gated MLP
// (model/mlp_node.h) and log-probabilities (train/log_prob_node.h) against the same functions
// written out independently here (attention: every query head against its kv head's keys,
// float64 softmax; the MLP with separate gate and up products; log-probabilities as
// log_softmax of the capped product) and differentiated by LibTorch's autograd; attention's and
// the rotation's forward against generation's, and the log-probabilities' against the composed
// operators', to the bit. (The LoRA node: lora_linear_test.cc.) Built for the
// CPU (gspo_engine_test) and, with GSPO_TEST_ON_CUDA, for the GPU (tests/gpu).
#include "worker/engine/model/attention.h"
#include "worker/engine/model/mlp_node.h"
#include "worker/engine/model/rope.h"
#include "worker/engine/train/log_prob_node.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/engine/test_device.h"

namespace gspo::engine {
namespace {

const at::Device kDevice = test_support::kTestDevice;

struct Shape {
  std::int64_t heads, kv_heads, tokens;
  std::optional<double> softcap;
  std::int64_t window;           // 0: none
  std::int64_t query_block = 0;  // MaskedAttention's (0: its own choice, one block at these sizes)
};

// softmax(softcap(q k^T * scale) + mask) v per query head, in float64.
at::Tensor Reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed,
                     double scale, std::optional<double> softcap) {
  const std::int64_t group = q.size(1) / k.size(1);
  const at::Tensor k_full = k.repeat_interleave(group, 1), v_full = v.repeat_interleave(group, 1);
  at::Tensor scores = at::matmul(q, k_full.transpose(-1, -2)) * scale;
  if (softcap) scores = at::tanh(scores / *softcap) * *softcap;
  scores = scores.masked_fill(allowed.unsqueeze(1).logical_not(), -std::numeric_limits<double>::infinity());
  return at::matmul(at::softmax(scores, -1), v_full);
}

struct Inputs {
  at::Tensor q, k, v, bias, allowed;
};

Inputs MakeInputs(const Shape& shape, at::ScalarType dtype) {
  constexpr std::int64_t batch = 2, dim = 8;
  at::manual_seed(5);
  const auto draw = [&](std::vector<std::int64_t> sizes) {
    return (at::randn(sizes, at::TensorOptions().dtype(at::kDouble)) * 2).to(kDevice, dtype);
  };
  Inputs in;
  // Laid out as the model makes them: [B,T,H,D] transposed, so not contiguous.
  in.q = draw({batch, shape.tokens, shape.heads, dim}).transpose(1, 2);
  in.k = draw({batch, shape.tokens, shape.kv_heads, dim}).transpose(1, 2);
  in.v = draw({batch, shape.tokens, shape.kv_heads, dim}).transpose(1, 2);
  const auto longs = at::TensorOptions().dtype(at::kLong).device(kDevice);
  const at::Tensor positions = at::arange(shape.tokens, longs).unsqueeze(0).expand({batch, shape.tokens});
  at::Tensor valid = at::ones({batch, shape.tokens}, longs.dtype(at::kBool));
  valid[1][shape.tokens - 1] = false;  // one padded key
  in.bias = AttentionBias(positions, positions, valid, shape.window, dtype);
  in.allowed = in.bias.squeeze(1) == 0;
  return in;
}

std::string Name(const Shape& s) {
  return "heads " + std::to_string(s.heads) + "/" + std::to_string(s.kv_heads) + " tokens " +
         std::to_string(s.tokens) + (s.softcap ? " softcap" : "") + (s.window ? " window" : "");
}

const std::vector<Shape>& Shapes() {
  static const std::vector<Shape> shapes = {
      {4, 2, 7, 50.0, 0},   // Gemma 2: soft-capped, grouped
      {4, 4, 6, std::nullopt, 0},
      {6, 2, 9, 20.0, 4},   // a sliding window
      {2, 1, 300, 50.0, 0, 256},  // two query blocks
  };
  return shapes;
}

// Sets an environment switch for a scope (the kernels' switches are read at every call).
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  const char* name_;
};

double RelativeError(const at::Tensor& got, const at::Tensor& want) {
  return ((got.to(at::kDouble) - want).abs().max() / want.abs().max()).item<double>();
}

TEST(AttentionNode, OutputAndGradientsEqualAutogradOfTheWrittenOutAttention) {
  constexpr double kScale = 0.35;
  for (const Shape& shape : Shapes()) {
    Inputs node = MakeInputs(shape, at::kDouble);
    Inputs ref = MakeInputs(shape, at::kDouble);
    for (at::Tensor* x : {&node.q, &node.k, &node.v, &ref.q, &ref.k, &ref.v}) x->requires_grad_(true);
    const at::Tensor out = MaskedAttention(node.q, node.k, node.v, node.bias, kScale, shape.softcap,
                                           shape.query_block);
    const at::Tensor want = Reference(ref.q, ref.k, ref.v, ref.allowed, kScale, shape.softcap);
    const at::Tensor probe = at::randn(want.sizes(), at::TensorOptions().dtype(at::kDouble)).to(kDevice);
    (out * probe).sum().backward();
    (want * probe).sum().backward();
    // The softmax runs in float32 in the model, hence 1e-6 and not float64's rounding.
    EXPECT_LE(RelativeError(out, want), 1e-6) << Name(shape);
    EXPECT_LE(RelativeError(node.q.grad(), ref.q.grad()), 1e-6) << Name(shape) << " dq";
    EXPECT_LE(RelativeError(node.k.grad(), ref.k.grad()), 1e-6) << Name(shape) << " dk";
    EXPECT_LE(RelativeError(node.v.grad(), ref.v.grad()), 1e-6) << Name(shape) << " dv";
  }
}

// Training's forward runs generation's operators: the same values to the bit, in every dtype.
TEST(AttentionNode, ForwardEqualsTheNoGradComputationBitForBit) {
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    for (const Shape& shape : Shapes()) {
      Inputs in = MakeInputs(shape, dtype);
      at::Tensor plain;
      {
        c10::NoGradGuard no_grad;
        plain = MaskedAttention(in.q, in.k, in.v, in.bias, 0.35, shape.softcap, shape.query_block);
      }
      in.q.requires_grad_(true);
      const at::Tensor trained =
          MaskedAttention(in.q, in.k, in.v, in.bias, 0.35, shape.softcap, shape.query_block);
      ASSERT_TRUE(trained.requires_grad()) << Name(shape);
      EXPECT_TRUE(at::equal(trained.detach(), plain)) << Name(shape);
    }
  }
}

// bf16 gradients within bf16's precision of the float64 ones.
TEST(AttentionNode, Bf16GradientsStayNearTheFloat64Ones) {
  for (const Shape& shape : Shapes()) {
    Inputs low = MakeInputs(shape, at::kBFloat16);
    Inputs ref = MakeInputs(shape, at::kDouble);
    for (at::Tensor* x : {&low.q, &low.k, &low.v, &ref.q, &ref.k, &ref.v}) x->requires_grad_(true);
    const at::Tensor out =
        MaskedAttention(low.q, low.k, low.v, low.bias, 0.35, shape.softcap, shape.query_block);
    const at::Tensor want = Reference(ref.q, ref.k, ref.v, ref.allowed, 0.35, shape.softcap);
    const at::Tensor probe = at::randn(want.sizes(), at::TensorOptions().dtype(at::kDouble)).to(kDevice);
    (out.to(at::kDouble) * probe).sum().backward();
    (want * probe).sum().backward();
    EXPECT_LE(RelativeError(low.q.grad(), ref.q.grad()), 5e-2) << Name(shape) << " dq";
    EXPECT_LE(RelativeError(low.k.grad(), ref.k.grad()), 5e-2) << Name(shape) << " dk";
    EXPECT_LE(RelativeError(low.v.grad(), ref.v.grad()), 5e-2) << Name(shape) << " dv";
  }
}

// On CUDA the steps between attention's two products run as one kernel each way: the output and
// the gradients agree with the operators' (GSPO_ATTENTION_PROBS_KERNEL=0) to a rounding of the
// dtype and stay as near the float64 ones, for rows of 8-element vectors (64 keys) and not.
TEST(AttentionNode, KernelsAgreeWithTheOperatorsOnCuda) {
  if (!kDevice.is_cuda()) GTEST_SKIP() << "the kernels are CUDA only";
  std::vector<Shape> shapes = Shapes();
  shapes.push_back({4, 2, 64, 50.0, 0});
  shapes.push_back({4, 1, 64, 30.0, 16});
  for (const at::ScalarType dtype : {at::kBFloat16, at::kFloat}) {
    for (const Shape& shape : shapes) {
      const std::string what = Name(shape) + (dtype == at::kFloat ? " float32" : " bf16");
      Inputs ref = MakeInputs(shape, at::kDouble);
      for (at::Tensor* x : {&ref.q, &ref.k, &ref.v}) x->requires_grad_(true);
      const at::Tensor want = Reference(ref.q, ref.k, ref.v, ref.allowed, 0.35, shape.softcap);
      at::manual_seed(29);
      const at::Tensor probe = at::randn(want.sizes(), at::TensorOptions().dtype(at::kDouble)).to(kDevice);
      (want * probe).sum().backward();
      const auto run = [&](const char* kernels) {
        ScopedEnv env("GSPO_ATTENTION_PROBS_KERNEL", kernels);
        Inputs in = MakeInputs(shape, dtype);
        for (at::Tensor* x : {&in.q, &in.k, &in.v}) x->requires_grad_(true);
        const at::Tensor out =
            MaskedAttention(in.q, in.k, in.v, in.bias, 0.35, shape.softcap, shape.query_block);
        (out.to(at::kDouble) * probe).sum().backward();
        return std::vector<at::Tensor>{out.detach(), in.q.grad(), in.k.grad(), in.v.grad()};
      };
      const std::vector<at::Tensor> ops = run("0"), kernel = run("1");
      const std::vector<at::Tensor> wanted = {want.detach(), ref.q.grad(), ref.k.grad(), ref.v.grad()};
      const double rounding = dtype == at::kFloat ? 1e-5 : 2e-2, tolerance = dtype == at::kFloat ? 1e-4 : 5e-2;
      const char* names[] = {"out", "dq", "dk", "dv"};
      for (std::size_t i = 0; i < ops.size(); ++i) {
        EXPECT_LE(RelativeError(kernel[i], ops[i].to(at::kDouble)), rounding) << what << " " << names[i];
        EXPECT_LE(RelativeError(kernel[i], wanted[i]), tolerance) << what << " " << names[i];
        EXPECT_EQ(kernel[i].scalar_type(), dtype) << what << " " << names[i];
      }
    }
  }
}

// The rotation: x cos + [-x2, x1] sin, written out with index arithmetic.
at::Tensor ReferenceRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const std::int64_t half = x.size(-1) / 2;
  const at::Tensor index = at::cat({at::arange(half, 2 * half), at::arange(0, half)}).to(x.device());
  const at::Tensor sign =
      at::cat({-at::ones({half}, at::kDouble), at::ones({half}, at::kDouble)}).to(x.device(), x.scalar_type());
  return x * cos + x.index_select(-1, index) * sign * sin;
}

TEST(RotaryNode, OutputAndGradientEqualAutogradOfTheWrittenOutRotation) {
  at::manual_seed(9);
  const auto opts = at::TensorOptions().dtype(at::kDouble).device(kDevice);
  const at::Tensor angles = at::randn({2, 1, 5, 3}, opts);
  const at::Tensor cos = at::cat({angles, angles}, -1).cos(), sin = at::cat({angles, angles}, -1).sin();
  const at::Tensor base = at::randn({2, 5, 4, 6}, opts);
  at::Tensor x = base.clone().transpose(1, 2).requires_grad_(true);  // [B,H,T,D], not contiguous
  at::Tensor x_ref = base.clone().transpose(1, 2).requires_grad_(true);
  const at::Tensor y = ApplyRotary(x, cos, sin);
  const at::Tensor want = ReferenceRotary(x_ref, cos, sin);
  const at::Tensor probe = at::randn(want.sizes(), opts);
  (y * probe).sum().backward();
  (want * probe).sum().backward();
  EXPECT_LE(RelativeError(y, want), 1e-14);
  EXPECT_LE(RelativeError(x.grad(), x_ref.grad()), 1e-14);
}

TEST(RotaryNode, ForwardEqualsTheNoGradComputationBitForBit) {
  at::manual_seed(10);
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    const at::Tensor angles = at::randn({1, 1, 7, 4}).to(kDevice);
    const at::Tensor cos = at::cat({angles, angles}, -1).cos().to(dtype);
    const at::Tensor sin = at::cat({angles, angles}, -1).sin().to(dtype);
    at::Tensor x = at::randn({1, 3, 7, 8}).to(kDevice, dtype);
    at::Tensor plain;
    {
      c10::NoGradGuard no_grad;
      plain = ApplyRotary(x, cos, sin);
    }
    x.requires_grad_(true);
    const at::Tensor trained = ApplyRotary(x, cos, sin);
    ASSERT_TRUE(trained.requires_grad());
    EXPECT_TRUE(at::equal(trained.detach(), plain));
  }
}

// On CUDA the rotation node runs one kernel each way: the operators' values and gradients
// (GSPO_ROTARY_KERNEL=0) to the bit, the output contiguous and the gradient in x's layout (the
// transposed view of a projection), with per-row tables and with one table for every row.
TEST(RotaryNode, KernelsEqualTheOperatorsBitForBitOnCuda) {
  if (!kDevice.is_cuda()) GTEST_SKIP() << "the kernels are CUDA only";
  for (const at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    for (const std::int64_t table_rows : {2, 1}) {
      at::manual_seed(31);
      const at::Tensor angles = (at::randn({table_rows, 1, 9, 32}) * 3).to(kDevice);
      const at::Tensor cos = at::cat({angles, angles}, -1).cos().to(dtype);
      const at::Tensor sin = at::cat({angles, angles}, -1).sin().to(dtype);
      const at::Tensor base = at::randn({2, 9, 4, 64}).to(kDevice, dtype);
      const at::Tensor probe = at::randn({2, 4, 9, 64}).to(kDevice);
      const std::string what = std::string(dtype == at::kFloat ? "float32" : "bf16") + " tables " +
                               std::to_string(table_rows);
      const auto run = [&](const char* kernels) {
        ScopedEnv env("GSPO_ROTARY_KERNEL", kernels);
        at::Tensor x = base.clone().transpose(1, 2).requires_grad_(true);  // [B,H,T,D], not contiguous
        const at::Tensor y = ApplyRotary(x, cos, sin);
        (y.to(at::kFloat) * probe).sum().backward();
        return std::make_pair(y.detach(), x.grad());
      };
      const auto [ops, ops_grad] = run("0");
      const auto [kernel, kernel_grad] = run("1");
      EXPECT_TRUE(at::equal(kernel, ops)) << what;
      EXPECT_TRUE(at::equal(kernel_grad, ops_grad)) << what;
      EXPECT_TRUE(kernel.is_contiguous()) << what;
      EXPECT_EQ(kernel_grad.strides(), base.transpose(1, 2).strides()) << what;
    }
  }
}

// The MLP node against gate and up as separate products, for each activation, in float64 (to
// rounding) and bf16 (to bf16 precision of the float64 result).
TEST(MlpNode, OutputAndGradientEqualAutogradOfSeparateProducts) {
  constexpr std::int64_t hidden = 6, features = 10;
  for (const Activation activation : {Activation::kGeluTanh, Activation::kGelu, Activation::kSilu}) {
    for (const at::ScalarType dtype : {at::kDouble, at::kBFloat16}) {
      at::manual_seed(13);
      const auto draw = [&](std::vector<std::int64_t> sizes, at::ScalarType type) {
        return at::randn(sizes, at::TensorOptions().dtype(at::kDouble)).to(kDevice, type);
      };
      const at::Tensor gate_w = draw({features, hidden}, at::kDouble), up_w = draw({features, hidden}, at::kDouble);
      const at::Tensor down_w = draw({hidden, features}, at::kDouble);
      const at::Tensor x_base = draw({2, 3, hidden}, at::kDouble), probe = draw({2, 3, hidden}, at::kDouble);
      at::Tensor x = x_base.clone().to(dtype).requires_grad_(true);
      const at::Tensor y = GatedMlpNode(x, at::cat({gate_w, up_w}).to(dtype), down_w.to(dtype), activation);
      (y.to(at::kDouble) * probe).sum().backward();
      at::Tensor x_ref = x_base.clone().requires_grad_(true);
      const at::Tensor want =
          at::linear(ApplyActivation(at::linear(x_ref, gate_w), activation) * at::linear(x_ref, up_w), down_w);
      (want * probe).sum().backward();
      const double tolerance = dtype == at::kDouble ? 1e-12 : 3e-2;
      const std::string what = "activation " + std::to_string(static_cast<int>(activation)) +
                               (dtype == at::kDouble ? " float64" : " bf16");
      EXPECT_LE(RelativeError(y, want), tolerance) << what;
      EXPECT_LE(RelativeError(x.grad(), x_ref.grad()), tolerance) << what;
      EXPECT_EQ(x.grad().scalar_type(), dtype) << what;
    }
  }
}

// On CUDA the MLP node's activation runs as one kernel each way: its values and gradients agree
// with the operators' (GSPO_MLP_KERNEL=0) to a rounding of the model dtype and stay as near the
// float64 ones, for each activation, with rows of 8-element vectors (F = 256) and without (F = 10).
TEST(MlpNode, KernelsAgreeWithTheOperatorsOnCuda) {
  if (!kDevice.is_cuda()) GTEST_SKIP() << "the kernels are CUDA only";
  constexpr std::int64_t hidden = 64;
  for (const std::int64_t features : {256, 10}) {
    for (const Activation activation : {Activation::kGeluTanh, Activation::kGelu, Activation::kSilu}) {
      for (const at::ScalarType dtype : {at::kBFloat16, at::kFloat}) {
        at::manual_seed(23);
        const auto opts = at::TensorOptions().dtype(at::kDouble);
        const at::Tensor gate_up_w = (at::randn({2 * features, hidden}, opts) * 0.3).to(kDevice);
        const at::Tensor down_w = (at::randn({hidden, features}, opts) * 0.3).to(kDevice);
        const at::Tensor x_base = at::randn({3, 5, hidden}, opts).to(kDevice);
        const at::Tensor probe = at::randn({3, 5, hidden}, opts).to(kDevice);
        const std::string what = "F " + std::to_string(features) + " activation " +
                                 std::to_string(static_cast<int>(activation)) +
                                 (dtype == at::kFloat ? " float32" : " bf16");
        at::Tensor x_ref = x_base.clone().requires_grad_(true);
        const at::Tensor want = GatedMlpNode(x_ref, gate_up_w, down_w, activation);
        (want * probe).sum().backward();
        const auto run = [&](const char* kernels) {
          ScopedEnv env("GSPO_MLP_KERNEL", kernels);
          at::Tensor x = x_base.to(dtype).requires_grad_(true);
          const at::Tensor y = GatedMlpNode(x, gate_up_w.to(dtype), down_w.to(dtype), activation);
          (y.to(at::kDouble) * probe).sum().backward();
          return std::make_pair(y, x.grad());
        };
        const auto [ops, ops_grad] = run("0");
        const auto [kernel, kernel_grad] = run("1");
        const double rounding = dtype == at::kFloat ? 1e-5 : 2e-2;
        EXPECT_LE(RelativeError(kernel, ops.to(at::kDouble)), rounding) << what;
        EXPECT_LE(RelativeError(kernel_grad, ops_grad.to(at::kDouble)), rounding) << what;
        const double tolerance = dtype == at::kFloat ? 1e-4 : 3e-2;
        EXPECT_LE(RelativeError(kernel, want.detach()), tolerance) << what;
        EXPECT_LE(RelativeError(kernel_grad, x_ref.grad()), tolerance) << what;
        EXPECT_EQ(kernel_grad.scalar_type(), dtype) << what;
      }
    }
  }
}

// log_softmax(cap(x W^T) / T)[target] and the entropy written out, in the dtype of its inputs
// (the cap rounded step by step, as the model's logits are), differentiated by autograd.
struct WrittenOutLogProbs {
  at::Tensor logp, entropy;
};
WrittenOutLogProbs WrittenOut(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& targets,
                              std::optional<double> softcap, double temperature) {
  at::Tensor logits = at::mm(x, weight.t());
  if (softcap) logits = at::tanh(logits / *softcap) * *softcap;
  const at::Tensor log_probs = at::log_softmax(logits.to(at::kDouble) / temperature, -1);
  return {log_probs.gather(1, targets.unsqueeze(1)).squeeze(1), -(log_probs.exp() * log_probs).sum(-1).detach()};
}

// Random float64 inputs of a log-probability test, on the test device.
struct LogProbInputs {
  at::Tensor weight, x, probe, targets;
};
LogProbInputs DrawLogProbInputs(std::int64_t rows, std::int64_t hidden, std::int64_t vocab, double weight_scale,
                                std::uint64_t seed) {
  at::manual_seed(seed);
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  LogProbInputs in;
  in.weight = (at::randn({vocab, hidden}, opts) * weight_scale).to(kDevice);
  in.x = at::randn({rows, hidden}, opts).to(kDevice);
  in.probe = at::randn({rows}, opts).to(kDevice);
  in.targets = at::randint(vocab, {rows}, at::TensorOptions().dtype(at::kLong)).to(kDevice);
  return in;
}

// The log-probability node with and without a soft-cap, at T = 1 and 0.7: float64 to rounding;
// bf16 values equal to the composed bf16 operators' to the bit (the forward rounds where they
// do), bf16 gradients to bf16 precision of the float64 ones.
TEST(LogProbNode, ValuesAndGradientEqualAutogradOfTheWrittenOutLogSoftmax) {
  constexpr std::int64_t rows = 130, hidden = 6, vocab = 300;  // rows past one of the entropy's pieces
  // The node's operators (on CUDA its kernels are the default: the test after this one).
  const ScopedEnv operators("GSPO_LOGPROB_KERNEL", "0");
  for (const std::optional<double> softcap : {std::optional<double>(), std::optional<double>(3.0)}) {
    for (const double temperature : {1.0, 0.7}) {
      const LogProbInputs in = DrawLogProbInputs(rows, hidden, vocab, 2.0, 17);
      const std::string what = std::string(softcap ? "capped" : "uncapped") + " T " + std::to_string(temperature);

      at::Tensor x = in.x.clone().requires_grad_(true);
      const HeadLogProbs got = LogProbNode(x, in.targets, {in.weight, softcap}, temperature);
      (got.logp * in.probe).sum().backward();
      at::Tensor x_ref = in.x.clone().requires_grad_(true);
      const WrittenOutLogProbs want = WrittenOut(x_ref, in.weight, in.targets, softcap, temperature);
      (want.logp * in.probe).sum().backward();
      EXPECT_LE(RelativeError(got.logp, want.logp), 1e-12) << what;
      EXPECT_LE(RelativeError(got.entropy, want.entropy), 1e-12) << what;
      EXPECT_LE(RelativeError(x.grad(), x_ref.grad()), 1e-12) << what;
      EXPECT_FALSE(got.entropy.requires_grad()) << what;

      const at::Tensor w16 = in.weight.to(at::kBFloat16);
      at::Tensor x16 = in.x.to(at::kBFloat16).requires_grad_(true);
      const HeadLogProbs got16 = LogProbNode(x16, in.targets, {w16, softcap}, temperature);
      (got16.logp.to(at::kDouble) * in.probe).sum().backward();
      at::Tensor logits16 = at::mm(in.x.to(at::kBFloat16), w16.t());
      if (softcap) logits16 = at::tanh(logits16 / *softcap) * *softcap;
      const at::Tensor composed = at::log_softmax(logits16.to(at::kFloat).div_(temperature), -1);
      EXPECT_TRUE(at::equal(got16.logp, composed.gather(1, in.targets.unsqueeze(1)).squeeze(1))) << what;
      EXPECT_LE(RelativeError(x16.grad(), x_ref.grad()), 3e-2) << what;
      EXPECT_EQ(x16.grad().scalar_type(), at::kBFloat16) << what;
    }
  }
}

// On CUDA, GSPO_LOGPROB_KERNEL=1 runs both passes over the logits as kernels: their values
// agree with the operators' to float32 rounding (but are not theirs to the bit, so the switch
// is seen to switch), and their gradients stay as near the float64 ones as the operators' must.
TEST(LogProbNode, KernelsAgreeWithTheOperatorsOnCuda) {
  if (!kDevice.is_cuda()) GTEST_SKIP() << "the kernels are CUDA only";
  constexpr std::int64_t rows = 130, hidden = 64;
  // Rows of whole 16-byte vectors (5008) and not (5003).
  for (const std::int64_t vocab : {5003, 5008}) {
    for (const at::ScalarType dtype : {at::kBFloat16, at::kFloat}) {
      for (const std::optional<double> softcap : {std::optional<double>(), std::optional<double>(30.0)}) {
        for (const double temperature : {1.0, 0.7}) {
          const LogProbInputs in = DrawLogProbInputs(rows, hidden, vocab, 0.7, 19);
          const std::string what = "vocabulary " + std::to_string(vocab) +
                                   (dtype == at::kFloat ? " float32" : " bf16") + (softcap ? " capped" : " uncapped") +
                                   " T " + std::to_string(temperature);
          at::Tensor x_ref = in.x.clone().requires_grad_(true);
          (WrittenOut(x_ref, in.weight, in.targets, softcap, temperature).logp * in.probe).sum().backward();
          const auto run = [&](const char* kernels) {
            ScopedEnv env("GSPO_LOGPROB_KERNEL", kernels);
            at::Tensor x = in.x.to(dtype).requires_grad_(true);
            const HeadLogProbs got = LogProbNode(x, in.targets, {in.weight.to(dtype), softcap}, temperature);
            (got.logp.to(at::kDouble) * in.probe).sum().backward();
            return std::make_pair(got, x.grad());
          };
          const auto [ops, ops_grad] = run("0");
          const auto [kernel, kernel_grad] = run("1");
          EXPECT_LE((kernel.logp - ops.logp).abs().max().item<double>(), 1e-4) << what;
          EXPECT_LE((kernel.entropy - ops.entropy).abs().max().item<double>(), 1e-4) << what;
          EXPECT_FALSE(at::equal(kernel.logp, ops.logp)) << what << ": the switch changed nothing";
          const double tolerance = dtype == at::kFloat ? 1e-4 : 3e-2;
          EXPECT_LE(RelativeError(kernel_grad, x_ref.grad()), tolerance) << what;
          EXPECT_LE(RelativeError(ops_grad, x_ref.grad()), tolerance) << what;
        }
      }
    }
  }
}

}  // namespace
}  // namespace gspo::engine
