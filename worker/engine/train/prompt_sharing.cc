#include "worker/engine/train/prompt_sharing.h"

#include <algorithm>

namespace gspo::engine {

SharedPrefix PlanPromptSharing(const at::Tensor& ids, const at::Tensor& valid, const at::Tensor& mask,
                               std::int64_t first_row, std::int64_t group_size, std::int64_t min_prefix) {
  SharedPrefix plan;
  const std::int64_t n = ids.size(0), t = ids.size(1);
  if (n < 2 || group_size < 2) return plan;
  const auto longs = at::TensorOptions().dtype(at::kLong);
  // Groups are runs of group_size rows of the whole batch; this micro-batch may cut them.
  const at::Tensor group = at::div(at::arange(first_row, first_row + n, longs), group_size, "floor");
  const at::Tensor first_of_group = at::clamp_min(group * group_size - first_row, 0);  // [N]
  auto [leaders, group_of_row] = at::_unique(first_of_group, /*sorted=*/true, /*return_inverse=*/true);
  if (leaders.size(0) == n) return plan;
  const at::Tensor leader_rows = first_of_group.to(ids.device());
  // First position where a row leaves its group's first row, and its first trained position.
  const at::Tensor differs = ids.ne(ids.index_select(0, leader_rows)).logical_or(valid.ne(valid.index_select(0, leader_rows)));
  const at::Tensor columns = at::arange(t, longs.device(ids.device())).unsqueeze(0).expand({n, t});
  const at::Tensor beyond = at::full({n, t}, t, longs.device(ids.device()));
  const at::Tensor first_difference = at::where(differs, columns, beyond).amin(1);
  const at::Tensor first_trained = at::where(mask.to(at::kBool), columns, beyond).amin(1);
  // The first position after the prefix feeds the first prediction kept, so it must not be trained.
  const std::int64_t prefix = at::minimum(first_difference, first_trained - 1).min().item<std::int64_t>();
  if (prefix < min_prefix) return plan;
  plan.prefix = prefix;
  plan.leaders = leaders.to(ids.device());
  plan.group_of_row = group_of_row.to(ids.device());
  return plan;
}

TokenLogProbs SharedPromptLogProbs(const DecoderModel& model, const ForwardInput& input, const at::Tensor& mask,
                                   const SharedPrefix& sharing, double temperature, std::int64_t chunk_rows,
                                   bool recompute_logits) {
  const at::Tensor& ids = input.input_ids;
  const std::int64_t n = ids.size(0), t = ids.size(1), p = sharing.prefix;
  const at::Tensor hidden = model.SharedPrefixHidden(input, sharing);  // [N, T-P, E]
  TokenLogProbs part = ComputeTokenLogProbs(model, hidden, ids.narrow(1, p, t - p), mask.narrow(1, p, t - p),
                                            temperature, chunk_rows, recompute_logits);
  // Nothing in the prefix is trained: its log-probs and entropies are the zeros of a full pass.
  TokenLogProbs out;
  out.logp = at::cat({at::zeros({n, p}, part.logp.options()), part.logp}, 1);
  out.entropy = at::cat({at::zeros({n, p}, part.entropy.options()), part.entropy}, 1);
  return out;
}

}  // namespace gspo::engine
