// WriteSafetensors against a byte layout computed here, and the LibTorch adapter round trip.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"

namespace gspo::engine {
namespace {

using ::testing::ElementsAre;

constexpr DType kAllDTypes[] = {
    DType::kBool, DType::kU8,  DType::kI8,  DType::kF8E5M2, DType::kF8E4M3,
    DType::kI16,  DType::kU16, DType::kF16, DType::kBF16,   DType::kI32,
    DType::kU32,  DType::kF32, DType::kI64, DType::kU64,    DType::kF64,
};

TensorView View(std::string name, DType dtype, std::vector<std::int64_t> shape,
                const std::string& bytes) {
  TensorView view;
  view.name = std::move(name);
  view.dtype = dtype;
  view.shape = std::move(shape);
  view.data = reinterpret_cast<const std::byte*>(bytes.data());
  view.nbytes = bytes.size();
  return view;
}

class SafetensorsWriteTest : public ::testing::Test {
 protected:
  gspo::testing::ScopedTempDir dir_{::testing::TempDir()};
  std::string path_ = dir_.Join("out.safetensors");
};

TEST(DType, NamesSizesAndParsing) {
  for (const DType dtype : kAllDTypes) {
    auto parsed = ParseDType(DTypeName(dtype));
    ASSERT_TRUE(parsed.ok()) << DTypeName(dtype);
    EXPECT_EQ(*parsed, dtype);
  }
  EXPECT_STREQ(DTypeName(DType::kF8E4M3), "F8_E4M3");
  EXPECT_EQ(DTypeSize(DType::kBool), 1u);
  EXPECT_EQ(DTypeSize(DType::kBF16), 2u);
  EXPECT_EQ(DTypeSize(DType::kU32), 4u);
  EXPECT_EQ(DTypeSize(DType::kF64), 8u);
  EXPECT_EQ(ParseDType("bf16").status(),
            common::InvalidArgumentError("unknown dtype 'bf16'; expected one of BOOL, U8, I8, "
                                         "F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, "
                                         "I64, U64, F64"));
}

TEST(TorchTypes, MapsEveryTypeBothWays) {
  EXPECT_EQ(ToScalarType(DType::kBF16), at::kBFloat16);
  EXPECT_EQ(ToScalarType(DType::kU8), at::kByte);
  EXPECT_EQ(ToScalarType(DType::kU32), at::ScalarType::Undefined);
  for (const DType dtype : kAllDTypes) {
    const at::ScalarType type = ToScalarType(dtype);
    if (type == at::ScalarType::Undefined) continue;
    EXPECT_EQ(*FromScalarType(type), dtype) << DTypeName(dtype);
    EXPECT_EQ(at::elementSize(type), DTypeSize(dtype)) << DTypeName(dtype);
  }
  EXPECT_EQ(FromScalarType(at::kComplexFloat).status(),
            common::InvalidArgumentError("LibTorch type ComplexFloat has no safetensors dtype"));

  const std::string bytes(8, '\0');
  TensorView view = View("x", DType::kU32, {2}, bytes);
  view.file = "f.safetensors";
  EXPECT_EQ(CheckTorchCompatible(view),
            common::InvalidArgumentError("f.safetensors: tensor 'x': dtype U32 has no LibTorch "
                                         "type"));
  EXPECT_THROW(ViewAsTensor(view), c10::Error);
}

// The exact file: header keys sorted by name, F32 data before U8 data (larger elements first),
// the header padded with spaces to a multiple of 8.
TEST_F(SafetensorsWriteTest, WritesTheReferenceLayout) {
  const float floats[] = {1.5f, -2.0f};
  std::string f32(sizeof(floats), '\0');
  std::memcpy(f32.data(), floats, sizeof(floats));
  const std::string u8 = "\x07\x09";
  ASSERT_TRUE(WriteSafetensors(path_,
                               {View("b", DType::kF32, {2}, f32), View("a", DType::kU8, {2}, u8)},
                               {{"format", "pt"}})
                  .ok());

  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("a":{"dtype":"U8","shape":[2],"data_offsets":[8,10]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 138u);
  header.append(6, ' ');  // 144 bytes, the next multiple of 8
  const std::string expected = std::string("\x90\0\0\0\0\0\0\0", 8) + header + f32 + u8;
  EXPECT_EQ(*common::ReadFileToString(path_, 1 << 20), expected);
}

TEST_F(SafetensorsWriteTest, RejectsInconsistentViews) {
  const std::string four(4, '\0');
  EXPECT_EQ(
      WriteSafetensors(path_, {View("a", DType::kF32, {2}, four)}),
      common::InvalidArgumentError(path_ + ": tensor 'a': shape [2] of F32 needs 8 bytes, the view "
                                           "has 4"));
  EXPECT_EQ(WriteSafetensors(path_,
                             {View("a", DType::kU8, {4}, four), View("a", DType::kI32, {1}, four)}),
            common::InvalidArgumentError(path_ + ": tensor 'a': appears twice"));
  EXPECT_EQ(
      WriteSafetensors(path_, {View("__metadata__", DType::kU8, {4}, four)}),
      common::InvalidArgumentError(path_ + ": tensor '__metadata__': the name is reserved for the "
                                           "metadata"));
  EXPECT_FALSE(common::PathExists(path_));
}

TEST_F(SafetensorsWriteTest, RoundTripsThroughLibTorch) {
  const at::Tensor f32 = at::arange(6, at::kFloat).reshape({2, 3}) / 7.0;
  const at::Tensor bf16 = at::tensor({1.0f, -0.5f, 3.0e38f, 1.0e-3f}).to(at::kBFloat16);
  const at::Tensor i64 = at::tensor(
      {std::numeric_limits<std::int64_t>::min(), std::int64_t{9007199254740993}, std::int64_t{-1}});
  const at::Tensor transposed = at::arange(12, at::kFloat).reshape({3, 4}).t();  // not contiguous
  const at::Tensor scalar = at::scalar_tensor(2.5, at::kDouble);
  const at::Tensor empty = at::zeros({0, 5}, at::kHalf);
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", f32},       {"bf16", bf16},  {"i64", i64}, {"transposed", transposed},
      {"scalar", scalar}, {"empty", empty}};
  ASSERT_TRUE(SaveTensors(path_, tensors, {{"format", "pt"}}).ok());

  auto file = SafetensorsFile::Open(path_);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, common::ReadFileToString(path_, 1 << 20)->data(), 8);
  EXPECT_EQ(header_bytes % 8, 0u);
  for (const auto& [name, original] : tensors) {
    const TensorView* view = (*file)->Find(name);
    ASSERT_NE(view, nullptr) << name;
    // Aligned to the element size, so the zero-copy view needs no unaligned loads.
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(view->data) % DTypeSize(view->dtype), 0u) << name;
    const at::Tensor loaded = LoadTensor(*view, original.scalar_type(), at::kCPU);
    EXPECT_TRUE(at::equal(loaded, original)) << name;
    EXPECT_TRUE(at::equal(ViewAsTensor(*view), original)) << name;
  }
  EXPECT_THAT((*file)->Find("transposed")->shape, ElementsAre(4, 3));
  EXPECT_TRUE((*file)->Find("scalar")->shape.empty());
  EXPECT_EQ(LoadTensor(*(*file)->Find("bf16"), at::kFloat, at::kCPU)[2].item<float>(),
            bf16[2].item<float>());
}

TEST_F(SafetensorsWriteTest, SaveTensorsNamesBadTensors) {
  EXPECT_EQ(SaveTensors(path_, {{"x", at::Tensor()}}),
            common::InvalidArgumentError(path_ + ": tensor 'x': undefined tensor"));
  EXPECT_EQ(SaveTensors(path_, {{"z", at::zeros({2}, at::kComplexFloat)}}),
            common::InvalidArgumentError(path_ + ": tensor 'z': LibTorch type ComplexFloat has no "
                                                 "safetensors dtype"));
  EXPECT_FALSE(common::PathExists(path_));
}

}  // namespace
}  // namespace gspo::engine
