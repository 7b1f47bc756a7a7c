// What the engine benchmarks share (bench_command.cc, bench_step_command.cc): models with random
// weights of a config's shape, --quantize, device syncs and the JSON lists they print.
// Stateless; each call independent.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "common/status.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/tools/flags.h"
#include "worker/tools/model_commands.h"

namespace gspo::tools {

// Waits for the device: copying a scalar to the host waits for the stream's earlier work.
void Sync(const at::Tensor& t);
double Median(std::vector<double> v);
std::string JsonList(const std::vector<double>& v);

// --quantize none|nf4|nf4-dq|int8: the base weights as `use_4bit` / `use_8bit` jobs load them.
common::Status QuantizeFromFlag(const std::string& command, const std::string& quantize, engine::DecoderModel* model);

// A model of config.json's shape with random weights made on the device (normal, std 0.02;
// norms near their identity), so no checkpoint of billions of parameters is written or read.
common::StatusOr<std::unique_ptr<engine::DecoderModel>> RandomModel(const std::string& config_path,
                                                                    at::ScalarType dtype, at::Device device);

// --random-config config.json (random weights on --device) or --model DIR.
common::StatusOr<LoadedModel> LoadBenchModel(const Flags& flags);

}  // namespace gspo::tools
