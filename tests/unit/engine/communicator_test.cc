// The communicators: SingleRankCommunicator, and GlooCommunicator with two ranks in two threads
// of this process, over a FileStore in a temporary directory. Expected values are worked out
// from what each rank contributes.
#include "worker/engine/dist/communicator.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "tests/fakes/temp_dir.h"
#include "worker/engine/dist/gloo_communicator.h"

namespace gspo::engine {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

GlooOptions Options(const std::string& store, int rank, int world,
                    std::chrono::milliseconds timeout) {
  GlooOptions o;
  o.store_path = store;
  o.rank = rank;
  o.world_size = world;
  o.timeout = timeout;
  return o;
}

// Runs body(rank, communicator) for each rank of a Gloo world in its own thread.
void RunRanks(int world, std::chrono::milliseconds timeout,
              const std::function<void(int, Communicator&)>& body) {
  gspo::testing::ScopedTempDir dir;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      auto communicator = CreateGlooCommunicator(Options(dir.Join("store"), rank, world, timeout));
      ASSERT_TRUE(communicator.ok()) << communicator.status();
      EXPECT_EQ((*communicator)->rank(), rank);
      EXPECT_EQ((*communicator)->world_size(), world);
      body(rank, **communicator);
    });
  }
  for (std::thread& t : threads) t.join();
}

TEST(SingleRankCommunicator, CollectivesAreTheIdentity) {
  SingleRankCommunicator one;
  std::vector<at::Tensor> tensors = {at::tensor({1.5f, -2.0f})};
  ASSERT_TRUE(one.AllReduceSum(tensors).ok());
  EXPECT_EQ(tensors[0][0].item<float>(), 1.5f);
  EXPECT_EQ(tensors[0][1].item<float>(), -2.0f);
  ASSERT_TRUE(one.Broadcast(tensors, 0).ok());
  EXPECT_FALSE(one.Broadcast(tensors, 1).ok());
  auto gathered = one.AllGather({4.0, 5.0});
  ASSERT_TRUE(gathered.ok());
  EXPECT_EQ(*gathered, (std::vector<std::vector<double>>{{4.0, 5.0}}));
  std::vector<at::Tensor> half = {at::ones({2}, at::kBFloat16)};
  common::Status refused = one.AllReduceSum(half);
  EXPECT_EQ(refused.code(), common::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("only float32"));
}

TEST(GlooCommunicator, AllReduceBroadcastAllGatherBarrier) {
  RunRanks(2, std::chrono::seconds(30), [](int rank, Communicator& c) {
    // Rank r holds (r + 1) x [1, 2, 3] and r - 4: the sums are 3 x [1, 2, 3] and -7.
    const float k = static_cast<float>(rank + 1);
    std::vector<at::Tensor> tensors = {at::tensor({k, 2 * k, 3 * k}), at::tensor({rank - 4.0f})};
    ASSERT_TRUE(c.AllReduceSum(tensors).ok());
    EXPECT_EQ(tensors[0][0].item<float>(), 3.0f);
    EXPECT_EQ(tensors[0][1].item<float>(), 6.0f);
    EXPECT_EQ(tensors[0][2].item<float>(), 9.0f);
    EXPECT_EQ(tensors[1][0].item<float>(), -7.0f);

    std::vector<at::Tensor> from_one = {at::full({4}, static_cast<float>(10 * rank))};
    ASSERT_TRUE(c.Broadcast(from_one, /*root=*/1).ok());
    EXPECT_EQ(from_one[0].sum().item<float>(), 40.0f);  // 4 x rank 1's 10

    auto gathered = c.AllGather({static_cast<double>(rank), 0.25 + rank});
    ASSERT_TRUE(gathered.ok()) << gathered.status();
    EXPECT_EQ(*gathered, (std::vector<std::vector<double>>{{0.0, 0.25}, {1.0, 1.25}}));
    EXPECT_TRUE(c.Barrier().ok());
  });
}

TEST(GlooCommunicator, AllReduceGradientsSumsEveryParameterInOneBuffer) {
  RunRanks(2, std::chrono::seconds(30), [](int rank, Communicator& c) {
    at::Tensor a = at::zeros({2, 2}, at::kFloat).requires_grad_();
    at::Tensor b = at::zeros({3}, at::kFloat).requires_grad_();
    a.mutable_grad() = at::full({2, 2}, rank + 1.0f);
    if (rank == 0) b.mutable_grad() = at::tensor({1.0f, 2.0f, 3.0f});  // rank 1 has none: zeros
    ASSERT_TRUE(AllReduceGradients(c, {a, b}).ok());
    EXPECT_TRUE(at::equal(a.grad(), at::full({2, 2}, 3.0f)));
    EXPECT_TRUE(at::equal(b.grad(), at::tensor({1.0f, 2.0f, 3.0f})));
  });
}

TEST(GlooCommunicator, RefusesOtherDtypesBeforeCommunicating) {
  RunRanks(2, std::chrono::seconds(30), [](int, Communicator& c) {
    std::vector<at::Tensor> half = {at::ones({2}, at::kBFloat16)};
    common::Status refused = c.AllReduceSum(half);
    EXPECT_EQ(refused.code(), common::StatusCode::kInvalidArgument);
    EXPECT_THAT(refused.message(), HasSubstr("BFloat16"));
    EXPECT_THAT(refused.message(), HasSubstr("not supported by Gloo"));
    std::vector<at::Tensor> doubles = {at::ones({2}, at::kDouble)};
    EXPECT_EQ(c.Broadcast(doubles, 0).code(), common::StatusCode::kInvalidArgument);
    // Nothing was sent, so the ranks still agree.
    std::vector<at::Tensor> ok = {at::ones({2})};
    EXPECT_TRUE(c.AllReduceSum(ok).ok());
    EXPECT_EQ(ok[0][0].item<float>(), 2.0f);
  });
}

TEST(GlooCommunicator, ACollectiveOnlyOneRankEntersTimesOut) {
  std::promise<void> rank0_done;
  std::shared_future<void> done = rank0_done.get_future().share();
  RunRanks(2, std::chrono::seconds(2), [&](int rank, Communicator& c) {
    if (rank == 1) {  // never enters the all-reduce, and stays alive until rank 0 gave up
      done.wait();
      return;
    }
    std::vector<at::Tensor> t = {at::ones({3})};
    const auto start = Clock::now();
    common::Status status = c.AllReduceSum(t);
    const double waited = SecondsSince(start);
    rank0_done.set_value();
    EXPECT_EQ(status.code(), common::StatusCode::kDeadlineExceeded) << status;
    EXPECT_THAT(status.message(), HasSubstr("within 2 s"));
    EXPECT_GE(waited, 1.5);
    EXPECT_LT(waited, 15.0);
    // The communicator is not used again after a failure.
    EXPECT_EQ(c.Barrier().code(), common::StatusCode::kAborted);
  });
}

TEST(GlooCommunicator, ARankThatNeverJoinsTimesOutTheRendezvous) {
  gspo::testing::ScopedTempDir dir;
  const auto start = Clock::now();
  auto alone = CreateGlooCommunicator(Options(dir.Join("store"), 0, 2, std::chrono::seconds(2)));
  const double waited = SecondsSince(start);
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.status().code(), common::StatusCode::kDeadlineExceeded) << alone.status();
  EXPECT_THAT(alone.status().message(), HasSubstr("did not join within 2 s"));
  EXPECT_GE(waited, 1.5);
  EXPECT_LT(waited, 15.0);
}

TEST(GlooCommunicator, ARankThatLeavesFailsTheOthersBeforeTheTimeout) {
  gspo::testing::ScopedTempDir dir;
  std::promise<void> rank0_joined, rank1_gone;
  std::thread leaver([&] {
    auto c = CreateGlooCommunicator(Options(dir.Join("store"), 1, 2, std::chrono::seconds(60)));
    EXPECT_TRUE(c.ok()) << c.status();
    rank0_joined.get_future().wait();
    if (c.ok()) c->reset();  // closes its connections, as a dying process does
    rank1_gone.set_value();
  });
  auto c = CreateGlooCommunicator(Options(dir.Join("store"), 0, 2, std::chrono::seconds(60)));
  rank0_joined.set_value();
  rank1_gone.get_future().wait();
  leaver.join();
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<at::Tensor> t = {at::ones({3})};
  const auto start = Clock::now();
  common::Status status = (*c)->AllReduceSum(t);
  EXPECT_FALSE(status.ok());
  EXPECT_LT(SecondsSince(start), 30.0) << status;
}

// Three ranks: subgroup "pair" = world ranks {2, 0} (numbered 0, 1 in that order) and "solo" =
// {1}. A subgroup's collectives involve only its members, in their own order.
TEST(GlooCommunicator, SubgroupsReduceAndBroadcastAmongTheirMembers) {
  gspo::testing::ScopedTempDir dir;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 3; ++rank) {
    threads.emplace_back([&, rank] {
      auto joined = CreateGlooCommunicators(Options(dir.Join("store"), rank, 3, std::chrono::seconds(30)),
                                            {{"pair", {2, 0}}, {"solo", {1}}});
      ASSERT_TRUE(joined.ok()) << joined.status();
      ASSERT_EQ(joined->subgroups.size(), 2u);
      Communicator* pair = joined->subgroups[0].get();
      Communicator* solo = joined->subgroups[1].get();
      EXPECT_EQ(pair != nullptr, rank != 1);
      EXPECT_EQ(solo != nullptr, rank == 1);
      if (pair != nullptr) {
        EXPECT_EQ(pair->rank(), rank == 2 ? 0 : 1);
        EXPECT_EQ(pair->world_size(), 2);
        // World ranks 0 and 2 hold 1 and 3: the pair's sum is 4 (rank 1's 100 stays out).
        std::vector<at::Tensor> t = {at::full({2}, static_cast<float>(rank + 1))};
        ASSERT_TRUE(pair->AllReduceSum(t).ok());
        EXPECT_EQ(t[0][1].item<float>(), 4.0f);
        std::vector<at::Tensor> b = {at::full({1}, static_cast<float>(rank))};
        ASSERT_TRUE(pair->Broadcast(b, /*root=*/0).ok());  // pair rank 0 is world rank 2
        EXPECT_EQ(b[0][0].item<float>(), 2.0f);
      } else {
        std::vector<at::Tensor> t = {at::full({2}, 100.0f)};
        ASSERT_TRUE(solo->AllReduceSum(t).ok());
        EXPECT_EQ(t[0][0].item<float>(), 100.0f);
      }
      // The world still works after the subgroups' traffic.
      std::vector<at::Tensor> w = {at::ones({1})};
      ASSERT_TRUE(joined->world->AllReduceSum(w).ok());
      EXPECT_EQ(w[0][0].item<float>(), 3.0f);
    });
  }
  for (std::thread& t : threads) t.join();
}

TEST(GlooCommunicator, RejectsBadSubgroups) {
  const GlooOptions o = Options("/tmp/x", 0, 2, std::chrono::seconds(1));
  EXPECT_EQ(CreateGlooCommunicators(o, {{"a", {0, 0}}}).status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateGlooCommunicators(o, {{"a", {2}}}).status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateGlooCommunicators(o, {{"a", {0}}, {"a", {1}}}).status().code(),
            common::StatusCode::kInvalidArgument);
}

TEST(GlooCommunicator, RejectsBadOptions) {
  EXPECT_EQ(
      CreateGlooCommunicator(Options("/tmp/x", 2, 2, std::chrono::seconds(1))).status().code(),
      common::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateGlooCommunicator(Options("", 0, 2, std::chrono::seconds(1))).status().code(),
            common::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      CreateGlooCommunicator(Options("/tmp/x", 0, 2, std::chrono::seconds(0))).status().code(),
      common::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gspo::engine
