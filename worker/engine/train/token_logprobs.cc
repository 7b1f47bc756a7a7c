#include "worker/engine/train/token_logprobs.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

#include "worker/engine/device_memory.h"
#include "worker/engine/model/training_nodes.h"
#include "worker/engine/train/log_prob_node.h"

namespace gspo::engine {
namespace {

// One chunk of rows: log_softmax(logits(rows) / T)[targets] as autograd records it (one node
// when training's nodes are on: train/log_prob_node.h), and (when asked) the entropy of each
// distribution, outside autograd.
struct ChunkResult {
  at::Tensor logp, entropy;
};
ChunkResult ChunkLogProbs(const DecoderModel& model, const at::Tensor& rows, const at::Tensor& targets,
                          double temperature, bool with_entropy = true) {
  if (TrainingNodesSwitchedOn() && c10::GradMode::is_enabled() && rows.requires_grad()) {
    HeadLogProbs node = LogProbNode(rows, targets, {model.lm_head(), model.config().final_logit_softcap},
                                    temperature, with_entropy);
    return {node.logp, with_entropy ? node.entropy : at::Tensor()};
  }
  // Scaled in place: one [len, V] float32 tensor fewer (a division by a constant saves nothing
  // for backward, and the logits' own producers keep their inputs, not this output).
  at::Tensor log_probs = at::log_softmax(model.Logits(rows).to(at::kFloat).div_(temperature), -1);  // [len,V]
  ChunkResult out{log_probs.gather(1, targets.unsqueeze(1)).squeeze(1), {}};
  if (with_entropy) out.entropy = EntropyOfRows(log_probs, /*rows_at_a_time=*/32);
  return out;
}

// All rows, chunk by chunk: {logp, entropy}, keeping only `rows` for backward: backward
// recomputes each chunk's logits and differentiates it alone (checkpointing of the vocabulary
// projection), so one chunk's [chunk, V] activations live at a time instead of every chunk's.
// The projection's weights are frozen (LoRA never adapts them): no gradient flows to them.
struct RecomputedLogProbs : public torch::autograd::Function<RecomputedLogProbs> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& rows,
                                                const at::Tensor& targets, std::int64_t model_address,
                                                double temperature, std::int64_t chunk_rows) {
    const auto* model = reinterpret_cast<const DecoderModel*>(model_address);
    ctx->save_for_backward({rows, targets});
    ctx->saved_data["model"] = model_address;
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk_rows"] = chunk_rows;
    std::vector<at::Tensor> logp, entropy;
    for (std::int64_t start = 0; start < rows.size(0); start += chunk_rows) {
      const std::int64_t len = std::min(chunk_rows, rows.size(0) - start);
      ChunkResult chunk = ChunkLogProbs(*model, rows.narrow(0, start, len), targets.narrow(0, start, len), temperature);
      logp.push_back(chunk.logp);
      entropy.push_back(chunk.entropy);
    }
    at::Tensor entropy_all = at::cat(entropy);
    ctx->mark_non_differentiable({entropy_all});
    return {at::cat(logp), entropy_all};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& rows = saved[0];
    const at::Tensor& targets = saved[1];
    const auto* model = reinterpret_cast<const DecoderModel*>(ctx->saved_data["model"].toInt());
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const std::int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    at::Tensor grad_rows = at::empty_like(rows);
    c10::AutoGradMode enable(true);
    for (std::int64_t start = 0; start < rows.size(0); start += chunk_rows) {
      const std::int64_t len = std::min(chunk_rows, rows.size(0) - start);
      at::Tensor chunk = rows.narrow(0, start, len).detach().requires_grad_(true);
      at::Tensor logp = ChunkLogProbs(*model, chunk, targets.narrow(0, start, len), temperature, false).logp;
      grad_rows.narrow(0, start, len).copy_(
          torch::autograd::grad({logp}, {chunk}, {grads[0].narrow(0, start, len)})[0]);
    }
    return {grad_rows, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The flat positions of a host mask's true entries, on `device` (copied without waiting).
at::Tensor IndexOnDevice(const at::Tensor& host_mask, const at::Device& device) {
  return CopyWithoutWaiting(host_mask.reshape({-1}).nonzero().squeeze(1), device);
}

}  // namespace

TokenLogProbs ComputeTokenLogProbs(const DecoderModel& model, const at::Tensor& hidden,
                                   const at::Tensor& ids, const at::Tensor& mask,
                                   double temperature, std::int64_t chunk_rows, bool recompute_logits) {
  const std::int64_t n = ids.size(0), t = ids.size(1);
  // The positions are found on the host (from a host mask nothing here waits on the device) and
  // gathered by index on the device: boolean indexing would count them there, and wait for it.
  const at::Tensor target_mask = mask.to(at::kCPU, at::kBool);
  TORCH_CHECK(!target_mask.select(1, 0).any().item<bool>(), "position 0 cannot be predicted");
  // Hidden state t-1 predicts token t: gather the rows whose next token is wanted.
  at::Tensor predict_mask = at::zeros_like(target_mask);
  predict_mask.narrow(1, 0, t - 1).copy_(target_mask.narrow(1, 1, t - 1));
  const at::Tensor predict_index = IndexOnDevice(predict_mask, hidden.device());
  const at::Tensor target_index = IndexOnDevice(target_mask, hidden.device());
  at::Tensor rows = hidden.reshape({n * t, -1}).index_select(0, predict_index);  // [M,E]
  at::Tensor targets = ids.to(hidden.device()).reshape({-1}).index_select(0, target_index);
  std::vector<at::Tensor> logp_chunks, entropy_chunks;
  if (recompute_logits && c10::GradMode::is_enabled() && rows.requires_grad() && rows.size(0) > 0) {
    auto both = RecomputedLogProbs::apply(rows, targets, reinterpret_cast<std::int64_t>(&model), temperature, chunk_rows);
    logp_chunks.push_back(both[0]);
    entropy_chunks.push_back(both[1]);
  } else {
    for (std::int64_t start = 0; start < rows.size(0); start += chunk_rows) {
      const std::int64_t len = std::min(chunk_rows, rows.size(0) - start);
      ChunkResult chunk = ChunkLogProbs(model, rows.narrow(0, start, len), targets.narrow(0, start, len), temperature);
      logp_chunks.push_back(chunk.logp);
      entropy_chunks.push_back(chunk.entropy);
    }
  }
  const auto opts = hidden.options().dtype(at::kFloat);
  TokenLogProbs out;
  out.logp = at::zeros({n * t}, opts);
  out.entropy = at::zeros({n * t}, opts);
  if (!logp_chunks.empty()) {
    out.logp = out.logp.index_put({target_index}, at::cat(logp_chunks));
    c10::NoGradGuard no_grad;
    out.entropy.index_put_({target_index}, at::cat(entropy_chunks));
  }
  out.logp = out.logp.view({n, t});
  out.entropy = out.entropy.view({n, t});
  return out;
}

}  // namespace gspo::engine
