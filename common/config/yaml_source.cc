#include "common/config/yaml_source.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "common/utf8.h"

namespace gspo::config {
namespace {

std::string At(const std::string& source, int line, int col) {
  return source + ":" + std::to_string(line) + ":" + std::to_string(col);
}

// Byte-level checks yaml-cpp would otherwise accept or mishandle.
common::Status CheckText(const std::string& source, std::string_view text) {
  int line = 1, col = 1;
  bool in_indent = true;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const std::size_t len = c < 0x80 ? 1 : common::Utf8SequenceLength(text, i);
    if (len == 0) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", c);
      return common::InvalidArgumentError(At(source, line, col) + ": invalid UTF-8 (byte " + hex +
                                          "); job specs must be UTF-8 text");
    }
    if (c == 0) {
      return common::InvalidArgumentError(At(source, line, col) +
                                          ": NUL byte; job specs must be text");
    }
    if (c == '\t' && in_indent) {
      return common::InvalidArgumentError(
          At(source, line, col) + ": tab character in indentation; YAML indents with spaces");
    }
    if (c == '\n') {
      ++line;
      col = 1;
      in_indent = true;
    } else {
      if (c != ' ' && c != '\t') in_indent = false;
      ++col;
    }
    i += len;
  }
  return common::Status::Ok();
}

// Walks the event stream without building nodes, counting what a full expansion would build.
class ShapeGuard : public YAML::EventHandler {
 public:
  ShapeGuard(const std::string& source, const YamlLimits& limits)
      : source_(source), limits_(limits) {}

  const common::Status& status() const { return status_; }
  int documents() const { return documents_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) {
      Fail(mark, "a second YAML document ('---'); a job spec is a single document");
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Leaf(mark, anchor, 1); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    Leaf(mark, anchor, 1);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchor_sizes_.find(anchor);
    Leaf(mark, 0, it == anchor_sizes_.end() ? 1 : it->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    std::size_t nodes;
  };

  void Fail(const YAML::Mark& mark, const std::string& what) {
    if (status_.ok()) {
      status_ =
          common::InvalidArgumentError(At(source_, mark.line + 1, mark.column + 1) + ": " + what);
    }
  }
  void Count(const YAML::Mark& mark, std::size_t nodes) {
    total_ += nodes;
    if (total_ > limits_.max_nodes) {
      Fail(mark, "document expands to more than " + std::to_string(limits_.max_nodes) +
                     " nodes (check anchors and aliases)");
    }
  }
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t nodes) {
    Count(mark, nodes);
    if (anchor != 0) anchor_sizes_[anchor] = nodes;
    if (!stack_.empty()) stack_.back().nodes += nodes;
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Count(mark, 1);
    stack_.push_back({anchor, 1});
    if (static_cast<int>(stack_.size()) > limits_.max_depth) {
      Fail(mark, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
  }
  void Close() {
    if (stack_.empty()) return;
    Frame frame = stack_.back();
    stack_.pop_back();
    if (frame.anchor != 0) anchor_sizes_[frame.anchor] = frame.nodes;
    if (!stack_.empty()) stack_.back().nodes += frame.nodes;
  }

  const std::string& source_;
  const YamlLimits& limits_;
  common::Status status_;
  int documents_ = 0;
  std::size_t total_ = 0;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::size_t> anchor_sizes_;
};

bool HasContent(std::string_view text) {
  bool in_comment = false;
  for (char c : text) {
    if (c == '\n') {
      in_comment = false;
    } else if (!in_comment) {
      if (c == '#') {
        in_comment = true;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string FormatMark(const std::string& source_name, const YAML::Mark& mark) {
  if (mark.is_null()) return source_name;
  return At(source_name, mark.line + 1, mark.column + 1);
}

common::StatusOr<YAML::Node> ParseYaml(const std::string& source_name, std::string_view text,
                                       const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return common::InvalidArgumentError(source_name + ": " + std::to_string(text.size()) +
                                        " bytes; the limit is " + std::to_string(limits.max_bytes) +
                                        " bytes (" + common::HumanBytes(limits.max_bytes) + ")");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  if (!HasContent(text)) {
    return common::InvalidArgumentError(source_name +
                                        ": empty document; expected a mapping of job fields");
  }
  GSPO_RETURN_IF_ERROR(CheckText(source_name, text));

  try {
    std::istringstream events_in{std::string(text)};
    YAML::Parser parser(events_in);
    ShapeGuard guard(source_name, limits);
    while (guard.status().ok() && parser.HandleNextDocument(guard)) {
    }
    GSPO_RETURN_IF_ERROR(guard.status());
    return YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own recursion guard fired before ours could stop the parse.
    return common::InvalidArgumentError(FormatMark(source_name, e.mark) + ": nesting deeper than " +
                                        std::to_string(limits.max_depth) + " levels");
  } catch (const YAML::Exception& e) {
    return common::InvalidArgumentError(FormatMark(source_name, e.mark) +
                                        ": malformed YAML: " + e.msg);
  } catch (const std::exception& e) {
    return common::InvalidArgumentError(source_name + ": malformed YAML: " + e.what());
  }
}

common::StatusOr<YAML::Node> LoadYamlFile(const std::string& path, const YamlLimits& limits) {
  GSPO_ASSIGN_OR_RETURN(std::string text, common::ReadFileToString(path, limits.max_bytes));
  return ParseYaml(path, text, limits);
}

}  // namespace gspo::config
