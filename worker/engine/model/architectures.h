// One function per architecture family: each turns the family's config.json fields into the
// switches and per-layer specs of ModelConfig. The shared fields (sizes, eps) are read before.
// Stateless; safe from any thread.
#pragma once

#include "common/status.h"
#include "worker/engine/model/config_reader.h"
#include "worker/engine/model/model_config.h"

namespace gspo::engine {

common::Status ConfigureGemma2(const ConfigReader& reader, ModelConfig* config);
common::Status ConfigureGemma3(const ConfigReader& reader, ModelConfig* config);
common::Status ConfigureQwen(const ConfigReader& reader, ModelConfig* config);  // qwen2, qwen3
common::Status ConfigureLlama(const ConfigReader& reader, ModelConfig* config);

// RoPE of a layer: `rope_theta` (or `base_key`) and the `rope_scaling` object of hub-style
// configs, or a `rope_parameters` object of newer ones.
common::StatusOr<RopeSpec> ReadRope(const ConfigReader& reader, const common::Json* scaling,
                                    double base);

// The model-wide RoPE: a `rope_parameters` object (newer configs), else `rope_theta` (default
// `default_theta`) with an optional `rope_scaling` object (hub-style configs).
common::StatusOr<RopeSpec> ReadModelRope(const ConfigReader& reader, double default_theta);

// The `layer_types` list ("sliding_attention" | "full_attention") when the config has one.
common::StatusOr<std::optional<std::vector<bool>>> ReadLayerTypes(const ConfigReader& reader,
                                                                  std::int64_t num_layers);

}  // namespace gspo::engine
