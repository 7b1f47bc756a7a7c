#include "worker/runner/tensorboard_writer.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>

#include "common/crc32c.h"
#include "common/files.h"
#include "tensorboard/event.pb.h"

namespace gspo::runner {
namespace {

double WallTime() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void AppendLittleEndian(std::string* out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

std::string TensorBoardWriter::FrameRecord(const std::string& data) {
  std::string header;
  AppendLittleEndian(&header, data.size(), 8);
  std::string record = header;
  AppendLittleEndian(&record, common::MaskCrc32c(common::Crc32c(header)), 4);
  record += data;
  AppendLittleEndian(&record, common::MaskCrc32c(common::Crc32c(data)), 4);
  return record;
}

common::StatusOr<std::unique_ptr<TensorBoardWriter>> TensorBoardWriter::Open(const std::string& dir) {
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(dir));
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const auto seconds = static_cast<long long>(WallTime());
  const std::string path = common::JoinPath(dir, "events.out.tfevents." + std::to_string(seconds) + "." + host);
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr) return common::ErrnoToStatus(errno, path + ": cannot create the event file");
  std::unique_ptr<TensorBoardWriter> writer(new TensorBoardWriter(file, path));
  tensorboard::Event first;
  first.set_wall_time(WallTime());
  first.set_file_version("brain.Event:2");
  GSPO_RETURN_IF_ERROR(writer->WriteRecord(first.SerializeAsString()));
  return writer;
}

TensorBoardWriter::~TensorBoardWriter() { std::fclose(file_); }

common::Status TensorBoardWriter::AddScalars(std::int64_t step,
                                             const std::vector<std::pair<std::string, double>>& scalars) {
  tensorboard::Event event;
  event.set_wall_time(WallTime());
  event.set_step(step);
  tensorboard::Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    if (!std::isfinite(value)) continue;
    tensorboard::Summary::Value* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  return WriteRecord(event.SerializeAsString());
}

common::Status TensorBoardWriter::WriteRecord(const std::string& data) {
  const std::string record = FrameRecord(data);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    return common::ErrnoToStatus(errno, path_ + ": cannot write an event");
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
