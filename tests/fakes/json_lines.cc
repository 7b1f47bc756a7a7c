#include "tests/fakes/json_lines.h"

#include "common/files.h"
#include "common/strings.h"

namespace gspo::testing {

common::StatusOr<std::vector<common::Json>> ReadJsonLines(const std::string& path) {
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, 1 << 24));
  std::vector<common::Json> rows;
  for (const std::string& line : common::Split(text, '\n')) {
    if (line.empty()) continue;
    GSPO_ASSIGN_OR_RETURN(common::Json row, common::ParseJson(line, path));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace gspo::testing
