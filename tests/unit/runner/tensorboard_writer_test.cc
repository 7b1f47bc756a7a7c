// TensorBoard event files: CRC-32C against its published check value, the TFRecord framing by
// hand, and the records of a written file read back (lengths, checksums, Event fields).
#include "worker/runner/tensorboard_writer.h"

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "common/files.h"
#include "tensorboard/event.pb.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::runner {
namespace {

std::uint64_t ReadLittleEndian(const std::string& bytes, std::size_t at, int width) {
  std::uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

TEST(Crc32c, CheckValueAndMask) {
  // The CRC-32C check value: the CRC of the ASCII digits "123456789".
  EXPECT_EQ(common::Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(common::Crc32c(""), 0u);
  // Mask: rotate right by 15, add 0xa282ead8 (mod 2^32).
  EXPECT_EQ(common::MaskCrc32c(0), 0xa282ead8u);
  EXPECT_EQ(common::MaskCrc32c(0x00008000u), 0xa282ead9u);
}

TEST(TensorBoardWriter, FramesRecords) {
  const std::string record = TensorBoardWriter::FrameRecord("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(ReadLittleEndian(record, 0, 8), 3u);
  EXPECT_EQ(ReadLittleEndian(record, 8, 4), common::MaskCrc32c(common::Crc32c(record.substr(0, 8))));
  EXPECT_EQ(record.substr(12, 3), "abc");
  EXPECT_EQ(ReadLittleEndian(record, 15, 4), common::MaskCrc32c(common::Crc32c("abc")));
}

TEST(TensorBoardWriter, WritesReadableScalarEvents) {
  gspo::testing::ScopedTempDir dir;
  std::string path;
  {
    auto writer = TensorBoardWriter::Open(dir.Join("tb"));
    ASSERT_TRUE(writer.ok()) << writer.status();
    path = (*writer)->path();
    EXPECT_EQ(common::DirName(path), dir.Join("tb"));
    EXPECT_EQ(common::BaseName(path).rfind("events.out.tfevents.", 0), 0u);
    ASSERT_TRUE((*writer)->AddScalars(3, {{"reward_mean", 0.5}, {"reward/empathy", 0.25}, {"kl", 1.0 / 0.0}}).ok());
  }
  auto bytes = common::ReadFileToString(path, 1 << 20);
  ASSERT_TRUE(bytes.ok());
  std::vector<tensorboard::Event> events;
  for (std::size_t at = 0; at < bytes->size();) {
    ASSERT_LE(at + 12, bytes->size());
    const std::uint64_t length = ReadLittleEndian(*bytes, at, 8);
    ASSERT_EQ(ReadLittleEndian(*bytes, at + 8, 4), common::MaskCrc32c(common::Crc32c(bytes->substr(at, 8))));
    ASSERT_LE(at + 12 + length + 4, bytes->size());
    const std::string data = bytes->substr(at + 12, length);
    ASSERT_EQ(ReadLittleEndian(*bytes, at + 12 + length, 4), common::MaskCrc32c(common::Crc32c(data)));
    ASSERT_TRUE(events.emplace_back().ParseFromString(data));
    at += 12 + length + 4;
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_GT(events[0].wall_time(), 1.7e9);
  EXPECT_EQ(events[1].step(), 3);
  ASSERT_EQ(events[1].summary().value_size(), 2);  // the infinite KL is left out
  EXPECT_EQ(events[1].summary().value(0).tag(), "reward_mean");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 0.5f);
  EXPECT_EQ(events[1].summary().value(1).tag(), "reward/empathy");
  EXPECT_EQ(events[1].summary().value(1).simple_value(), 0.25f);
}

}  // namespace
}  // namespace gspo::runner
