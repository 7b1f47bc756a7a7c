// The torch-free NCCL layer where NCCL is found, GPU or not: it links against the one NCCL the
// build picked, and bad options are refused before CUDA is touched. Collectives between GPUs are
// tested in tests/gpu/nccl_gpu_test.cc.
#include "worker/engine/dist/nccl_group.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

namespace gspo::engine {
namespace {

using ::testing::HasSubstr;

TEST(NcclGroup, ReportsTheLoadedNcclVersion) {
  const std::string version = NcclVersion();
  EXPECT_TRUE(std::regex_match(version, std::regex("2\\.[0-9]+\\.[0-9]+"))) << version;
}

TEST(NcclGroup, NamesItsDataTypes) {
  EXPECT_STREQ(NcclDataTypeName(NcclDataType::kFloat32), "float32");
  EXPECT_STREQ(NcclDataTypeName(NcclDataType::kBFloat16), "bfloat16");
  EXPECT_STREQ(NcclDataTypeName(NcclDataType::kFloat64), "float64");
}

TEST(NcclGroup, RefusesBadOptionsBeforeTouchingCuda) {
  NcclGroupOptions options;
  options.world_size = 2;
  options.rank = 2;
  auto rank = NcclGroup::Create(options, std::string(128, '\0'));
  EXPECT_EQ(rank.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_THAT(rank.status().message(), HasSubstr("rank 2 outside a world of 2"));

  options.rank = 0;
  options.world_size = 0;
  EXPECT_THAT(CheckNcclGroupOptions(options).message(), HasSubstr("world size must be at least 1"));

  options.world_size = 2;
  options.device = -1;
  EXPECT_EQ(CheckNcclGroupOptions(options).code(), common::StatusCode::kInvalidArgument);

  options.device = 0;
  options.timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(CheckNcclGroupOptions(options).message(), HasSubstr("timeout must be positive"));

  options.timeout = std::chrono::seconds(1);
  EXPECT_TRUE(CheckNcclGroupOptions(options).ok());
  auto short_id = NcclGroup::Create(options, "not an id");
  EXPECT_EQ(short_id.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_id.status().message(), HasSubstr("an NCCL unique id has 128 bytes, got 9"));
}

}  // namespace
}  // namespace gspo::engine
