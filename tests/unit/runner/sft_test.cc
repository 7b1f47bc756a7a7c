// Supervised fine-tuning (algorithm: sft): the loss on a model whose logits can be worked out
// by hand, the assistant mask of a rendered conversation, the dataset reader's errors, and
// `gspo train` with algorithm: sft lowering the loss on a tiny dataset.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/temp_dir.h"
#include "worker/engine/model/model_config.h"
#include "worker/engine/model/weight_names.h"
#include "worker/runner/sft_dataset.h"
#include "worker/runner/sft_loss.h"
#include "worker/runner/sft_trainer.h"

namespace gspo::runner {
namespace {

using ::testing::HasSubstr;

// A one-layer Llama whose attention and MLP weights are all zero, so each layer adds nothing
// and the logits of token x are lm_head . RmsNorm(embed[x]). Embeddings of +-1 entries have an
// RMS of 1, so RmsNorm leaves them as they are (up to eps = 1e-6):
//   id 0: e = ( 1,  1)   id 1: e = (1, -1)   id 2: e = (-1, -1)
// lm_head row 0 = (ln2/2, ln2/2), rows 1 and 2 = 0, so the logits after
//   token 0 are (ln2, 0, 0):  p = (2/4, 1/4, 1/4)
//   token 1 are (0, 0, 0):    p = (1/3, 1/3, 1/3)
//   token 2 are (-ln2, 0, 0): p = (1/5, 2/5, 2/5)
std::unique_ptr<engine::DecoderModel> HandModel() {
  auto config = engine::ParseModelConfig(
      R"({"model_type": "llama", "vocab_size": 3, "hidden_size": 2, "intermediate_size": 2,
          "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1,
          "head_dim": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
          "max_position_embeddings": 16, "tie_word_embeddings": false})",
      "hand/config.json");
  EXPECT_TRUE(config.ok()) << config.status();
  std::map<std::string, at::Tensor> tensors;
  for (const engine::WeightSpec& spec : engine::ExpectedWeights(*config)) {
    tensors[spec.name] =
        spec.kind == engine::WeightKind::kNorm ? at::ones(spec.shape) : at::zeros(spec.shape);
  }
  tensors.at("model.embed_tokens.weight") =
      at::tensor({1.0f, 1.0f, 1.0f, -1.0f, -1.0f, -1.0f}).view({3, 2});
  const float h = static_cast<float>(std::log(2.0) / 2);
  tensors.at("lm_head.weight") = at::tensor({h, h, 0.0f, 0.0f, 0.0f, 0.0f}).view({3, 2});
  auto model = engine::DecoderModel::FromTensors(*config, tensors, at::kFloat, at::kCPU, "hand");
  EXPECT_TRUE(model.ok()) << model.status();
  return std::move(model).value();
}

SftBatch Batch(std::vector<std::int64_t> ids, std::vector<std::int64_t> mask) {
  const std::int64_t t = static_cast<std::int64_t>(ids.size());
  SftBatch b;
  b.ids = at::tensor(ids).view({1, t});
  b.valid = at::ones({1, t}, at::kBool);
  b.assistant_mask = at::tensor(mask).to(at::kBool).view({1, t});
  return b;
}

TEST(SftLoss, IsTheMeanNllOfTheAssistantTokensOnly) {
  auto model = HandModel();
  // ids 0 1 2 0: the assistant wrote positions 1 and 2 (token 1 after 0, token 2 after 1);
  // position 3 (token 0 after 2, p = 1/5) is a user token and must not count.
  const SftNll nll = AssistantNll(*model, Batch({0, 1, 2, 0}, {0, 1, 1, 0}), false, false);
  EXPECT_EQ(nll.tokens, 2);
  const double expected = (std::log(4.0) + std::log(3.0)) / 2;
  EXPECT_NEAR(nll.sum.item<double>() / nll.tokens, expected, 1e-5);
  // Counting position 3 too would add -log(1/5).
  const SftNll all = AssistantNll(*model, Batch({0, 1, 2, 0}, {0, 1, 1, 1}), false, false);
  EXPECT_NEAR(all.sum.item<double>(), std::log(4.0) + std::log(3.0) + std::log(5.0), 1e-5);
}

TEST(SftLoss, PaddingRowsAndMaskedTokensAddNothing) {
  auto model = HandModel();
  SftBatch b;
  b.ids = at::tensor(std::vector<std::int64_t>{0, 1, 2, 0, 2, 0, 0, 0}).view({2, 4});
  b.valid =
      at::tensor(std::vector<std::int64_t>{1, 1, 1, 1, 1, 1, 0, 0}).to(at::kBool).view({2, 4});
  b.assistant_mask =
      at::tensor(std::vector<std::int64_t>{0, 1, 0, 0, 0, 1, 0, 0}).to(at::kBool).view({2, 4});
  const SftNll nll = AssistantNll(*model, b, false, false);
  // Row 0: token 1 after 0, p = 1/4. Row 1: token 0 after 2, p = 1/5.
  EXPECT_EQ(nll.tokens, 2);
  EXPECT_NEAR(nll.sum.item<double>(), std::log(4.0) + std::log(5.0), 1e-5);
}

TEST(SftDataset, ReadsConversationsAndSkipsBlankLines) {
  auto data = ParseSftDataset(
      "d.jsonl",
      "{\"messages\": [{\"role\": \"system\", \"content\": \"Be kind.\"}, "
      "{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": "
      "\"Hello!\"}]}\n"
      "\n" +
          SftConversationJson(
              {{"user", "a"}, {"assistant", "b"}, {"user", "c"}, {"assistant", "d"}}) +
          "\n");
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->size(), 2u);
  EXPECT_EQ((*data)[0].messages.size(), 3u);
  EXPECT_EQ((*data)[0].messages[2].content, "Hello!");
  EXPECT_EQ((*data)[1].line, 3);
  EXPECT_EQ((*data)[1].messages[3].role, "assistant");
}

TEST(SftDataset, ErrorsNameTheLineColumnAndPath) {
  const std::string text =
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"bot\", \"content\": "
      "\"Yo\"}]}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n"
      "{\"messages\": [}\n"
      "{\"mesages\": []}\n";
  auto data = ParseSftDataset("d.jsonl", text);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), common::StatusCode::kInvalidArgument);
  const std::vector<std::string> lines = common::Split(data.status().message(), '\n');
  ASSERT_EQ(lines.size(), 5u) << data.status().message();
  EXPECT_EQ(lines[0],
            "d.jsonl:1:50: messages[1].role: expected one of system, user, assistant; got 'bot'");
  EXPECT_EQ(lines[1],
            "d.jsonl:2:2: messages: expected the conversation to end with an assistant turn");
  EXPECT_THAT(lines[2], ::testing::StartsWith("d.jsonl:3:15: "));
  EXPECT_EQ(lines[3], "d.jsonl:4:2: mesages: unknown key; expected 'messages'");
  EXPECT_EQ(lines[4], "d.jsonl:4:1: messages: expected a non-empty list of {role, content}");
}

TEST(SftTokenize, MasksExactlyTheAssistantTurnsAndTheirEndOfTurn) {
  const std::string dir = std::string(GSPO_SOURCE_DIR) + "/examples/models/tiny-chat";
  auto tokenizer = tokenizer::Tokenizer::FromDirectory(dir);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto format = tokenizer::ChatFormat::FromDirectory(dir);
  ASSERT_TRUE(format.ok()) << format.status();
  SftConversation c;
  c.messages = {
      {"system", "S"}, {"user", "u1"}, {"assistant", "a1"}, {"user", "u2"}, {"assistant", "a2"}};
  c.line = 7;
  auto example = TokenizeConversation(c, **tokenizer, *format, 1000, "d.jsonl");
  ASSERT_TRUE(example.ok()) << example.status();
  // The whole sequence is the ChatML rendering, and the masked ids spell the two assistant
  // turns with their <|im_end|>.
  EXPECT_EQ(
      (*tokenizer)->Decode(example->ids, false),
      "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nu1<|im_end|>\n<|im_start|>assistant\n"
      "a1<|im_end|>\n<|im_start|>user\nu2<|im_end|>\n<|im_start|>assistant\na2<|im_end|>\n");
  std::vector<std::int32_t> masked;
  for (std::size_t i = 0; i < example->ids.size(); ++i) {
    if (example->assistant_mask[i]) masked.push_back(example->ids[i]);
  }
  EXPECT_EQ((*tokenizer)->Decode(masked, false), "a1<|im_end|>a2<|im_end|>");
  auto too_long = TokenizeConversation(c, **tokenizer, *format, 10, "d.jsonl");
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(too_long.status().message(),
              ::testing::StartsWith("d.jsonl:7: the conversation is "));
}

struct GspoRun {
  int exit_code;
  std::string output;
};

GspoRun Gspo(const std::string& args) {
  const gspo::testing::CommandResult r =
      gspo::testing::RunShellCommand("cd '" + std::string(GSPO_SOURCE_DIR) + "' && '" +
                                     std::string(GSPO_BINARY_DIR) + "/bin/gspo' " + args + " 2>&1");
  return {r.exit_code, r.output};
}

std::string SftJob(const std::string& dir, const std::string& dataset) {
  return "apiVersion: gspo/v1\nname: sft-test\nalgorithm: sft\ndataset:\n  path: " + dataset +
         "\nmodel:\n  name_or_path: examples/models/tiny-chat\n  torch_dtype: float32\n"
         "  gradient_checkpointing: false\npreset: none\nlora:\n  use_lora: false\n"
         "training:\n  learning_rate: 1.0e-2\n  lr_scheduler_type: constant\n  warmup_steps: 0\n"
         "  num_outer_iterations: 25\n  per_device_train_batch_size: 2\n  "
         "gradient_accumulation_steps: 1\n"
         "  prompts_per_step: 4\n  seed: 3\noutput:\n  output_dir: " +
         dir + "/out\n  export: [merged]\n";
}

TEST(SftTrain, LossFallsOnATinyDatasetAndTheModelIsExported) {
  gspo::testing::ScopedTempDir dir;
  const std::string data = dir.Join("data.jsonl");
  ASSERT_TRUE(
      common::WriteFileAtomically(
          data, SftConversationJson({{"user", "Where is my parcel?"},
                                     {"assistant", "Sorry! I will send a new one today."}}) +
                    "\n" +
                    SftConversationJson({{"user", "Refund please."},
                                         {"assistant", "Sure, your refund is on its way."}}) +
                    "\n")
          .ok());
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("job.yaml"), SftJob(dir.path(), data)).ok());
  const GspoRun run = Gspo("train " + dir.Join("job.yaml") + " --no-progress");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto text = common::ReadFileToString(dir.Join("out/metrics.jsonl"), 1 << 20);
  ASSERT_TRUE(text.ok()) << text.status();
  std::vector<double> losses;
  for (const std::string& line : common::Split(*text, '\n')) {
    if (line.empty()) continue;
    auto row = common::ParseJson(line, "metrics.jsonl");
    ASSERT_TRUE(row.ok()) << row.status();
    losses.push_back(row->Find("loss")->AsDouble());
    // Both conversations in every step: the assistant tokens of the two replies, bytes + <|im_end|>.
    EXPECT_EQ(row->Find("tokens_trained")->AsDouble(), 35 + 1 + 32 + 1);
  }
  ASSERT_EQ(losses.size(), 25u);
  // Byte-level tokens from a random model start near ln(259) = 5.56 nats.
  EXPECT_GT(losses.front(), 4.5);
  EXPECT_LT(losses.back(), 0.5 * losses.front());
  EXPECT_TRUE(common::PathExists(dir.Join("out/final/merged/model.safetensors")));
  EXPECT_TRUE(common::PathExists(dir.Join("out/final/merged/tokenizer.json")));
}

TEST(SftTrain, BadDatasetIsAnInputErrorWithItsPlace) {
  gspo::testing::ScopedTempDir dir;
  const std::string data = dir.Join("data.jsonl");
  ASSERT_TRUE(
      common::WriteFileAtomically(data, "{\"messages\": [{\"role\": \"user\", \"content\": 3}]}\n")
          .ok());
  ASSERT_TRUE(common::WriteFileAtomically(dir.Join("job.yaml"), SftJob(dir.path(), data)).ok());
  const GspoRun run = Gspo("train " + dir.Join("job.yaml") + " --no-progress");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr(data + ":1:15: messages[0].content: expected a string"));
}

TEST(SftTrain, TheDemoJobsValidate) {
  for (const char* job :
       {"examples/jobs/demo-customer-service.yaml", "examples/jobs/tiny-cs-sft.yaml"}) {
    const GspoRun run = Gspo(std::string("validate ") + job);
    EXPECT_EQ(run.exit_code, 0) << job << ": " << run.output;
    EXPECT_THAT(run.output, HasSubstr("valid")) << job;
  }
}

}  // namespace
}  // namespace gspo::runner
