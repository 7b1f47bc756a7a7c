// The safetensors reader is tested against files assembled byte by byte here, so that it is not
// only checked against its own writer.
#include "worker/engine/model/safetensors.h"

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
#include "worker/engine/model/safetensors_torch.h"

namespace gspo::engine {
namespace {

using common::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Little-endian bytes written out explicitly, independent of the host and of the code under test.
std::string LittleEndian(std::uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  return out;
}
std::string F32(std::initializer_list<float> values) {
  std::string out;
  for (const float value : values) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof(bits));
    out += LittleEndian(bits, 4);
  }
  return out;
}
std::string U16(std::initializer_list<std::uint16_t> values) {
  std::string out;
  for (const std::uint16_t value : values) out += LittleEndian(value, 2);
  return out;
}
std::string I64(std::initializer_list<std::int64_t> values) {
  std::string out;
  for (const std::int64_t value : values) out += LittleEndian(static_cast<std::uint64_t>(value), 8);
  return out;
}
// The header padded with spaces to a multiple of 8 bytes, as the reference writer does.
std::string Padded(std::string header) {
  while (header.size() % 8 != 0) header.push_back(' ');
  return header;
}
std::string FileBytes(const std::string& header, const std::string& data) {
  return LittleEndian(header.size(), 8) + header + data;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.Join(name);
    EXPECT_TRUE(common::WriteFileAtomically(path, bytes).ok());
    return path;
  }
  // Open's error for a file of `bytes`, or "OK".
  std::string OpenError(const std::string& bytes) {
    auto file = SafetensorsFile::Open(Write("model.safetensors", bytes));
    if (file.ok()) return "OK";
    EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument);
    return file.status().message();
  }
  std::string Path() const { return dir_.Join("model.safetensors"); }

  gspo::testing::ScopedTempDir dir_{::testing::TempDir()};
};

TEST_F(SafetensorsTest, ReadsTensorsOfEachDtype) {
  // w: 16 bytes at 0; b: 6 bytes at 16; a 2-byte gap (allowed); ids: 16 bytes at 24.
  const std::string header = Padded(R"({"__metadata__":{"format":"pt"},)"
                                    R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                                    R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},)"
                                    R"("ids":{"dtype":"I64","shape":[2],"data_offsets":[24,40]}})");
  const std::string data = F32({1.0f, 2.0f, 3.0f, -4.5f}) + U16({0x3F80, 0xC000, 0x4049}) +
                           std::string(2, '\0') + I64({9007199254740993, -7});
  const std::string path = Write("model.safetensors", FileBytes(header, data));
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->path(), path);
  EXPECT_EQ((*file)->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  std::vector<std::string> names;
  for (const TensorView& view : (*file)->tensors()) names.push_back(view.name);
  EXPECT_THAT(names, ElementsAre("b", "ids", "w"));  // sorted
  EXPECT_EQ((*file)->Find("nope"), nullptr);

  const TensorView* w = (*file)->Find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::kF32);
  EXPECT_THAT(w->shape, ElementsAre(2, 2));
  EXPECT_EQ(w->nbytes, 16u);
  EXPECT_EQ(w->numel(), 4);
  EXPECT_EQ(w->file, path);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w->data), w->nbytes), data.substr(0, 16));
  const at::Tensor w_tensor = ViewAsTensor(*w);
  EXPECT_EQ(w_tensor.data_ptr(), static_cast<const void*>(w->data));  // no copy
  EXPECT_TRUE(at::equal(w_tensor, at::tensor({1.0f, 2.0f, 3.0f, -4.5f}).reshape({2, 2})));

  const TensorView* b = (*file)->Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::kBF16);
  EXPECT_EQ(std::to_integer<int>(b->data[0]), 0x80);  // 0x3F80, little-endian
  EXPECT_EQ(std::to_integer<int>(b->data[1]), 0x3F);
  const at::Tensor b_float = LoadTensor(*b, at::kFloat, at::kCPU);
  EXPECT_TRUE(at::equal(b_float, at::tensor({1.0f, -2.0f, 3.140625f})));

  const TensorView* ids = (*file)->Find("ids");
  ASSERT_NE(ids, nullptr);
  const at::Tensor ids_tensor = LoadTensor(*ids, at::kLong, at::kCPU);
  EXPECT_EQ(ids_tensor[0].item<std::int64_t>(), 9007199254740993);  // 2^53 + 1, exact
  EXPECT_EQ(ids_tensor[1].item<std::int64_t>(), -7);
}

TEST_F(SafetensorsTest, Bf16IsTheUpperHalfOfF32) {
  const std::string header = Padded(R"({"x":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})");
  const std::string path =
      Write("x.safetensors", FileBytes(header, U16({0x3F80, 0x4000, 0xBF80, 0x7F80})));
  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  const at::Tensor x = LoadTensor(*(*file)->Find("x"), at::kFloat, at::kCPU);
  EXPECT_EQ(x[0].item<float>(), 1.0f);
  EXPECT_EQ(x[1].item<float>(), 2.0f);
  EXPECT_EQ(x[2].item<float>(), -1.0f);
  EXPECT_EQ(x[3].item<float>(), std::numeric_limits<float>::infinity());
}

TEST_F(SafetensorsTest, AcceptsEmptyFilesAndEmptyTensors) {
  EXPECT_EQ(OpenError(FileBytes(Padded("{}"), "")), "OK");
  // An empty tensor may share offsets with another one.
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                                       R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})"),
                                F32({5.0f}))),
            "OK");
}

TEST_F(SafetensorsTest, RejectsCorruptFiles) {
  const std::string p = Path() + ": ";
  EXPECT_EQ(OpenError(std::string("\x10\x00\x00", 3)),
            p + "file is 3 bytes, too short for the 8-byte header length");
  EXPECT_EQ(OpenError(LittleEndian(1000, 8) + "{}" + std::string(30, ' ')),
            p + "header length 1000 is past the end of the file (40 bytes)");
  EXPECT_EQ(OpenError(LittleEndian(200000000, 8) + "{}"),
            p + "header length 200000000 exceeds the limit of 100000000 bytes");
  EXPECT_EQ(
      OpenError(FileBytes(Padded(R"({"model.layers.0.mlp.up_proj.weight":)"
                                 R"({"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}})"),
                          std::string(1024, '\0'))),
      p + "tensor 'model.layers.0.mlp.up_proj.weight': data_offsets [0, 4096] end past the "
          "1024 bytes of data (file truncated?)");
  EXPECT_EQ(
      OpenError(FileBytes(Padded(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})"),
                          std::string(24, '\0'))),
      p + "tensor 'w': shape [2, 3] of F32 needs 24 bytes, but data_offsets [0, 20] hold 20");
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                       R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})"),
                                std::string(24, '\0'))),
            p + "tensors 'a' (data_offsets [0, 16]) and 'b' (data_offsets [8, 24]) overlap");
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})"),
                                F32({0}))),
            p + "tensor 'w': unknown dtype 'F33'; expected one of BOOL, U8, I8, F8_E5M2, "
                "F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64");
  // '{' 1, '"' 2, 'w' 3, '"' 4, ' ' 5, '{' 6 where ':' belongs.
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"w" {}})"), "")),
            p + "header is not valid JSON: 1:6: expected ':' after an object key");
  EXPECT_EQ(OpenError(FileBytes(Padded("[1,2]"), "")),
            p + "header must be a JSON object, found [1, 2]");
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"w":3})"), "")),
            p + "tensor 'w': expected an object with dtype, shape and data_offsets, found 3");
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"w":{"dtype":"F32","shape":[1]}})"), F32({0}))),
            p + "tensor 'w': missing 'data_offsets'");
  EXPECT_EQ(OpenError(FileBytes(
                Padded(R"({"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}})"), "")),
            p + "tensor 'w': shape must be a list of non-negative integers, found [2, -1]");
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],)"
                                       R"("data_offsets":[0,0]}})"),
                                "")),
            p + "tensor 'w': shape [4294967296, 4294967296, 16] is too large");
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[8,4]}})"),
                                std::string(8, '\0'))),
            p + "tensor 'w': data_offsets must be two integers [begin, end] with 0 <= begin <= "
                "end, found [8, 4]");
  EXPECT_EQ(OpenError(FileBytes(Padded(R"({"__metadata__":{"step":3}})"), "")),
            p + "__metadata__ 'step' must be a string, found 3");
  EXPECT_THAT(OpenError(FileBytes(Padded(R"({"w":{},"w":{}})"), "")),
              HasSubstr("duplicate key 'w'"));

  const std::string missing = dir_.Join("missing.safetensors");
  EXPECT_EQ(SafetensorsFile::Open(missing).status(),
            common::NotFoundError(missing + ": no such file"));
}

// Shard 1 holds a (F32 [2]) and b (I64 [1]); shard 2 holds c (BF16 [2]).
class CheckpointTest : public SafetensorsTest {
 protected:
  void WriteShards() {
    Write(kShard1, FileBytes(Padded(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                    R"("b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})"),
                             F32({0.5f, -1.0f}) + I64({42})));
    Write(kShard2, FileBytes(Padded(R"({"c":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})"),
                             U16({0x3F80, 0x4000})));
  }
  std::string WriteIndex(const std::string& weight_map) {
    return Write(Checkpoint::kIndexFile,
                 R"({"metadata":{"total_size":20},"weight_map":)" + weight_map + "}");
  }
  std::string OpenError() {
    auto checkpoint = Checkpoint::Open(dir_.path());
    return checkpoint.ok() ? "OK" : checkpoint.status().message();
  }

  static constexpr const char* kShard1 = "model-00001-of-00002.safetensors";
  static constexpr const char* kShard2 = "model-00002-of-00002.safetensors";
};

TEST_F(CheckpointTest, ReadsShardsThroughTheIndex) {
  WriteShards();
  WriteIndex(R"({"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",)"
             R"("c":"model-00002-of-00002.safetensors"})");
  auto checkpoint = Checkpoint::Open(dir_.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_THAT(checkpoint->Names(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(checkpoint->files().size(), 2u);
  EXPECT_TRUE(checkpoint->Has("c"));
  auto c = checkpoint->Get("c");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->file, dir_.Join(kShard2));
  EXPECT_TRUE(at::equal(LoadTensor(*c, at::kFloat, at::kCPU), at::tensor({1.0f, 2.0f})));
  EXPECT_EQ(LoadTensor(*checkpoint->Get("b"), at::kLong, at::kCPU)[0].item<std::int64_t>(), 42);
  // Tied embeddings: no lm_head.weight.
  EXPECT_FALSE(checkpoint->Has("lm_head.weight"));
  EXPECT_EQ(checkpoint->Get("lm_head.weight").status(),
            common::NotFoundError(dir_.path() + ": no tensor 'lm_head.weight' in the checkpoint"));
}

TEST_F(CheckpointTest, RejectsBadIndexes) {
  WriteShards();
  const std::string index = dir_.Join(Checkpoint::kIndexFile);
  WriteIndex(R"({"a":"model-00001-of-00002.safetensors","c":"model-00003-of-00003.safetensors"})");
  EXPECT_EQ(Checkpoint::Open(dir_.path()).status(),
            common::NotFoundError(index +
                                  ": tensor 'c' is in shard 'model-00003-of-00003.safetensors', "
                                  "which does not exist in " +
                                  dir_.path()));
  WriteIndex(R"({"d":"model-00001-of-00002.safetensors"})");
  EXPECT_EQ(OpenError(), index + ": tensor 'd' is not in its shard " + dir_.Join(kShard1));
  for (const std::string shard : {"../x.safetensors", "/etc/x.safetensors", ".."}) {
    WriteIndex(R"({"a":")" + shard + R"("})");
    EXPECT_EQ(OpenError(), index + ": tensor 'a' is in shard '" + shard +
                               "', which is not a plain file name inside " + dir_.path() +
                               "; refusing to read outside the model directory");
  }
  WriteIndex(R"({"a":1})");
  EXPECT_EQ(OpenError(), index + ": tensor 'a' maps to 1, expected a shard file name");
  Write(Checkpoint::kIndexFile, R"({"metadata":{}})");
  EXPECT_EQ(OpenError(), index +
                             ": expected an object with a 'weight_map' object mapping tensor "
                             "names to shard files");
}

TEST_F(CheckpointTest, FindsTheSingleFile) {
  const std::string dir = dir_.path();
  EXPECT_EQ(Checkpoint::Open(dir).status(),
            common::NotFoundError(dir + ": no model.safetensors.index.json, model.safetensors or "
                                        "other .safetensors file"));
  Write("adapter_model.safetensors", FileBytes(Padded("{}"), ""));
  EXPECT_EQ(OpenError(), "OK");
  Write("other.safetensors", FileBytes(Padded("{}"), ""));
  EXPECT_EQ(OpenError(), dir +
                             ": 2 .safetensors files (adapter_model.safetensors, "
                             "other.safetensors) but no model.safetensors.index.json to say "
                             "which tensors are where");
  Write("model.safetensors",
        FileBytes(Padded(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})"), "\x07"));
  auto checkpoint = Checkpoint::Open(dir);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_THAT(checkpoint->Names(), ElementsAre("x"));
  EXPECT_EQ(Checkpoint::Open(dir + "/nope").status(),
            common::NotFoundError(dir + "/nope: no such directory"));
}

}  // namespace
}  // namespace gspo::engine
