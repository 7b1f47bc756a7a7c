#include "worker/tools/data_commands.h"

#include <iostream>

#include "common/config/job_config.h"
#include "common/files.h"
#include "gspo/v1/job.pb.h"
#include "worker/env/conversation_environment.h"
#include "worker/env/job_environment.h"
#include "worker/env/scripted_dialogues.h"
#include "worker/runner/sft_dataset.h"
#include "worker/tokenizer/bpe_trainer.h"
#include "worker/tools/flags.h"

namespace gspo::tools {
namespace {

constexpr const char* kSpecialTokens[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

// ChatML, as Qwen's tokenizer_config.json spells it; the chat format reader recognises it.
constexpr char kTokenizerConfig[] = R"json({
 "chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
 "eos_token": "<|im_end|>",
 "pad_token": "<|endoftext|>",
 "bos_token": null,
 "tokenizer_class": "Qwen2Tokenizer",
 "model_max_length": 4096
}
)json";

int Report(const common::Status& status, const char* command) {
  if (status.ok()) return 0;
  std::cerr << "gspo " << command << ": " << status.message() << "\n";
  return common::ExitCodeFor(status);
}

common::Status MakeSftData(const std::vector<std::string>& args) {
  Flags flags({"--job", "--out", "--per-scenario", "--seed"}, {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  config::JobSource source;
  GSPO_ASSIGN_OR_RETURN(std::string job, flags.Required("--job"));
  source.file = job;
  GSPO_ASSIGN_OR_RETURN(std::string out, flags.Required("--out"));
  GSPO_ASSIGN_OR_RETURN(std::int64_t per_scenario, flags.Int("--per-scenario", 4));
  GSPO_ASSIGN_OR_RETURN(std::int64_t seed, flags.Int("--seed", 0));
  if (per_scenario < 1 || per_scenario > 1000) {
    return common::InvalidArgumentError(
        "--per-scenario: expected an integer between 1 and 1000, got " +
        std::to_string(per_scenario));
  }
  GSPO_ASSIGN_OR_RETURN(config::ResolvedJob resolved, config::ResolveJob(source));
  env::ScenarioSources sources;
  sources.job_dir = common::DirName(job);
  GSPO_ASSIGN_OR_RETURN(env::EnvironmentOptions options,
                        env::EnvironmentOptionsForJob(resolved.spec, sources));
  GSPO_ASSIGN_OR_RETURN(auto environment, env::ConversationEnvironment::Create(std::move(options)));
  env::ScriptedDialogueOptions dialogue_options;
  dialogue_options.per_scenario = static_cast<int>(per_scenario);
  dialogue_options.seed = static_cast<std::uint64_t>(seed);
  GSPO_ASSIGN_OR_RETURN(auto dialogues, env::ScriptedDialogues(*environment, dialogue_options));
  std::string text;
  for (const auto& dialogue : dialogues) {
    std::vector<runner::SftMessage> messages;
    for (const env::Message& m : dialogue)
      messages.push_back({std::string(env::RoleName(m.role)), m.content});
    text += runner::SftConversationJson(messages) + "\n";
  }
  const std::string dir = common::DirName(out);
  if (!dir.empty()) GSPO_RETURN_IF_ERROR(common::MakeDirectories(dir));
  GSPO_RETURN_IF_ERROR(common::WriteFileAtomically(out, text));
  std::cerr << "gspo make-sft-data: " << dialogues.size() << " conversations from "
            << environment->scenarios().size() << " scenarios in " << out << "\n";
  return common::Status::Ok();
}

common::Status TrainTokenizer(const std::vector<std::string>& args) {
  Flags flags({"--data", "--out", "--vocab-size", "--min-frequency"}, {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string data, flags.Required("--data"));
  GSPO_ASSIGN_OR_RETURN(std::string out, flags.Required("--out"));
  GSPO_ASSIGN_OR_RETURN(std::int64_t vocab_size, flags.Int("--vocab-size", 1024));
  GSPO_ASSIGN_OR_RETURN(std::int64_t min_frequency, flags.Int("--min-frequency", 2));
  if (vocab_size > 1 << 20 || min_frequency > 1 << 30) {
    return common::InvalidArgumentError(
        "--vocab-size: expected at most 1048576, --min-frequency at most 2^30");
  }
  GSPO_ASSIGN_OR_RETURN(auto conversations, runner::LoadSftDataset(data));
  std::vector<std::string> texts;
  for (const auto& c : conversations) {
    for (const auto& m : c.messages) texts.push_back(m.content);
  }
  tokenizer::BpeTrainerOptions options;
  options.vocab_size = static_cast<int>(vocab_size);
  options.min_frequency = static_cast<int>(min_frequency);
  options.special_tokens.assign(std::begin(kSpecialTokens), std::end(kSpecialTokens));
  GSPO_ASSIGN_OR_RETURN(tokenizer::BpeVocabulary vocab,
                        tokenizer::TrainByteLevelBpe(texts, options));
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(out));
  GSPO_RETURN_IF_ERROR(common::WriteFileAtomically(common::JoinPath(out, "tokenizer.json"),
                                                   tokenizer::ByteLevelBpeJson(vocab)));
  GSPO_RETURN_IF_ERROR(common::WriteFileAtomically(common::JoinPath(out, "tokenizer_config.json"),
                                                   kTokenizerConfig));
  std::cerr << "gspo train-tokenizer: " << vocab.tokens.size() << " tokens (" << vocab.merges.size()
            << " merges) from " << texts.size() << " texts in "
            << common::JoinPath(out, "tokenizer.json") << "\n";
  return common::Status::Ok();
}

}  // namespace

int RunMakeSftData(const std::vector<std::string>& args) {
  return Report(MakeSftData(args), "make-sft-data");
}
int RunTrainTokenizer(const std::vector<std::string>& args) {
  return Report(TrainTokenizer(args), "train-tokenizer");
}

}  // namespace gspo::tools
