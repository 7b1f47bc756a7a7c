// TensorBoardWriter: scalar summaries in a TensorBoard event file
// (DIR/events.out.tfevents.<seconds>.<host>), one record per logged step with every metric as
// a tag ("reward_mean", "reward/empathy", "loss", ...), so TensorBoard and tools that sync its
// logs (W&B) show a run as it trains.
//
// File format (TFRecord): per record, the data length (uint64, little-endian), its masked
// CRC-32C, the data (an Event message, proto/tensorboard/event.proto), the data's masked
// CRC-32C. The first record holds file_version "brain.Event:2".
//
// This header names no protobuf type (the training loop that uses it includes LibTorch, and no
// translation unit may see both); the messages live in tensorboard_writer.cc.
// Owns the file; not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gspo::runner {

class TensorBoardWriter {
 public:
  // Creates DIR if needed and a new event file in it.
  static common::StatusOr<std::unique_ptr<TensorBoardWriter>> Open(const std::string& dir);
  ~TensorBoardWriter();

  const std::string& path() const { return path_; }

  // One Event at `step` with a simple_value per (tag, value); non-finite values are skipped.
  common::Status AddScalars(std::int64_t step, const std::vector<std::pair<std::string, double>>& scalars);

  // The record framing of `data`.
  static std::string FrameRecord(const std::string& data);

 private:
  TensorBoardWriter(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  common::Status WriteRecord(const std::string& data);

  std::FILE* file_;
  std::string path_;
};

}  // namespace gspo::runner
