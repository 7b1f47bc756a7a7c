// The gspo tool's data subcommands, which build a small model's training material from the
// project's own scenario packs (each returns a process exit code: 0, 1 runtime, 2 usage or bad
// input):
//   make-sft-data   --job JOB.yaml --out F.jsonl [--per-scenario N] [--seed S]
//                   scripted conversations in the job's scenarios (env/scripted_dialogues.h),
//                   one {"messages": [...]} per line, with the job's system prompt
//   train-tokenizer --data F.jsonl --out DIR [--vocab-size N] [--min-frequency N]
//                   a byte-level BPE tokenizer learned from the dataset's texts
//                   (tokenizer/bpe_trainer.h): DIR/tokenizer.json and DIR/tokenizer_config.json
//                   (ChatML template; <|endoftext|>, <|im_start|>, <|im_end|> at ids 256-258)
// This file is torch-free (it reads job specs through protobuf; train_options.h says why the
// two never meet).
#pragma once

#include <string>
#include <vector>

namespace gspo::tools {

int RunMakeSftData(const std::vector<std::string>& args);
int RunTrainTokenizer(const std::vector<std::string>& args);

}  // namespace gspo::tools
