// The gspo tool's model subcommands (each returns a process exit code: 0, 1 runtime, 2 usage):
//   init-model --config config.json --out DIR [--seed N] [--dtype float32|bfloat16|float16]
//   logits     --model DIR --input IN.safetensors --output OUT.safetensors [--device] [--dtype]
//   generate   --model DIR --input IN.safetensors --max-new-tokens N
//              (--greedy | --temperature T [--top-p P] [--top-k K] [--seed S])
//              --output OUT.safetensors [--device cpu|cuda[:i]] [--dtype float32|bfloat16]
// IN holds int64 `input_ids` [B,T]; logits writes float32 `logits` [B,T,V]; generate writes
// int64 `sequences` [B,T+N] and float32 `logprobs` [B,N] (log_softmax(logits / T) of each
// sampled token). A model directory needs only config.json and safetensors.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/tools/flags.h"

namespace gspo::tools {

struct LoadedModel {
  std::unique_ptr<engine::DecoderModel> model;
  at::Device device = at::kCPU;
};

// "float32", "bfloat16", "float16" (the --dtype flag).
common::StatusOr<at::ScalarType> ParseDtype(const std::string& name);

// --model DIR, --device (default cpu), --dtype (default bfloat16 on CUDA, float32 on CPU).
common::StatusOr<LoadedModel> LoadModelFromFlags(const Flags& flags);

// Runs `body` and turns its status, or an exception from LibTorch, into an exit code, printing
// "gspo <command>: <message>" for failures.
int GuardedCommand(const char* command, const std::function<common::Status()>& body);

int RunInitModel(const std::vector<std::string>& args);
int RunLogits(const std::vector<std::string>& args);
int RunGenerate(const std::vector<std::string>& args);

}  // namespace gspo::tools
