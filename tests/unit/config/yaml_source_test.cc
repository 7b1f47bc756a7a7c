// Hostile and malformed YAML: every case gets a precise error, quickly, never a crash.
#include "common/config/yaml_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ParseError(std::string_view text, const YamlLimits& limits = {}) {
  auto node = ParseYaml("job.yaml", text, limits);
  return node.ok() ? "OK" : node.status().message();
}

TEST(YamlSource, EmptyFileIsAnError) {
  EXPECT_EQ(ParseError(""), "job.yaml: empty document; expected a mapping of job fields");
}

TEST(YamlSource, CommentsAndBlankLinesOnlyIsEmpty) {
  EXPECT_EQ(ParseError("# nothing here\n\n   \n# still nothing\n"),
            "job.yaml: empty document; expected a mapping of job fields");
}

TEST(YamlSource, MalformedYamlNamesTheFileAndPosition) {
  EXPECT_THAT(ParseError("model: [a, b\n"), StartsWith("job.yaml:"));
  EXPECT_THAT(ParseError("model: [a, b\n"), HasSubstr("malformed YAML"));
  EXPECT_THAT(ParseError("a: b: c\n"), HasSubstr("malformed YAML"));
}

TEST(YamlSource, TabInIndentationIsRejectedWithItsPosition) {
  EXPECT_EQ(ParseError("model:\n\tname_or_path: x\n"),
            "job.yaml:2:1: tab character in indentation; YAML indents with spaces");
  EXPECT_EQ(ParseError("model:\n  \tname_or_path: x\n"),
            "job.yaml:2:3: tab character in indentation; YAML indents with spaces");
}

TEST(YamlSource, TabInsideAValueIsAllowed) { EXPECT_EQ(ParseError("name: \"a\tb\"\n"), "OK"); }

TEST(YamlSource, InvalidUtf8IsRejectedWithLineAndColumn) {
  EXPECT_EQ(ParseError("name: t\nsystem: caf\xe9\n"),
            "job.yaml:2:12: invalid UTF-8 (byte 0xe9); job specs must be UTF-8 text");
  // An overlong encoding of '/' and a UTF-16 surrogate are not UTF-8 either.
  EXPECT_THAT(ParseError("a: \xc0\xaf\n"), StartsWith("job.yaml:1:4: invalid UTF-8 (byte 0xc0)"));
  EXPECT_THAT(ParseError("a: \xed\xa0\x80\n"),
              StartsWith("job.yaml:1:4: invalid UTF-8 (byte 0xed)"));
}

TEST(YamlSource, MultibyteCharactersCountAsOneColumn) {
  EXPECT_EQ(ParseError("a: \xc3\xa9\xc3\xa9 \xff\n"),
            "job.yaml:1:7: invalid UTF-8 (byte 0xff); job specs must be UTF-8 text");
  EXPECT_EQ(ParseError("name: caf\xc3\xa9 \xe2\x9c\x93\n"), "OK");
}

TEST(YamlSource, ByteOrderMarkIsSkipped) { EXPECT_EQ(ParseError("\xEF\xBB\xBFname: t\n"), "OK"); }

TEST(YamlSource, NulByteIsRejected) {
  EXPECT_EQ(ParseError(std::string_view("name: a\0b\n", 10)),
            "job.yaml:1:8: NUL byte; job specs must be text");
}

TEST(YamlSource, SecondDocumentIsRejected) {
  EXPECT_EQ(ParseError("a: 1\n---\nb: 2\n"),
            "job.yaml:2:1: a second YAML document ('---'); a job spec is a single document");
}

TEST(YamlSource, AnchorBombIsStoppedBeforeExpansion) {
  // Each level repeats the previous one ten times: 10^8 nodes from 300 bytes.
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string previous = "a";
  for (const char* name : {"b", "c", "d", "e", "f", "g", "h"}) {
    text += std::string(name) + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + previous;
    text += "]\n";
    previous = name;
  }
  EXPECT_EQ(ParseError(text),
            "job.yaml:6:8: document expands to more than 200000 nodes (check anchors and aliases)");
}

TEST(YamlSource, ModestAliasesAreFine) {
  EXPECT_EQ(ParseError("a: &m [q_proj, v_proj]\nb: *m\n"), "OK");
}

TEST(YamlSource, DeepNestingIsRejected) {
  const std::string deep = "a: " + std::string(40, '[') + std::string(40, ']') + "\n";
  EXPECT_EQ(ParseError(deep), "job.yaml:1:35: nesting deeper than 32 levels");
}

TEST(YamlSource, VeryDeepNestingDoesNotCrash) {
  // Deep enough for yaml-cpp's own recursion guard; unterminated as well.
  const std::string deep = "a: " + std::string(100000, '[') + "\n";
  EXPECT_THAT(ParseError(deep), HasSubstr("nesting deeper than 32 levels"));
}

TEST(YamlSource, TextOverTheSizeLimitIsRejectedBeforeParsing) {
  YamlLimits limits;
  limits.max_bytes = 1024;
  EXPECT_EQ(ParseError(std::string(1025, '#'), limits),
            "job.yaml: 1025 bytes; the limit is 1024 bytes (1 KiB)");
}

TEST(YamlSource, FileOverTheSizeLimitIsRejected) {
  gspo::testing::ScopedTempDir dir;
  const std::string path = dir.Join("big.yaml");
  ASSERT_TRUE(common::WriteFileAtomically(path, std::string(2 << 20, '#')).ok());
  auto node = LoadYamlFile(path);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), common::StatusCode::kInvalidArgument);
  EXPECT_THAT(node.status().message(), StartsWith(path + ": file is 2 MiB; the limit is 1 MiB"));
}

TEST(YamlSource, MissingFileIsNotFound) {
  auto node = LoadYamlFile("/nonexistent/job.yaml");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), common::StatusCode::kNotFound);
  EXPECT_EQ(common::ExitCodeFor(node.status()), 2);
  EXPECT_THAT(node.status().message(), HasSubstr("/nonexistent/job.yaml"));
}

}  // namespace
}  // namespace gspo::config
