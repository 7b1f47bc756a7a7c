// DecoderModel's packed pass (SharedPrefixHidden): each group's shared prefix runs once,
// packed with every row's remaining positions into one sequence through the layers; only
// attention sees the two parts (AttendPacked: one node, or the parts one by one).
#include "worker/engine/device_memory.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/decoder_pass.h"
#include "worker/engine/model/packed_attention.h"

namespace gspo::engine {

at::Tensor DecoderModel::AttendPacked(std::int64_t index, at::Tensor q, at::Tensor k, const at::Tensor& v,
                                      const ForwardInput& mode, StepShared* shared) const {
  const DecoderLayerWeights& w = layers_[index];
  const PackedRows& p = *shared->packed;
  const std::int64_t prefix_len = p.groups * p.prefix, rest_len = p.rows * p.rest;
  const bool sliding = config_.layers[index].sliding;
  const std::int64_t window = sliding ? config_.sliding_window : 0;
  PackedAttentionArgs args;
  args.groups = p.groups, args.prefix = p.prefix, args.rows = p.rows, args.rest = p.rest;
  args.heads = config_.num_heads, args.kv_heads = config_.num_kv_heads, args.head_dim = config_.head_dim;
  args.scale = config_.attention_scale;
  args.softcap = config_.attn_logit_softcap;
  args.implementation = attention_implementation_;
  if (PackedAttentionApplies(q, args)) {
    if (config_.qk_norm) {  // per head, so on the packed positions alike
      const std::int64_t m = q.size(1), d = config_.head_dim;
      q = RmsNorm(q.view({1, m, config_.num_heads, d}), w.q_norm).view({1, m, config_.num_heads * d});
      k = RmsNorm(k.view({1, m, config_.num_kv_heads, d}), w.k_norm).view({1, m, config_.num_kv_heads * d});
    }
    args.group_of_row = p.group_of_row;
    const auto& [prefix_cos, prefix_sin] = shared->CosSin(*rope_[index], p.prefix_positions, dtype_);
    const auto& [rest_cos, rest_sin] = shared->Rest().CosSin(*rope_[index], p.rest_positions, dtype_);
    args.prefix_rope = {prefix_cos, prefix_sin};
    args.rest_rope = {rest_cos, rest_sin};
    args.prefix_bias = shared->Bias(p.prefix_positions, {{}, {}, p.prefix_positions, p.prefix_valid}, window, dtype_);
    args.rest_bias = shared->Rest().Bias(p.rest_positions, {{}, {}, p.row_positions, p.row_valid}, window, dtype_);
    return PackedAttention(q, k, v, args);
  }
  const auto part = [](const at::Tensor& y, std::int64_t start, std::int64_t batch, std::int64_t len) {
    return y.narrow(1, start, batch * len).view({batch, len, y.size(2)});
  };
  const Heads prefix = AttendHeads(index, part(q, 0, p.groups, p.prefix), part(k, 0, p.groups, p.prefix),
                                   part(v, 0, p.groups, p.prefix), p.prefix_positions, p.prefix_valid, mode,
                                   nullptr, shared, nullptr);
  const AttentionKeys before{prefix.k.index_select(0, p.group_of_row), prefix.v.index_select(0, p.group_of_row),
                             p.row_positions, p.row_valid};
  const Heads rest = AttendHeads(index, part(q, prefix_len, p.rows, p.rest), part(k, prefix_len, p.rows, p.rest),
                                 part(v, prefix_len, p.rows, p.rest), p.rest_positions, p.rest_valid, mode, nullptr,
                                 &shared->Rest(), &before);
  const std::int64_t width = prefix.out.size(2);
  return at::cat({prefix.out.view({1, prefix_len, width}), rest.out.view({1, rest_len, width})}, 1);
}

at::Tensor DecoderModel::SharedPrefixHidden(const ForwardInput& input, const SharedPrefix& shared) const {
  const at::Tensor& ids = input.input_ids;
  TORCH_CHECK(ids.dim() == 2, "input_ids must be [B,T], got ", ids.sizes());
  const std::int64_t n = ids.size(0), t = ids.size(1), p = shared.prefix;
  TORCH_CHECK(p > 0 && p < t, "a shared prefix of ", p, " positions needs 0 < P < ", t, " (the rows' length)");
  TORCH_CHECK(!input.positions.defined() && !input.cache_column.defined(),
              "a shared prefix counts positions from 0, without a cache");
  TORCH_CHECK(shared.group_of_row.dim() == 1 && shared.group_of_row.size(0) == n && shared.leaders.dim() == 1,
              "a shared prefix needs one group per row (", n, "), got ", shared.group_of_row.sizes());
  auto packed = std::make_shared<PackedRows>();
  const at::Tensor leaders = CopyWithoutWaiting(shared.leaders, device_);
  const std::int64_t g = leaders.size(0), r = t - p;
  packed->groups = g;
  packed->prefix = p;
  packed->rows = n;
  packed->rest = r;
  packed->group_of_row = CopyWithoutWaiting(shared.group_of_row, device_);
  const auto longs = at::TensorOptions(device_).dtype(at::kLong);
  const at::Tensor valid = input.valid.defined() ? input.valid.to(device_, at::kBool)
                                                 : at::ones({n, t}, longs.dtype(at::kBool));
  packed->prefix_positions = at::arange(p, longs).unsqueeze(0).expand({g, p});
  packed->prefix_valid = valid.index_select(0, leaders).narrow(1, 0, p);
  packed->rest_positions = at::arange(p, t, longs).unsqueeze(0).expand({n, r});
  packed->rest_valid = valid.narrow(1, p, r);
  packed->row_positions = at::arange(t, longs).unsqueeze(0).expand({n, t});
  packed->row_valid = valid;
  const at::Tensor device_ids = ids.to(device_);
  const at::Tensor packed_ids =
      at::cat({device_ids.index_select(0, leaders).narrow(1, 0, p).reshape({-1}), device_ids.narrow(1, p, r).reshape({-1})})
          .unsqueeze(0);  // [1, G*P + N*R]
  const at::Tensor x = RunLayers(Embed(packed_ids), {}, {}, input, nullptr, packed);
  return RmsNorm(x.narrow(1, g * p, n * r).view({n, r, config_.hidden_size}), final_norm_);
}

}  // namespace gspo::engine
