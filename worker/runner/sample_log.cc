#include "worker/runner/sample_log.h"

#include <cerrno>
#include <cmath>

#include "common/files.h"
#include "common/json.h"

namespace gspo::runner {

common::StatusOr<std::unique_ptr<SampleLog>> SampleLog::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) return common::ErrnoToStatus(errno, path + ": cannot open for appending");
  return std::unique_ptr<SampleLog>(new SampleLog(file, path));
}

SampleLog::~SampleLog() { std::fclose(file_); }

std::string SampleLog::FormatLine(std::int64_t step, const std::string& scenario_id, double reward,
                                  const std::vector<SampleTurn>& turns) {
  using common::Json;
  std::vector<Json> messages;
  for (const SampleTurn& turn : turns) {
    messages.push_back(Json::Object({{"role", Json::String(turn.role)}, {"content", Json::String(turn.content)}}));
  }
  return common::WriteJson(Json::Object({{"step", Json::Integer(step)},
                                         {"scenario", Json::String(scenario_id)},
                                         {"reward", std::isfinite(reward) ? Json::Number(reward) : Json::Null()},
                                         {"messages", Json::Array(std::move(messages))}}));
}

common::Status SampleLog::Write(std::int64_t step, const std::string& scenario_id, double reward,
                                const std::vector<SampleTurn>& turns) {
  const std::string line = FormatLine(step, scenario_id, reward, turns) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return common::ErrnoToStatus(errno, path_ + ": cannot write a sample");
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
