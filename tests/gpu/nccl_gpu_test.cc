// The NCCL communicator on two GPUs: two ranks in two threads of this process (rank r on cuda:r)
// over a FileStore in a temporary directory. Expected values are worked out from what each rank
// contributes. A rank that never makes its call makes the other fail at its deadline, and the
// failed communicator refuses later calls. Needs two visible GPUs; skipped with fewer.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/fakes/temp_dir.h"
#include "worker/engine/dist/communicator.h"
#include "worker/engine/dist/nccl_communicator.h"
#include "worker/engine/runtime.h"

namespace gspo::engine {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

#define SKIP_WITHOUT_TWO_GPUS()                                                           \
  do {                                                                                    \
    if (VisibleCudaDevices() < 2) GTEST_SKIP() << "needs 2 visible GPUs";                 \
    ASSERT_TRUE(NcclAvailable()) << "a CUDA build without the NCCL communicator";          \
  } while (0)

// Runs body(rank, communicator) for ranks 0 and 1, each in its own thread on cuda:rank.
void RunTwoRanks(std::chrono::milliseconds timeout,
                 const std::function<void(int, Communicator&)>& body) {
  gspo::testing::ScopedTempDir dir;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      SetCurrentCudaDevice(rank);
      NcclOptions o;
      o.store_path = dir.Join("store");
      o.rank = rank;
      o.world_size = 2;
      o.device = rank;
      o.timeout = timeout;
      auto communicator = CreateNcclCommunicator(o);
      ASSERT_TRUE(communicator.ok()) << communicator.status();
      EXPECT_EQ((*communicator)->rank(), rank);
      EXPECT_EQ((*communicator)->world_size(), 2);
      body(rank, **communicator);
    });
  }
  for (std::thread& t : threads) t.join();
}

at::TensorOptions On(int rank, at::ScalarType type) {
  return at::TensorOptions().dtype(type).device(at::Device(at::kCUDA, rank));
}

TEST(NcclCommunicator, AllReduceBroadcastAllGatherBarrier) {
  SKIP_WITHOUT_TWO_GPUS();
  RunTwoRanks(std::chrono::seconds(60), [](int rank, Communicator& c) {
    // Rank r holds (r + 1) x [1, 2, 3] in float32 and in bfloat16 (small integers are exact in
    // both): the sums are 3 x [1, 2, 3].
    const float k = static_cast<float>(rank + 1);
    for (at::ScalarType type : {at::kFloat, at::kBFloat16}) {
      std::vector<at::Tensor> tensors = {
          at::tensor({k, 2 * k, 3 * k}).to(On(rank, type)),
          at::full({1000}, rank - 4.0f, On(rank, type))};
      ASSERT_TRUE(c.AllReduceSum(tensors).ok());
      const at::Tensor sum = tensors[0].to(at::kCPU, at::kFloat);
      EXPECT_EQ(sum[0].item<float>(), 3.0f) << c10::toString(type);
      EXPECT_EQ(sum[1].item<float>(), 6.0f);
      EXPECT_EQ(sum[2].item<float>(), 9.0f);
      EXPECT_EQ(tensors[1].min().item<float>(), -7.0f);
      EXPECT_EQ(tensors[1].max().item<float>(), -7.0f);
    }
    std::vector<at::Tensor> from_root = {at::full({4}, 10.0f + rank, On(rank, at::kFloat))};
    ASSERT_TRUE(c.Broadcast(from_root, 1).ok());
    EXPECT_EQ(from_root[0].sum().item<float>(), 44.0f);
    auto gathered = c.AllGather({1.0 * rank, 0.5 + rank});
    ASSERT_TRUE(gathered.ok()) << gathered.status();
    EXPECT_EQ(*gathered, (std::vector<std::vector<double>>{{0.0, 0.5}, {1.0, 1.5}}));
    EXPECT_TRUE(c.Barrier().ok());
    // CPU tensors travel through the device (trajectory bytes of disaggregated ranks) ...
    std::vector<at::Tensor> on_cpu = {at::full({2}, 1.0f + rank)};
    ASSERT_TRUE(c.AllReduceSum(on_cpu).ok());
    EXPECT_TRUE(on_cpu[0].device().is_cpu());
    EXPECT_EQ(on_cpu[0].sum().item<float>(), 6.0f);
    std::vector<at::Tensor> cpu_root = {at::full({3}, 7.0f * rank)};
    ASSERT_TRUE(c.Broadcast(cpu_root, 1).ok());
    EXPECT_EQ(cpu_root[0].sum().item<float>(), 21.0f);
    // ... while another rank's GPU and other dtypes are refused before any collective.
    std::vector<at::Tensor> elsewhere = {at::ones({2}, On(1 - rank, at::kFloat))};
    EXPECT_EQ(c.AllReduceSum(elsewhere).code(), common::StatusCode::kInvalidArgument);
    std::vector<at::Tensor> half = {at::ones({2}, On(rank, at::kHalf))};
    EXPECT_THAT(c.AllReduceSum(half).message(), HasSubstr("only float32 and bfloat16"));
  });
}

TEST(NcclCommunicator, GradientsAreSummedOverTheRanks) {
  SKIP_WITHOUT_TWO_GPUS();
  RunTwoRanks(std::chrono::seconds(60), [](int rank, Communicator& c) {
    // A bfloat16 parameter whose gradient is (rank + 1) everywhere, and one without a gradient.
    at::Tensor a = at::zeros({3, 5}, On(rank, at::kBFloat16)).requires_grad_(true);
    a.mutable_grad() = at::full({3, 5}, rank + 1.0f, On(rank, at::kBFloat16));
    at::Tensor b = at::zeros({7}, On(rank, at::kFloat)).requires_grad_(true);
    ASSERT_TRUE(AllReduceGradients(c, {a, b}).ok());
    EXPECT_EQ(a.grad().min().item<float>(), 3.0f);
    EXPECT_EQ(a.grad().max().item<float>(), 3.0f);
    EXPECT_EQ(b.grad().abs().max().item<float>(), 0.0f);
  });
}

TEST(NcclCommunicator, ARankThatNeverCallsMakesTheOtherFailAtItsDeadline) {
  SKIP_WITHOUT_TWO_GPUS();
  RunTwoRanks(std::chrono::seconds(3), [](int rank, Communicator& c) {
    if (rank == 1) {
      // Never joins the all-reduce; waits until rank 0 has given up, then leaves.
      std::this_thread::sleep_for(std::chrono::seconds(6));
      return;
    }
    std::vector<at::Tensor> t = {at::ones({1024}, On(0, at::kFloat))};
    const Clock::time_point start = Clock::now();
    const common::Status failed = c.AllReduceSum(t);
    const double waited = SecondsSince(start);
    EXPECT_EQ(failed.code(), common::StatusCode::kDeadlineExceeded) << failed;
    EXPECT_THAT(failed.message(), HasSubstr("all-reduce (rank 0 of 2, cuda:0)"));
    EXPECT_THAT(failed.message(), HasSubstr("within 3.00 s"));
    EXPECT_GE(waited, 2.9);
    EXPECT_LT(waited, 3.0 + 2.0);
    const common::Status later = c.Barrier();
    EXPECT_EQ(later.code(), common::StatusCode::kAborted) << later;
    EXPECT_THAT(later.message(), HasSubstr("an earlier collective failed"));
  });
}

TEST(NcclCommunicator, ARankAloneGivesUpAfterTheTimeout) {
  SKIP_WITHOUT_TWO_GPUS();
  gspo::testing::ScopedTempDir dir;
  for (int rank : {0, 1}) {
    NcclOptions o;
    o.store_path = dir.Join("store-" + std::to_string(rank));
    o.rank = rank;
    o.world_size = 2;
    o.device = rank;
    o.timeout = std::chrono::seconds(2);
    const Clock::time_point start = Clock::now();
    auto alone = CreateNcclCommunicator(o);
    EXPECT_EQ(alone.status().code(), common::StatusCode::kDeadlineExceeded) << alone.status();
    EXPECT_THAT(alone.status().message(), HasSubstr("did not join within 2"));
    EXPECT_LT(SecondsSince(start), 2.0 + 3.0);
  }
}

}  // namespace
}  // namespace gspo::engine
