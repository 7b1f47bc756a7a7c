// Shared readers for the architecture files: RoPE parameters and layer types.
#include "worker/engine/model/architectures.h"

namespace gspo::engine {

common::StatusOr<RopeSpec> ReadRope(const ConfigReader& reader, const common::Json* scaling,
                                    double base) {
  RopeSpec rope;
  rope.base = base;
  if (scaling == nullptr || scaling->is_null()) return rope;
  if (!scaling->is_object()) return reader.Error("rope_scaling", "expected an object or null");
  ConfigReader s(*scaling, reader.source() + ": rope_scaling");
  GSPO_ASSIGN_OR_RETURN(std::string type, s.StringOr("rope_type", ""));
  if (type.empty()) {
    GSPO_ASSIGN_OR_RETURN(type, s.StringOr("type", "default"));
  }
  GSPO_ASSIGN_OR_RETURN(rope.base, s.NumberOr("rope_theta", base));
  rope.scaling = type;
  if (type == "default") return rope;
  GSPO_ASSIGN_OR_RETURN(rope.factor, s.NumberOr("factor", 1.0));
  if (!(rope.factor > 0)) return s.Error("factor", "expected a positive number");
  if (type == "linear") return rope;
  if (type == "llama3") {
    GSPO_ASSIGN_OR_RETURN(rope.low_freq_factor, s.NumberOr("low_freq_factor", 1.0));
    GSPO_ASSIGN_OR_RETURN(rope.high_freq_factor, s.NumberOr("high_freq_factor", 4.0));
    GSPO_ASSIGN_OR_RETURN(rope.original_max_positions,
                          s.NumberOr("original_max_position_embeddings", 8192));
    if (!(rope.high_freq_factor > rope.low_freq_factor)) {
      return s.Error("high_freq_factor", "expected more than low_freq_factor");
    }
    return rope;
  }
  return s.Error("rope_type", "unsupported '" + type + "'; expected default, linear or llama3");
}

common::StatusOr<RopeSpec> ReadModelRope(const ConfigReader& reader, double default_theta) {
  if (const common::Json* params = reader.object().Find("rope_parameters");
      params != nullptr && params->is_object()) {
    return ReadRope(reader, params, default_theta);
  }
  GSPO_ASSIGN_OR_RETURN(double theta, reader.NumberOr("rope_theta", default_theta));
  return ReadRope(reader, reader.object().Find("rope_scaling"), theta);
}

common::StatusOr<std::optional<std::vector<bool>>> ReadLayerTypes(const ConfigReader& reader,
                                                                  std::int64_t num_layers) {
  if (!reader.Has("layer_types")) return std::optional<std::vector<bool>>();
  const common::Json& list = *reader.object().Find("layer_types");
  if (!list.is_array() || static_cast<std::int64_t>(list.size()) != num_layers) {
    return reader.Error("layer_types",
                        "expected a list of " + std::to_string(num_layers) + " layer types");
  }
  std::vector<bool> sliding;
  for (const common::Json& item : list.elements()) {
    if (item.is_string() && item.AsString() == "sliding_attention") {
      sliding.push_back(true);
    } else if (item.is_string() && item.AsString() == "full_attention") {
      sliding.push_back(false);
    } else {
      return reader.Error(
          "layer_types",
          "expected \"sliding_attention\" or \"full_attention\", got " + common::WriteJson(item));
    }
  }
  return std::optional<std::vector<bool>>(std::move(sliding));
}

}  // namespace gspo::engine
