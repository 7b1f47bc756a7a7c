// AdamW with its moments offloaded to pinned host memory against the same optimizer with the
// moments on the GPU: bit-identical parameters and moments after three steps (float32 and
// bfloat16 parameters, one step where a parameter has no gradient), the state on the host and
// pinned, far less device memory, and a checkpoint round trip that resumes exactly.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "worker/engine/device_memory.h"
#include "worker/engine/train/adamw.h"

namespace gspo::engine {
namespace {

const at::Device kCuda("cuda:0");
constexpr double kLr[] = {1e-2, 5e-3, 2e-3};

// LoRA-like shapes (A [r, in], B [out, r]), odd sizes, and a bfloat16 parameter, which gets a
// scratch pair of its own. Values from the CPU generator, so that every call gives the same.
std::vector<at::Tensor> MakeParams() {
  std::vector<at::Tensor> params;
  at::manual_seed(7);
  const std::vector<std::vector<std::int64_t>> shapes = {{16, 200}, {300, 16}, {7}, {64, 64}};
  for (const std::vector<std::int64_t>& shape : shapes) {
    params.push_back(at::randn(shape).to(kCuda).set_requires_grad(true));
  }
  params.push_back(at::randn({33, 5}).to(kCuda, at::kBFloat16).set_requires_grad(true));
  return params;
}

std::vector<at::Tensor> Clone(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& p : params) out.push_back(p.detach().clone().set_requires_grad(true));
  return out;
}

// Step k: deterministic gradients, none for parameter 2 at step 1.
void StepWithGrads(AdamW& optimizer, const std::vector<at::Tensor>& params, int k) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (k == 1 && i == 2) continue;
    const at::Tensor& p = params[i];
    const at::Tensor g = at::sin(at::arange(p.numel(), at::kFloat) * 0.37 + k).view(p.sizes());
    p.mutable_grad() = g.to(p.options().requires_grad(false));
  }
  optimizer.Step(kLr[k]);
  optimizer.ZeroGrad();
}

AdamWConfig Config(bool offload) { return {0.9, 0.999, 1e-8, 0.01, offload}; }

std::map<std::string, at::Tensor> Snapshot(const AdamW& optimizer) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, tensor] : optimizer.State()) out[name] = tensor.to(at::kCPU).clone();
  return out;
}

void ExpectSameState(const AdamW& got, const AdamW& want) {
  const auto want_state = Snapshot(want);
  const auto got_state = Snapshot(got);
  ASSERT_EQ(got_state.size(), want_state.size());
  for (const auto& [name, tensor] : want_state)
    EXPECT_TRUE(at::equal(got_state.at(name), tensor)) << name;
}

TEST(AdamWOffload, ThreeStepsAreBitIdenticalToMomentsOnTheDevice) {
  std::vector<at::Tensor> resident = MakeParams();
  std::vector<at::Tensor> offloaded = Clone(resident);
  const std::vector<at::Tensor> initial = Clone(resident);
  const std::int64_t before = QueryDeviceMemory(kCuda).allocated;
  AdamW a(resident, Config(false));
  const std::int64_t middle = QueryDeviceMemory(kCuda).allocated;
  AdamW b(offloaded, Config(true));
  const std::int64_t after = QueryDeviceMemory(kCuda).allocated;
  // Resident: 2 x every parameter. Offloaded: 2 x the largest of each dtype (300 x 16 float32,
  // 33 x 5 bfloat16), each block rounded up to the allocator's 512 bytes.
  EXPECT_GE(middle - before, 2 * (16 * 200 + 300 * 16 + 7 + 64 * 64) * 4);
  EXPECT_LE(after - middle, 2 * (300 * 16 * 4 + 512) + 2 * (33 * 5 * 2 + 512));

  for (std::size_t i = 0; i < offloaded.size(); ++i) {
    EXPECT_FALSE(a.offloaded(i));
    EXPECT_TRUE(b.offloaded(i));
  }
  for (int k = 0; k < 3; ++k) {
    StepWithGrads(a, resident, k);
    StepWithGrads(b, offloaded, k);
  }
  for (std::size_t i = 0; i < resident.size(); ++i) {
    EXPECT_FALSE(at::equal(resident[i], initial[i])) << i;  // the steps did something
    EXPECT_TRUE(resident[i].is_cuda() && offloaded[i].is_cuda());
    EXPECT_TRUE(at::equal(offloaded[i], resident[i])) << i;
  }
  for (const auto& [name, tensor] : b.State()) {
    if (name == "step") continue;
    EXPECT_TRUE(tensor.is_cpu()) << name;
    EXPECT_TRUE(tensor.is_pinned()) << name;
  }
  for (const auto& [name, tensor] : a.State()) {
    if (name != "step") {
      EXPECT_TRUE(tensor.is_cuda()) << name;
    }
  }
  ExpectSameState(b, a);
  EXPECT_EQ(b.steps(), 3);
}

// Save after two steps, load into a new optimizer (offloaded; saved with and without offload),
// take the third: the bits of three uninterrupted steps.
TEST(AdamWOffload, ResumeFromStateIsExact) {
  std::vector<at::Tensor> straight = MakeParams();
  AdamW uninterrupted(straight, Config(true));
  for (int k = 0; k < 3; ++k) StepWithGrads(uninterrupted, straight, k);

  for (const bool save_offload : {true, false}) {
    std::vector<at::Tensor> first = MakeParams();
    AdamW before(first, Config(save_offload));
    for (int k = 0; k < 2; ++k) StepWithGrads(before, first, k);
    const auto saved = Snapshot(before);
    std::vector<at::Tensor> resumed = Clone(first);
    AdamW after(resumed, Config(true));
    after.LoadState(saved);
    EXPECT_EQ(after.steps(), 2);
    StepWithGrads(after, resumed, 2);
    for (std::size_t i = 0; i < straight.size(); ++i) {
      EXPECT_TRUE(at::equal(resumed[i], straight[i]))
          << "saved with offload " << save_offload << ", parameter " << i;
    }
    ExpectSameState(after, uninterrupted);
  }
}

}  // namespace
}  // namespace gspo::engine
