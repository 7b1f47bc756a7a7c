// `gspo export`: a checkpoint (or a PEFT adapter directory) to a PEFT adapter or a merged
// Hugging Face checkpoint.
//   gspo export --checkpoint DIR (--adapter OUT | --merged OUT) [--model BASE] [--dtype T]
// DIR is output_dir/checkpoints/step-N or a PEFT directory such as output_dir/final/adapter;
// --merged loads the base model named by adapter_config.json (or --model), folds the adapter in
// and writes config, weights and tokenizer files.
#pragma once

#include <string>
#include <vector>

namespace gspo::tools {

int RunExport(const std::vector<std::string>& args);

}  // namespace gspo::tools
