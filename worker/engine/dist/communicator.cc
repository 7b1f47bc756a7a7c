#include "worker/engine/dist/communicator.h"

#include <ATen/ATen.h>

#include <set>
#include <string>

#include "common/ranks.h"

namespace gspo::engine {

common::Status CheckCollectiveTensors(const std::vector<at::Tensor>& tensors, const char* what,
                                      bool allow_bfloat16) {
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& t = tensors[i];
    const std::string where = std::string(what) + ": tensor " + std::to_string(i);
    if (!t.defined()) return common::InvalidArgumentError(where + " is undefined");
    if (allow_bfloat16 && t.scalar_type() != at::kFloat && t.scalar_type() != at::kBFloat16) {
      return common::InvalidArgumentError(where + " is " +
                                          std::string(c10::toString(t.scalar_type())) +
                                          "; only float32 and bfloat16 are supported");
    }
    if (!allow_bfloat16 && t.scalar_type() != at::kFloat) {
      return common::InvalidArgumentError(
          where + " is " + std::string(c10::toString(t.scalar_type())) +
          "; only float32 is supported (bfloat16 all-reduce is not supported by Gloo: convert to "
          "float32 first)");
    }
    if (!t.is_contiguous()) return common::InvalidArgumentError(where + " is not contiguous");
    if (t.device() != tensors.front().device()) {
      return common::InvalidArgumentError(where + " is on " + t.device().str() + ", tensor 0 on " +
                                          tensors.front().device().str());
    }
  }
  return common::Status::Ok();
}

common::Status SingleRankCommunicator::AllReduceSum(std::vector<at::Tensor>& tensors) {
  return CheckCollectiveTensors(tensors, "all-reduce");
}

common::Status SingleRankCommunicator::Broadcast(std::vector<at::Tensor>& tensors, int root) {
  GSPO_RETURN_IF_ERROR(common::CheckRootRank("broadcast", root, 1));
  return CheckCollectiveTensors(tensors, "broadcast");
}

common::Status AllReduceGradients(Communicator& communicator,
                                  const std::vector<at::Tensor>& params) {
  if (communicator.world_size() == 1 || params.empty()) return common::Status::Ok();
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : params) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad().to(at::kFloat).reshape({-1}));
  }
  std::vector<at::Tensor> flat = {at::cat(grads)};
  GSPO_RETURN_IF_ERROR(communicator.AllReduceSum(flat));
  std::int64_t offset = 0;
  for (const at::Tensor& p : params) {
    const std::int64_t n = p.numel();
    p.mutable_grad().copy_(flat[0].narrow(0, offset, n).view_as(p));
    offset += n;
  }
  return common::Status::Ok();
}

common::Status CheckSubgroups(const std::vector<Subgroup>& subgroups, int world_size) {
  std::set<std::string> names;
  for (const Subgroup& g : subgroups) {
    std::set<int> seen;
    bool ok = !g.name.empty() && names.insert(g.name).second && !g.ranks.empty();
    for (int r : g.ranks) ok = ok && r >= 0 && r < world_size && seen.insert(r).second;
    if (!ok) {
      return common::InvalidArgumentError("subgroup '" + g.name +
                                          "': expected a new name and distinct ranks of a world of " +
                                          std::to_string(world_size));
    }
  }
  return common::Status::Ok();
}

}  // namespace gspo::engine
