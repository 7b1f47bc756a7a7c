// gspo: the engine without a daemon. Subcommands grow with the engine; each is a small file.
#include <iostream>
#include <string>
#include <vector>

#include "client/validate_command.h"
#include "worker/engine/runtime.h"
#include "worker/tools/bench_command.h"
#include "worker/tools/data_commands.h"
#include "worker/tools/export_command.h"
#include "worker/tools/model_commands.h"
#include "worker/tools/tokenizer_commands.h"
#include "worker/tools/train_command.h"

namespace {

void Usage(std::ostream& os) {
  os << "usage: gspo <command> [args]\n\n"
     << "commands:\n"
     << "  validate   resolve and check a job spec (same as gspoctl validate)\n"
     << "  train      run a GSPO job (or algorithm: sft) on this machine (gspo train job.yaml [--nproc N])\n"
     << "  make-sft-data   scripted conversations in a job's scenarios, as JSONL for algorithm: sft\n"
     << "  train-tokenizer a byte-level BPE tokenizer.json learned from such a JSONL file\n"
     << "  export     a checkpoint to a PEFT adapter or a merged checkpoint\n"
     << "  info       LibTorch version, threads and visible devices\n"
     << "  init-model random weights for a config.json, in Hugging Face layout\n"
     << "  logits     logits of a model for input ids (safetensors in and out)\n"
     << "  generate   greedy or sampled continuations of input ids\n"
     << "  bench-model prefill and decode timings of a model, as JSON\n"
     << "  bench-rollout  rollout engine throughput (GSPO sampling setting), as JSON\n"
     << "  bench-learner  learner throughput and peak memory (one GSPO phase), as JSON\n"
     << "  bench-step     whole GSPO steps (rollout, rewards, learning), as JSON\n"
     << "  bench-decode-step  each piece of the fused decode step on the GPU, as JSON\n"
     << "  tokenize   ids of a text (Hugging Face tokenizer.json)\n"
     << "  detokenize text of ids\n"
     << "  chat       a conversation as the model's chat template renders it, or its ids\n"
     << "  bench-tokenizer single-thread encode throughput, as JSON\n"
     << "  version    print the version\n";
}

int Info() {
  const gspo::engine::RuntimeInfo info = gspo::engine::ConfigureRuntime();
  std::cout << "libtorch: " << info.torch_version << "\n"
            << "intra_op_threads: " << info.intra_op_threads << "\n"
            << "cuda_available: " << (info.cuda_available ? "true" : "false") << "\n"
            << "cuda_devices: " << info.cuda_devices << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    Usage(std::cerr);
    return 2;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "-h" || command == "--help" || command == "help") {
    Usage(std::cout);
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::cout << "gspo " << GSPO_VERSION << "\n";
    return 0;
  }
  if (command == "validate")
    return gspo::client::RunValidateCommand("gspo", args, std::cout, std::cerr);
  if (command == "info") return Info();
  if (command == "train") return gspo::tools::RunTrain(args);
  if (command == "make-sft-data") return gspo::tools::RunMakeSftData(args);
  if (command == "train-tokenizer") return gspo::tools::RunTrainTokenizer(args);
  if (command == "init-model") return gspo::tools::RunInitModel(args);
  if (command == "logits") return gspo::tools::RunLogits(args);
  if (command == "generate") return gspo::tools::RunGenerate(args);
  if (command == "bench-model") return gspo::tools::RunBenchModel(args);
  if (command == "bench-rollout") return gspo::tools::RunBenchRollout(args);
  if (command == "bench-learner") return gspo::tools::RunBenchLearner(args);
  if (command == "bench-step") return gspo::tools::RunBenchStep(args);
  if (command == "bench-decode-step") return gspo::tools::RunBenchDecodeStep(args);
  if (command == "export") return gspo::tools::RunExport(args);
  if (command == "tokenize") return gspo::tools::RunTokenize(args);
  if (command == "detokenize") return gspo::tools::RunDetokenize(args);
  if (command == "chat") return gspo::tools::RunChat(args);
  if (command == "bench-tokenizer") return gspo::tools::RunBenchTokenizer(args);
  std::cerr << "gspo: unknown command '" << command << "'\n";
  Usage(std::cerr);
  return 2;
}
