#include "worker/engine/model/decoder_model.h"

#include <c10/core/GradMode.h>

#include <cmath>
#include <sstream>
#include <utility>

#include "worker/engine/env_switch.h"
#include "worker/engine/model/attention.h"
#include "worker/engine/model/decoder_pass.h"
#include "worker/engine/model/fused_norm.h"
#include "worker/engine/model/layer_checkpoint.h"
#include "worker/engine/model/lora_linear.h"
#include "worker/engine/model/mlp_node.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"
#include "worker/engine/model/weight_names.h"
#include "worker/engine/torch_compat.h"

namespace gspo::engine {
namespace {

// Training's q, k and v through one node (StackedAdaptedLinear) when each carries an adapter on
// a dense base stacked in qkv_weight and no adapter dropout applies; GSPO_STACKED_QKV=0 keeps three
// nodes (the switch that measures what it brings). Read at every call.
bool StackQkv(const DecoderLayerWeights& w, const at::Tensor& x, const ForwardInput& mode) {
  if (!SwitchedOn("GSPO_STACKED_QKV") || !mode.use_adapters || !TrainingNodesSwitchedOn() ||
      !c10::GradMode::is_enabled() || !w.qkv_weight.defined()) {
    return false;
  }
  bool trains = x.requires_grad();
  for (const Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj}) {
    if (!l->lora || l->quantized || !l->weight.defined() || (mode.training && l->lora->dropout > 0)) return false;
    if (l->bias.defined() != w.q_proj.bias.defined()) return false;
    trains = trains || l->lora->a.requires_grad() || l->lora->b.requires_grad();
  }
  // The three weights must still be the leading rows of the stacked buffer, in order.
  const auto at_row = [&](const at::Tensor& weight, std::int64_t row) {
    return weight.is_contiguous() && weight.data_ptr() == w.qkv_weight[row].data_ptr();
  };
  const std::int64_t k_row = w.q_proj.weight.size(0), v_row = k_row + w.k_proj.weight.size(0);
  const bool stacked = w.qkv_weight.size(0) >= v_row + w.v_proj.weight.size(0) && at_row(w.q_proj.weight, 0) &&
                       at_row(w.k_proj.weight, k_row) && at_row(w.v_proj.weight, v_row);
  return trains && stacked && (!w.q_proj.bias.defined() || w.qkv_bias.defined());
}

bool SameRope(const RopeSpec& a, const RopeSpec& b) {
  return a.base == b.base && a.scaling == b.scaling && a.factor == b.factor &&
         a.low_freq_factor == b.low_freq_factor && a.high_freq_factor == b.high_freq_factor &&
         a.original_max_positions == b.original_max_positions;
}

std::string ShapeText(at::IntArrayRef shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

common::Status CheckShape(const std::string& source, const WeightSpec& spec, at::IntArrayRef shape) {
  if (shape == at::IntArrayRef(spec.shape)) return common::Status::Ok();
  return common::InvalidArgumentError(source + ": tensor '" + spec.name + "' has shape " +
                                      ShapeText(shape) + ", expected " + ShapeText(spec.shape) +
                                      " from config.json");
}

}  // namespace

DecoderModel::DecoderModel(ModelConfig config, at::ScalarType dtype, at::Device device)
    : config_(std::move(config)), dtype_(dtype), device_(device) {
  for (const LayerSpec& layer : config_.layers) {
    std::shared_ptr<RotaryEmbedding> rope;
    for (std::size_t i = 0; i < rope_.size(); ++i) {
      if (SameRope(config_.layers[i].rope, layer.rope)) rope = rope_[i];
    }
    if (!rope) rope = std::make_shared<RotaryEmbedding>(layer.rope, config_.head_dim, device);
    rope_.push_back(rope);
  }
}

common::StatusOr<std::unique_ptr<DecoderModel>> DecoderModel::Load(const std::string& dir,
                                                                   at::ScalarType dtype,
                                                                   at::Device device) {
  GSPO_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(dir));
  GSPO_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::Open(dir));
  // A multimodal Gemma 3 checkpoint may name the decoder either way depending on its writer.
  for (const char* prefix : {"language_model.model.", "model.language_model.", "model."}) {
    if (checkpoint.Has(std::string(prefix) + "embed_tokens.weight")) {
      config.weight_prefix = prefix;
      break;
    }
  }
  if (!checkpoint.Has(config.lm_head_name) && checkpoint.Has("lm_head.weight")) {
    config.lm_head_name = "lm_head.weight";
  }
  std::map<std::string, at::Tensor> tensors;
  for (const WeightSpec& spec : ExpectedWeights(config)) {
    GSPO_ASSIGN_OR_RETURN(TensorView view, checkpoint.Get(spec.name));
    GSPO_RETURN_IF_ERROR(CheckShape(dir, spec, view.shape));
    GSPO_RETURN_IF_ERROR(CheckTorchCompatible(view));
    tensors[spec.name] = ViewAsTensor(view);  // copied (and converted) by FromTensors
  }
  return FromTensors(std::move(config), tensors, dtype, device, dir);
}

common::StatusOr<std::unique_ptr<DecoderModel>> DecoderModel::FromTensors(
    ModelConfig config, const std::map<std::string, at::Tensor>& tensors, at::ScalarType dtype,
    at::Device device, const std::string& source) {
  std::unique_ptr<DecoderModel> model(new DecoderModel(config, dtype, device));
  std::map<std::string, at::Tensor> loaded;
  for (const WeightSpec& spec : ExpectedWeights(config)) {
    auto it = tensors.find(spec.name);
    if (it == tensors.end()) {
      return common::InvalidArgumentError(source + ": missing tensor '" + spec.name + "'");
    }
    GSPO_RETURN_IF_ERROR(CheckShape(source, spec, it->second.sizes()));
    loaded[spec.name] = it->second.to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
  }
  const std::string& p = config.weight_prefix;
  model->embed_tokens_ = loaded.at(p + "embed_tokens.weight");
  model->final_norm_ = loaded.at(p + "norm.weight");
  model->lm_head_ =
      config.tie_word_embeddings ? model->embed_tokens_ : loaded.at(config.lm_head_name);
  const auto get = [&](std::int64_t i, const std::string& suffix) -> at::Tensor {
    auto it = loaded.find(LayerWeightName(config, i, suffix));
    return it == loaded.end() ? at::Tensor() : it->second;
  };
  for (const WeightSpec& spec : ExpectedWeights(config)) {
    if (spec.kind != WeightKind::kNorm) continue;
    const at::Tensor& w = loaded.at(spec.name);
    model->norm_scales_[w.data_ptr()] = config.norm_adds_one ? 1.0 + w.to(at::kFloat) : w.to(at::kFloat);
  }
  // Stacks `parts` into one buffer and points each part's weight at its rows; the separate
  // tensors are dropped from `loaded` as soon as they are copied, so loading peaks at one
  // layer's worth of extra memory.
  const auto stack = [&](std::int64_t i, const std::vector<std::pair<std::string, at::Tensor*>>& parts) {
    std::vector<at::Tensor> pieces;
    for (const auto& [suffix, target] : parts) pieces.push_back(get(i, suffix));
    at::Tensor stacked = at::cat(pieces, 0);
    std::int64_t row = 0;
    for (std::size_t p = 0; p < parts.size(); ++p) {
      *parts[p].second = stacked.narrow(0, row, pieces[p].size(0));
      row += pieces[p].size(0);
      loaded.erase(LayerWeightName(config, i, parts[p].first));
    }
    return stacked;
  };
  bool stacked_biases = true;
  for (std::int64_t i = 0; i < config.num_layers; ++i) {
    DecoderLayerWeights w;
    w.qkv_weight = stack(i, {{"self_attn.q_proj.weight", &w.q_proj.weight},
                             {"self_attn.k_proj.weight", &w.k_proj.weight},
                             {"self_attn.v_proj.weight", &w.v_proj.weight}});
    const int biases = get(i, "self_attn.q_proj.bias").defined() + get(i, "self_attn.k_proj.bias").defined() +
                       get(i, "self_attn.v_proj.bias").defined();
    if (biases == 3) {
      w.qkv_bias = stack(i, {{"self_attn.q_proj.bias", &w.q_proj.bias},
                             {"self_attn.k_proj.bias", &w.k_proj.bias},
                             {"self_attn.v_proj.bias", &w.v_proj.bias}});
    } else {
      stacked_biases = stacked_biases && biases == 0;
      w.q_proj.bias = get(i, "self_attn.q_proj.bias");
      w.k_proj.bias = get(i, "self_attn.k_proj.bias");
      w.v_proj.bias = get(i, "self_attn.v_proj.bias");
    }
    w.gate_up_weight = stack(i, {{"mlp.gate_proj.weight", &w.gate_proj.weight}, {"mlp.up_proj.weight", &w.up_proj.weight}});
    w.o_proj = {get(i, "self_attn.o_proj.weight"), get(i, "self_attn.o_proj.bias")};
    w.down_proj = {get(i, "mlp.down_proj.weight"), {}};
    w.input_norm = get(i, "input_layernorm.weight");
    w.post_attention_norm = get(i, "post_attention_layernorm.weight");
    w.pre_ffn_norm = get(i, "pre_feedforward_layernorm.weight");
    w.post_ffn_norm = get(i, "post_feedforward_layernorm.weight");
    w.q_norm = get(i, "self_attn.q_norm.weight");
    w.k_norm = get(i, "self_attn.k_norm.weight");
    model->layers_.push_back(std::move(w));
  }
  model->fusable_shapes_ = stacked_biases && FusedShapesSupported(config);
  return model;
}

const at::Tensor& DecoderModel::NormScale(const at::Tensor& weight) const {
  auto it = norm_scales_.find(weight.data_ptr());
  TORCH_CHECK(it != norm_scales_.end(), "no float32 scale for this norm weight");
  return it->second;
}

at::Tensor DecoderModel::RmsNorm(const at::Tensor& x, const at::Tensor& weight) const {
  if (config_.norm_adds_one) {
    // Gemma scales in float32 by (1 + w), then casts.
    const at::Tensor& scale = NormScale(weight);
    if (FusedGemmaNormApplies(x, scale)) return FusedGemmaRmsNorm(x, scale, config_.rms_norm_eps);
    return compat::RmsNormFloat(x.to(at::kFloat), scale, config_.rms_norm_eps).to(x.scalar_type());
  }
  at::Tensor xf = x.to(at::kFloat);
  // Llama and Qwen cast first, then scale by w.
  at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, true) + config_.rms_norm_eps);
  return weight * normed.to(x.scalar_type());
}

at::Tensor DecoderModel::Mlp(const DecoderLayerWeights& w, const at::Tensor& x,
                             const ForwardInput& mode) const {
  const Linear* const adaptable[] = {&w.gate_proj, &w.up_proj, &w.down_proj};
  bool plain = w.gate_up_weight.defined() && !w.gate_proj.bias.defined() && !w.up_proj.bias.defined() &&
               !w.down_proj.bias.defined();
  for (const Linear* l : adaptable) plain = plain && !l->quantized && (!l->lora || !mode.use_adapters);
  if (plain && c10::GradMode::is_enabled() && x.requires_grad() && TrainingNodesSwitchedOn()) {
    return GatedMlpNode(x, w.gate_up_weight, w.down_proj.weight, config_.activation);
  }
  const at::Tensor gate = ApplyActivation(w.gate_proj(x, mode.use_adapters, mode.training), config_.activation);
  return w.down_proj(gate * w.up_proj(x, mode.use_adapters, mode.training), mode.use_adapters,
                     mode.training);
}

at::Tensor DecoderModel::Attention(std::int64_t index, const at::Tensor& x,
                                   const at::Tensor& positions, const at::Tensor& valid,
                                   const ForwardInput& mode, KvCache* cache,
                                   StepShared* shared) const {
  const DecoderLayerWeights& w = layers_[index];
  const bool lora = mode.use_adapters, train = mode.training;
  at::Tensor q, k, v;  // [B,T,heads*D]
  if (StackQkv(w, x, mode)) {
    const std::vector<std::int64_t> widths = {w.q_proj.out_features(), w.k_proj.out_features(),
                                              w.v_proj.out_features()};
    const std::int64_t rows = widths[0] + widths[1] + widths[2];
    std::vector<AdapterWeights> adapters;
    for (const Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj}) {
      adapters.push_back({l->lora->a, l->lora->b, l->lora->scale});
    }
    // The base rows of the stacked buffer (adapter rows for decode may follow them).
    const std::vector<at::Tensor> qkv =
        StackedAdaptedLinear(x, w.qkv_weight.narrow(0, 0, rows),
                             w.q_proj.bias.defined() ? w.qkv_bias.narrow(0, 0, rows) : at::Tensor(), widths, adapters);
    q = qkv[0];
    k = qkv[1];
    v = qkv[2];
  } else {
    q = w.q_proj(x, lora, train);
    k = w.k_proj(x, lora, train);
    v = w.v_proj(x, lora, train);
  }
  if (!shared->packed) {
    return w.o_proj(AttendHeads(index, q, k, v, positions, valid, mode, cache, shared, nullptr).out, lora, train);
  }
  // A packed pass: the projections ran once over all positions; attention runs per part.
  return w.o_proj(AttendPacked(index, q, k, v, mode, shared), lora, train);
}

DecoderModel::Heads DecoderModel::AttendHeads(std::int64_t index, const at::Tensor& q_in, const at::Tensor& k_in,
                                              const at::Tensor& v_in, const at::Tensor& positions,
                                              const at::Tensor& valid, const ForwardInput& mode, KvCache* cache,
                                              StepShared* shared, const AttentionKeys* before) const {
  const DecoderLayerWeights& w = layers_[index];
  const std::int64_t b = q_in.size(0), t = q_in.size(1), d = config_.head_dim;
  at::Tensor q = q_in.view({b, t, config_.num_heads, d}).transpose(1, 2);
  at::Tensor k = k_in.view({b, t, config_.num_kv_heads, d}).transpose(1, 2);
  at::Tensor v = v_in.view({b, t, config_.num_kv_heads, d}).transpose(1, 2);
  if (config_.qk_norm) {
    q = RmsNorm(q, w.q_norm);
    k = RmsNorm(k, w.k_norm);
  }
  const auto& [cos, sin] = shared->CosSin(*rope_[index], positions, dtype_);
  q = ApplyRotary(q, cos, sin);
  k = ApplyRotary(k, cos, sin);

  AttentionKeys keys =
      before != nullptr ? AttentionKeys{at::cat({before->k, k}, 2), at::cat({before->v, v}, 2), before->positions,
                                        before->valid}
      : cache == nullptr             ? AttentionKeys{k, v, positions, valid}
      : mode.cache_column.defined() ? cache->UpdateAtColumn(index, k, v, positions, mode.cache_column)
                                     : cache->Update(index, k, v, positions, valid);
  const bool sliding = config_.layers[index].sliding;
  const at::Tensor& bias = shared->Bias(positions, keys, sliding ? config_.sliding_window : 0, dtype_);
  const at::Tensor out = MaskedAttention(q, keys.k, keys.v, bias, config_.attention_scale,
                                         config_.attn_logit_softcap, /*query_block=*/0, attention_implementation_);
  return {out.transpose(1, 2).reshape({b, t, config_.num_heads * d}), k, v};
}

at::Tensor DecoderModel::Layer(std::int64_t i, const at::Tensor& x_in, const at::Tensor& positions,
                               const at::Tensor& valid, const ForwardInput& input, KvCache* cache,
                               StepShared* shared) const {
  const DecoderLayerWeights& w = layers_[i];
  at::Tensor x = x_in;
  at::Tensor h = Attention(i, RmsNorm(x, w.input_norm), positions, valid, input, cache, shared);
  if (config_.sandwich_norms) {
    x = x + RmsNorm(h, w.post_attention_norm);
    return x + RmsNorm(Mlp(w, RmsNorm(x, w.pre_ffn_norm), input), w.post_ffn_norm);
  }
  x = x + h;
  return x + Mlp(w, RmsNorm(x, w.post_attention_norm), input);
}

at::Tensor DecoderModel::Embed(const at::Tensor& ids) const {
  at::Tensor x = at::embedding(embed_tokens_, ids.to(device_));
  if (config_.scale_embeddings) {
    // sqrt(E) rounded to the model dtype, as the reference implementation multiplies.
    x = x * at::scalar_tensor(std::sqrt(static_cast<double>(config_.hidden_size)),
                              at::TensorOptions(device_).dtype(dtype_));
  }
  return x;
}

at::Tensor DecoderModel::RunLayers(at::Tensor x, const at::Tensor& positions, const at::Tensor& valid,
                                   const ForwardInput& input, KvCache* cache,
                                   const std::shared_ptr<const PackedRows>& packed) const {
  StepShared shared;
  shared.packed = packed;
  const bool checkpoint = input.checkpoint_layers && cache == nullptr && c10::GradMode::is_enabled();
  for (std::int64_t i = 0; i < config_.num_layers; ++i) {
    if (!checkpoint) {
      x = Layer(i, x, positions, valid, input, cache, &shared);
      continue;
    }
    std::vector<at::Tensor> params;
    for (const Linear* linear : {&layers_[i].q_proj, &layers_[i].k_proj, &layers_[i].v_proj, &layers_[i].o_proj,
                                 &layers_[i].gate_proj, &layers_[i].up_proj, &layers_[i].down_proj}) {
      if (linear->lora && input.use_adapters && linear->lora->a.requires_grad()) {
        params.push_back(linear->lora->a);
        params.push_back(linear->lora->b);
      }
    }
    // The recomputation builds its own rotary tables and mask: nothing of this pass is kept.
    x = CheckpointedLayer(
        [this, i, positions, valid, input, packed](const at::Tensor& layer_input) {
          StepShared local;
          local.packed = packed;
          return Layer(i, layer_input, positions, valid, input, nullptr, &local);
        },
        x, params);
  }
  return x;
}

at::Tensor DecoderModel::Hidden(const ForwardInput& input, KvCache* cache) const {
  const at::Tensor& ids = input.input_ids;
  TORCH_CHECK(ids.dim() == 2, "input_ids must be [B,T], got ", ids.sizes());
  if (CanFuseDecode(input, cache)) return FusedDecodeHidden(input, cache);
  const std::int64_t b = ids.size(0), t = ids.size(1);
  TORCH_CHECK(!input.cache_column.defined() || (cache != nullptr && t == 1 && input.positions.defined()),
              "cache_column needs a cache, one token per row and positions");
  const std::int64_t start = cache != nullptr ? cache->length() : 0;
  at::Tensor positions =
      input.positions.defined()
          ? input.positions.to(device_, at::kLong)
          : at::arange(start, start + t, at::TensorOptions(device_).dtype(at::kLong))
                .unsqueeze(0)
                .expand({b, t});
  at::Tensor valid = input.valid.defined()
                         ? input.valid.to(device_, at::kBool)
                         : at::ones({b, t}, at::TensorOptions(device_).dtype(at::kBool));
  const at::Tensor x = RunLayers(Embed(ids), positions, valid, input, cache, nullptr);
  if (cache != nullptr && !input.cache_column.defined()) cache->Advance(t);
  return RmsNorm(x, final_norm_);
}

at::Tensor DecoderModel::Logits(const at::Tensor& hidden) const {
  at::Tensor logits = at::linear(hidden, lm_head_);
  if (config_.final_logit_softcap) {
    const double cap = *config_.final_logit_softcap;
    logits = at::tanh(logits / cap) * cap;
  }
  return logits;
}

void DecoderModel::QuantizeBaseWeights(const QuantizeOptions& options) {
  for (DecoderLayerWeights& w : layers_) {
    for (Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj}) {
      if (l->quantized) continue;
      l->quantized = std::make_shared<const QuantizedWeight>(QuantizedWeight::Quantize(l->weight, options));
      l->weight = at::Tensor();
    }
    // The stacked buffers held the dense weights: dropping them frees that memory.
    w.qkv_weight = at::Tensor();
    w.gate_up_weight = at::Tensor();
    w.o_weight = at::Tensor();
    w.qkv_adapter_rows = w.o_adapter_rows = 0;
  }
  decode_weight_ = at::Tensor();
}

common::Status DecoderModel::SetAttentionImplementation(AttentionImplementation implementation) {
  if (implementation == AttentionImplementation::kScaledDotProduct && config_.attn_logit_softcap) {
    std::ostringstream message;
    message << "model.attn_implementation: sdpa and flash cannot apply this model's attention soft-cap "
            << "(attn_logit_softcapping " << *config_.attn_logit_softcap
            << "): use auto (the engine's eager attention, in query blocks) or eager";
    return common::InvalidArgumentError(message.str());
  }
  attention_implementation_ = implementation;
  return common::Status::Ok();
}

std::int64_t DecoderModel::WeightBytes() const {
  std::int64_t bytes = 0;
  const auto add = [&](const at::Tensor& t) {
    if (t.defined()) bytes += t.numel() * static_cast<std::int64_t>(t.element_size());
  };
  add(embed_tokens_);
  add(final_norm_);
  if (!config_.tie_word_embeddings) add(lm_head_);
  for (const DecoderLayerWeights& w : layers_) {
    for (const Linear* l : {&w.q_proj, &w.k_proj, &w.v_proj, &w.o_proj, &w.gate_proj, &w.up_proj, &w.down_proj}) {
      if (l->quantized) {
        bytes += l->quantized->StorageBytes();
      } else {
        add(l->weight);
      }
      add(l->bias);
    }
    for (const at::Tensor* t : {&w.input_norm, &w.post_attention_norm, &w.pre_ffn_norm, &w.post_ffn_norm, &w.q_norm, &w.k_norm}) {
      add(*t);
    }
  }
  return bytes;
}

Linear* DecoderModel::MutableProjection(std::int64_t layer, const std::string& module) {
  DecoderLayerWeights& w = layers_.at(layer);
  if (module == "q_proj") return &w.q_proj;
  if (module == "k_proj") return &w.k_proj;
  if (module == "v_proj") return &w.v_proj;
  if (module == "o_proj") return &w.o_proj;
  if (module == "gate_proj") return &w.gate_proj;
  if (module == "up_proj") return &w.up_proj;
  if (module == "down_proj") return &w.down_proj;
  return nullptr;
}

std::map<std::string, DecoderModel::LazyWeight> DecoderModel::LazyWeights() const {
  std::map<std::string, LazyWeight> named;
  const auto tensor = [&](const std::string& name, const at::Tensor& t) {
    if (t.defined()) named[name] = {t.numel() * static_cast<std::int64_t>(t.element_size()), [t] { return t; }};
  };
  const auto linear = [&](const std::string& name, const Linear& l) {
    if (!l.quantized) return tensor(name, l.weight);
    const std::int64_t bytes =
        l.out_features() * l.in_features() * static_cast<std::int64_t>(c10::elementSize(l.quantized->original_dtype()));
    named[name] = {bytes, [&l] { return l.DenseWeight(); }};
  };
  const std::string& p = config_.weight_prefix;
  tensor(p + "embed_tokens.weight", embed_tokens_);
  tensor(p + "norm.weight", final_norm_);
  if (!config_.tie_word_embeddings) tensor(config_.lm_head_name, lm_head_);
  for (std::int64_t i = 0; i < config_.num_layers; ++i) {
    const DecoderLayerWeights& w = layers_[i];
    const auto name = [&](const char* suffix) { return LayerWeightName(config_, i, suffix); };
    linear(name("self_attn.q_proj.weight"), w.q_proj);
    tensor(name("self_attn.q_proj.bias"), w.q_proj.bias);
    linear(name("self_attn.k_proj.weight"), w.k_proj);
    tensor(name("self_attn.k_proj.bias"), w.k_proj.bias);
    linear(name("self_attn.v_proj.weight"), w.v_proj);
    tensor(name("self_attn.v_proj.bias"), w.v_proj.bias);
    linear(name("self_attn.o_proj.weight"), w.o_proj);
    tensor(name("self_attn.o_proj.bias"), w.o_proj.bias);
    tensor(name("self_attn.q_norm.weight"), w.q_norm);
    tensor(name("self_attn.k_norm.weight"), w.k_norm);
    linear(name("mlp.gate_proj.weight"), w.gate_proj);
    linear(name("mlp.up_proj.weight"), w.up_proj);
    linear(name("mlp.down_proj.weight"), w.down_proj);
    tensor(name("input_layernorm.weight"), w.input_norm);
    tensor(name("post_attention_layernorm.weight"), w.post_attention_norm);
    tensor(name("pre_feedforward_layernorm.weight"), w.pre_ffn_norm);
    tensor(name("post_feedforward_layernorm.weight"), w.post_ffn_norm);
  }
  return named;
}

std::map<std::string, at::Tensor> DecoderModel::NamedWeights() const {
  std::map<std::string, at::Tensor> named;
  for (const auto& [name, weight] : LazyWeights()) named[name] = weight.make();
  return named;
}

}  // namespace gspo::engine
