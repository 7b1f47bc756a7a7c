// gspo tokenize / detokenize / chat / bench-tokenizer, run as users run them (build/bin/gspo
// through popen) on the real Gemma 3 and Qwen3 files, against the Hugging Face goldens; bad
// input gives a message naming it and exit code 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "common/files.h"
#include "common/json.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/test_data.h"
#include "tests/unit/tokenizer/chat_test_util.h"

namespace gspo::tokenizer {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct ToolRun {
  int exit_code;
  std::string output;  // stdout, and stderr after it when `with_stderr`
};

std::string Quote(const std::string& text) { return gspo::testing::ShellQuote(text); }

ToolRun Gspo(const std::string& args, bool with_stderr = true) {
  const gspo::testing::CommandResult r = gspo::testing::RunShellCommand(
      std::string(GSPO_BINARY_DIR) + "/bin/gspo " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
  return {r.exit_code, r.output};
}

std::string Dir(const std::string& name) { return Quote(gspo::testing::TestTokenizerDir(name)); }

TEST(TokenizeTool, IdsOfTextAndOfAFileTakenByteForByte) {
  ToolRun run = Gspo("tokenize --tokenizer " + Dir("gemma3") + " --text 'Hello world' --json");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "[9259,1902]\n");
  run = Gspo("tokenize --tokenizer " + Dir("gemma3") +
             " --text 'Hello world' --add-special-tokens --json");
  EXPECT_EQ(run.output, "[2,9259,1902]\n");
  run = Gspo("tokenize --tokenizer " + Dir("qwen3") + " --text 'Hello world'");
  EXPECT_EQ(run.output, "9707 1879\n");

  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("t.txt"), "Hello\n").ok());
  run = Gspo("tokenize --tokenizer " + Dir("gemma3") + " --text-file " + dir.Join("t.txt") +
             " --json");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "[9259,107]\n");  // the final newline is text too
  run = Gspo("tokenize --tokenizer " + Dir("qwen3") + " --text-file " + dir.Join("t.txt") +
             " --json");
  EXPECT_EQ(run.output, "[9707,198]\n");
}

TEST(DetokenizeTool, TextOfIds) {
  ToolRun run =
      Gspo("detokenize --tokenizer " + Dir("gemma3") + " --ids '[2, 105, 2364, 107, 10979, 106]'");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "<bos><start_of_turn>user\nHi<end_of_turn>");
  run = Gspo("detokenize --tokenizer " + Dir("gemma3") +
             " --ids '[2, 105, 2364, 107, 10979, 106]' --skip-special-tokens");
  EXPECT_EQ(run.output, "user\nHi");
  run = Gspo("detokenize --tokenizer " + Dir("qwen3") + " --ids '[]'");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "");
}

// A few golden conversations (gspo_chat_test checks them all through the library): a system
// message with the generation prompt, a multi-turn one, outer whitespace and Unicode, a last
// assistant turn; the ids of the multi-turn one.
TEST(ChatTool, RendersGoldenConversations) {
  gspo::testing::ScopedTempDir dir;
  for (const char* name : {"gemma3", "qwen3"}) {
    const auto goldens = testing::LoadChatGoldens(name);
    ASSERT_EQ(goldens.size(), 12u);
    for (std::size_t i : {5, 7, 9, 10}) {
      const std::string path = dir.Join(std::string(name) + std::to_string(i) + ".json");
      ASSERT_TRUE(common::WriteFileAtomically(
                      path, common::WriteJson(ChatMessagesToJson(goldens[i].messages)))
                      .ok());
      const std::string flags =
          std::string(" --messages ") + path +
          (goldens[i].add_generation_prompt ? " --add-generation-prompt" : "");
      ToolRun text = Gspo("chat --tokenizer " + Dir(name) + flags);
      EXPECT_EQ(text.exit_code, 0) << text.output;
      EXPECT_EQ(text.output, goldens[i].text) << name << " case " << i;
      if (i != 7) continue;
      ToolRun ids = Gspo("chat --tokenizer " + Dir(name) + flags + " --ids --json");
      EXPECT_EQ(ids.exit_code, 0) << ids.output;
      std::vector<common::Json> expected;
      for (std::int32_t id : goldens[i].ids) expected.push_back(common::Json::Integer(id));
      EXPECT_EQ(ids.output, common::WriteJson(common::Json::Array(expected)) + "\n")
          << name << " case " << i;
    }
  }
}

TEST(ChatTool, NoThinkingGenerationPrompt) {
  gspo::testing::ScopedTempDir dir;
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("m.json"),
                                          R"({"messages": [{"role": "user", "content": "Hi"}]})")
                  .ok());
  ToolRun run = Gspo("chat --tokenizer " + Dir("qwen3") + " --messages " + dir.Join("m.json") +
                     " --add-generation-prompt --no-thinking");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(TokenizerTools, BadInputIsExitCode2WithAMessageNamingIt) {
  gspo::testing::ScopedTempDir dir;
  const std::string gemma = Dir("gemma3");
  ToolRun run = Gspo("tokenize --tokenizer " + dir.Join("nothing") + " --text hi");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "gspo tokenize: --tokenizer " + dir.Join("nothing") +
                            ": not a file or directory, and not in the local Hugging Face cache\n");
  run = Gspo("tokenize --tokenizer " + gemma + " --text-file " + dir.Join("missing.txt"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "gspo tokenize: " + dir.Join("missing.txt") + ": no such file\n");
  run = Gspo("tokenize --tokenizer " + gemma + " --text a --text-file b");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, HasSubstr("exactly one of --text and --text-file"));

  run = Gspo("detokenize --tokenizer " + gemma + " --ids '[1, x]'");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, StartsWith("gspo detokenize: --ids:1:5: "));
  run = Gspo("detokenize --tokenizer " + gemma + " --ids '{\"a\": 1}'");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "gspo detokenize: --ids: expected a JSON array of integers, got '{\"a\": 1}'\n");
  run = Gspo("detokenize --tokenizer " + gemma + " --ids '[1.5]'");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "gspo detokenize: --ids: expected a JSON array of integers, got '[1.5]'\n");
  run = Gspo("detokenize --tokenizer " + Dir("qwen3") + " --ids '[2, 99999999]'");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "gspo detokenize: --ids: id 99999999 at position 1 is outside the "
            "vocabulary [0, 151669)\n");

  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("role.json"),
                                          R"([{"role": "user", "content": "a"},
                                              {"role": "bot", "content": "b"}])")
                  .ok());
  run = Gspo("chat --tokenizer " + gemma + " --messages " + dir.Join("role.json"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "gspo chat: " + dir.Join("role.json") +
                            ": messages[1]: unknown role 'bot' (gemma takes system, user, "
                            "assistant)\n");
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("bad.json"), R"([{"role": "user"}])").ok());
  run = Gspo("chat --tokenizer " + gemma + " --messages " + dir.Join("bad.json"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "gspo chat: " + dir.Join("bad.json") + ": messages[0]: \"content\" must be a string\n");
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("broken.json"), "[{").ok());
  run = Gspo("chat --tokenizer " + gemma + " --messages " + dir.Join("broken.json"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, StartsWith("gspo chat: " + dir.Join("broken.json") + ":1:"));
  run = Gspo("chat --tokenizer " + gemma + " --messages " + dir.Join("absent.json"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "gspo chat: " + dir.Join("absent.json") + ": no such file\n");
  run = Gspo("chat --tokenizer " + dir.path() + " --messages " + dir.Join("role.json"));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output,
              HasSubstr("no tokenizer_config.json, chat_template.jinja or config.json"));
}

TEST(BenchTokenizerTool, PrintsThroughputAsJson) {
  gspo::testing::ScopedTempDir dir;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Hello world, line " + std::to_string(i) + ".\n";
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("bench.txt"), text).ok());
  ToolRun run = Gspo("bench-tokenizer --tokenizer " + Dir("qwen3") + " --text-file " +
                         dir.Join("bench.txt") + " --reps 2",
                     /*with_stderr=*/false);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto json = common::ParseJson(run.output, "bench output");
  ASSERT_TRUE(json.ok()) << json.status() << run.output;
  EXPECT_EQ(json->Find("bytes")->AsInt64(), static_cast<std::int64_t>(text.size()));
  EXPECT_EQ(json->Find("lines")->AsInt64(), 200);
  EXPECT_EQ(json->Find("reps")->AsInt64(), 2);
  EXPECT_GT(json->Find("whole_text")->Find("mb_per_s")->AsDouble(), 0);
  EXPECT_GT(json->Find("by_line")->Find("tokens")->AsInt64().value_or(0), 200);
  run = Gspo("bench-tokenizer --tokenizer " + Dir("qwen3") + " --text-file " +
             dir.Join("bench.txt") + " --reps 0");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "gspo bench-tokenizer: --reps must be >= 1\n");
}

}  // namespace
}  // namespace gspo::tokenizer
