#include "worker/engine/model/packed_attention.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "worker/engine/env_switch.h"
#include "worker/engine/model/eager_attention.h"
#include "worker/engine/model/training_nodes.h"

namespace gspo::engine {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Parts {
  at::Tensor prefix, rest;  // [G,heads,P,D], [N,heads,R,D]
};

// The two parts of a packed [1, G*P + N*R, heads*D] tensor as batches of heads (views).
Parts Split(const at::Tensor& x, const PackedAttentionArgs& a, std::int64_t heads) {
  const std::int64_t d = a.head_dim, prefix_len = a.groups * a.prefix;
  return {x.narrow(1, 0, prefix_len).view({a.groups, a.prefix, heads, d}).transpose(1, 2),
          x.narrow(1, prefix_len, a.rows * a.rest).view({a.rows, a.rest, heads, d}).transpose(1, 2)};
}

at::Tensor Rotated(const at::Tensor& x, const RotaryTables& rope) {
  at::Tensor out = at::empty(x.sizes(), x.options());
  RotateInto(x, rope, /*adjoint=*/false, out);
  return out;
}

// The forward; with `keep`, what backward needs (prefix part, then rest part).
at::Tensor Forward(const at::Tensor& q_in, const at::Tensor& k_in, const at::Tensor& v_in,
                   const PackedAttentionArgs& a, EagerTensors* keep) {
  const Parts q = Split(q_in, a, a.heads), k = Split(k_in, a, a.kv_heads), v = Split(v_in, a, a.kv_heads);
  const at::Tensor prefix_k = Rotated(k.prefix, a.prefix_rope);
  // Each row's keys and values: its group's prefix, then its own.
  const at::Tensor row_k = at::cat({prefix_k.index_select(0, a.group_of_row), Rotated(k.rest, a.rest_rope)}, 2);
  const at::Tensor row_v = at::cat({v.prefix.index_select(0, a.group_of_row), v.rest}, 2);
  const at::Tensor prefix_out = EagerAttention(Rotated(q.prefix, a.prefix_rope), prefix_k, v.prefix, a.prefix_bias,
                                               a.scale, a.softcap, keep != nullptr ? &keep[0] : nullptr);
  const at::Tensor rest_out = EagerAttention(Rotated(q.rest, a.rest_rope), row_k, row_v, a.rest_bias, a.scale,
                                             a.softcap, keep != nullptr ? &keep[1] : nullptr);
  at::Tensor out = at::empty({1, q_in.size(1), a.heads * a.head_dim}, q_in.options());
  const Parts parts = Split(out, a, a.heads);
  parts.prefix.copy_(prefix_out);
  parts.rest.copy_(rest_out);
  return out;
}

struct PackedAttentionFunction : public torch::autograd::Function<PackedAttentionFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const PackedAttentionArgs& a) {
    EagerTensors keep[2];
    at::Tensor out = Forward(q, k, v, a, keep);
    std::vector<at::Tensor> saved;
    for (const EagerTensors& part : keep) {
      for (const at::Tensor& t : {part.q, part.k, part.v, part.capped, part.probs}) saved.push_back(t);
    }
    ctx->save_for_backward(saved);
    ctx->saved_data["sizes"] = std::vector<std::int64_t>{a.groups, a.prefix, a.rows, a.rest, a.heads, a.kv_heads,
                                                         a.head_dim};
    ctx->saved_data["group_of_row"] = a.group_of_row;
    ctx->saved_data["prefix_cos"] = a.prefix_rope.cos;
    ctx->saved_data["prefix_sin"] = a.prefix_rope.sin;
    ctx->saved_data["rest_cos"] = a.rest_rope.cos;
    ctx->saved_data["rest_sin"] = a.rest_rope.sin;
    ctx->saved_data["scale"] = a.scale;
    ctx->saved_data["softcap"] = a.softcap ? *a.softcap : 0.0;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const EagerTensors prefix_keep{saved[0], saved[1], saved[2], saved[3], saved[4]};
    const EagerTensors rest_keep{saved[5], saved[6], saved[7], saved[8], saved[9]};
    const std::vector<std::int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
    PackedAttentionArgs a;
    a.groups = sizes[0], a.prefix = sizes[1], a.rows = sizes[2], a.rest = sizes[3];
    a.heads = sizes[4], a.kv_heads = sizes[5], a.head_dim = sizes[6];
    const at::Tensor group_of_row = ctx->saved_data["group_of_row"].toTensor();
    const RotaryTables prefix_rope{ctx->saved_data["prefix_cos"].toTensor(), ctx->saved_data["prefix_sin"].toTensor()};
    const RotaryTables rest_rope{ctx->saved_data["rest_cos"].toTensor(), ctx->saved_data["rest_sin"].toTensor()};
    const double scale = ctx->saved_data["scale"].toDouble(), softcap = ctx->saved_data["softcap"].toDouble();
    const std::int64_t g = a.groups, p = a.prefix, n = a.rows, r = a.rest, d = a.head_dim;

    const Parts dout = Split(grad_outputs[0].contiguous(), a, a.heads);
    EagerGrads prefix = EagerAttentionBackward(prefix_keep, dout.prefix, scale, softcap, {g, a.heads, p, d},
                                               {g, a.kv_heads, p, d});
    const EagerGrads rest = EagerAttentionBackward(rest_keep, dout.rest, scale, softcap, {n, a.heads, r, d},
                                                   {n, a.kv_heads, p + r, d});
    // The rows' gradients of their group's prefix keys and values sum into that prefix.
    prefix.dk.index_add_(0, group_of_row, rest.dk.narrow(2, 0, p));
    prefix.dv.index_add_(0, group_of_row, rest.dv.narrow(2, 0, p));
    // Written straight into the projections' token-major layout, rotations undone on the way.
    const auto options = grad_outputs[0].options();
    const std::int64_t packed_len = g * p + n * r;
    const at::Tensor dq = at::empty({1, packed_len, a.heads * d}, options);
    const at::Tensor dk = at::empty({1, packed_len, a.kv_heads * d}, options);
    const at::Tensor dv = at::empty({1, packed_len, a.kv_heads * d}, options);
    const Parts dq_parts = Split(dq, a, a.heads), dk_parts = Split(dk, a, a.kv_heads), dv_parts = Split(dv, a, a.kv_heads);
    RotateInto(prefix.dq, prefix_rope, /*adjoint=*/true, dq_parts.prefix);
    RotateInto(rest.dq, rest_rope, /*adjoint=*/true, dq_parts.rest);
    RotateInto(prefix.dk, prefix_rope, /*adjoint=*/true, dk_parts.prefix);
    RotateInto(rest.dk.narrow(2, p, r), rest_rope, /*adjoint=*/true, dk_parts.rest);
    dv_parts.prefix.copy_(prefix.dv);
    dv_parts.rest.copy_(rest.dv.narrow(2, p, r));
    return {dq, dk, dv, at::Tensor()};
  }
};

}  // namespace

bool PackedAttentionApplies(const at::Tensor& q, const PackedAttentionArgs& a) {
  // MaskedAttention's route for these inputs
  const bool eager = a.softcap.has_value() || !q.is_cuda() || a.implementation == AttentionImplementation::kEager;
  return eager && TrainingNodesSwitchedOn() && SwitchedOn("GSPO_PACKED_ATTENTION") &&
         a.prefix <= QueryBlockRows(a.groups * a.heads, a.prefix, q.device()) &&
         a.rest <= QueryBlockRows(a.rows * a.heads, a.prefix + a.rest, q.device());
}

at::Tensor PackedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const PackedAttentionArgs& args) {
  const bool training = c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (training) return PackedAttentionFunction::apply(q, k, v, args);
  return Forward(q, k, v, args, nullptr);
}

}  // namespace gspo::engine
