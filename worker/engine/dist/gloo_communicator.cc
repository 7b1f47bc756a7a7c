// Compiled where LibTorch has Gloo (USE_C10D_GLOO); gloo_communicator_none.cc elsewhere.
#include "worker/engine/dist/gloo_communicator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "common/ranks.h"

namespace gspo::engine {
namespace {

std::string Seconds(std::chrono::milliseconds timeout) {
  std::ostringstream out;
  out << timeout.count() / 1000.0 << " s";
  return out.str();
}

// The first line of an exception's message: c10 appends a C++ backtrace that users do not need.
std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string MessageOf(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return FirstLine(c10_error->what_without_backtrace());
  }
  return FirstLine(e.what());
}

class GlooCommunicator final : public Communicator {
 public:
  // `options` holds this rank's place in the group; `label` names a subgroup in messages.
  GlooCommunicator(const GlooOptions& options, c10::intrusive_ptr<c10d::Store> store,
                   c10::intrusive_ptr<c10d::ProcessGroupGloo> group, std::string label = "")
      : options_(options), store_(std::move(store)), group_(std::move(group)),
        label_(std::move(label)) {}

  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }

  common::Status AllReduceSum(std::vector<at::Tensor>& tensors) override {
    GSPO_RETURN_IF_ERROR(CheckCollectiveTensors(tensors, "all-reduce"));
    // One collective per tensor: Gloo reads a list as one tensor per device of the same shape.
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      GSPO_RETURN_IF_ERROR(Run("all-reduce", [&] { return group_->allreduce(one); }));
    }
    return common::Status::Ok();
  }

  common::Status Broadcast(std::vector<at::Tensor>& tensors, int root) override {
    GSPO_RETURN_IF_ERROR(common::CheckRootRank("broadcast", root, options_.world_size));
    GSPO_RETURN_IF_ERROR(CheckCollectiveTensors(tensors, "broadcast"));
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      c10d::BroadcastOptions opts;
      opts.rootRank = root;
      GSPO_RETURN_IF_ERROR(Run("broadcast", [&] { return group_->broadcast(one, opts); }));
    }
    return common::Status::Ok();
  }

  common::Status Barrier() override {
    return Run("barrier", [&] { return group_->barrier(); });
  }

  common::StatusOr<std::vector<std::vector<double>>> AllGather(
      const std::vector<double>& values) override {
    const auto n = static_cast<std::int64_t>(values.size());
    std::vector<at::Tensor> input = {at::empty({n}, at::kDouble)};
    std::copy(values.begin(), values.end(), input[0].data_ptr<double>());
    std::vector<std::vector<at::Tensor>> output(1);
    for (int r = 0; r < options_.world_size; ++r) output[0].push_back(at::empty({n}, at::kDouble));
    GSPO_RETURN_IF_ERROR(Run("all-gather", [&] { return group_->allgather(output, input); }));
    std::vector<std::vector<double>> gathered;
    for (const at::Tensor& t : output[0]) {
      gathered.emplace_back(t.data_ptr<double>(), t.data_ptr<double>() + n);
    }
    return gathered;
  }

 private:
  // Starts a collective and waits for it; Gloo's own timeout (set at creation) ends a wait for a
  // rank that does not answer, and a closed connection ends it at once.
  template <typename Start>
  common::Status Run(const char* what, Start start) {
    const std::string where = std::string(what) + " (" + label_ + "rank " +
                              std::to_string(options_.rank) +
                              " of " + std::to_string(options_.world_size) + ")";
    if (broken_) {
      return common::AbortedError(where + ": an earlier collective failed");
    }
    try {
      auto work = start();
      if (work->wait(options_.timeout)) return common::Status::Ok();
      broken_ = true;
      return common::DeadlineExceededError(where + ": no answer from the other ranks within " +
                                           Seconds(options_.timeout));
    } catch (const std::exception& e) {
      broken_ = true;
      const std::string message = MessageOf(e);
      if (message.find("imed out") != std::string::npos ||
          message.find("imeout") != std::string::npos) {
        return common::DeadlineExceededError(where + ": no answer from the other ranks within " +
                                             Seconds(options_.timeout) + " (" + message + ")");
      }
      return common::UnavailableError(where + " failed, a rank probably stopped: " + message);
    }
  }

  const GlooOptions options_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  const std::string label_;
  bool broken_ = false;
};

common::Status CheckOptions(const GlooOptions& options) {
  GSPO_RETURN_IF_ERROR(common::CheckRankInWorld(options.rank, options.world_size));
  if (options.store_path.empty()) return common::InvalidArgumentError("the store path is empty");
  if (options.timeout.count() <= 0)
    return common::InvalidArgumentError("the timeout must be positive");
  return common::Status::Ok();
}

common::Status JoinError(const GlooOptions& options, const std::string& label,
                         const std::exception& e) {
  const std::string message = MessageOf(e);
  const std::string where = label + "rank " + std::to_string(options.rank) + " of " +
                            std::to_string(options.world_size) + ", store " + options.store_path;
  if (message.find("imeout") != std::string::npos ||
      message.find("imed out") != std::string::npos) {
    return common::DeadlineExceededError(where + ": the other ranks did not join within " +
                                         Seconds(options.timeout) + " (" + message + ")");
  }
  return common::UnavailableError(where + ": cannot join the group: " + message);
}

// Joins one process group over `store`; `options` gives this rank's place in it.
std::unique_ptr<Communicator> Join(const GlooOptions& options, c10::intrusive_ptr<c10d::Store> store,
                                   const std::string& label) {
  auto group_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
  group_options->devices.push_back(
      c10d::ProcessGroupGloo::createDeviceForHostname(options.hostname));
  auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank,
                                                           options.world_size, group_options);
  return std::make_unique<GlooCommunicator>(options, std::move(store), group, label);
}

}  // namespace

bool GlooAvailable() { return true; }

common::StatusOr<std::unique_ptr<Communicator>> CreateGlooCommunicator(const GlooOptions& options) {
  GSPO_ASSIGN_OR_RETURN(GlooCommunicators all, CreateGlooCommunicators(options, {}));
  return std::move(all.world);
}

common::StatusOr<GlooCommunicators> CreateGlooCommunicators(
    const GlooOptions& options, const std::vector<GlooSubgroup>& subgroups) {
  GSPO_RETURN_IF_ERROR(CheckOptions(options));
  GSPO_RETURN_IF_ERROR(CheckSubgroups(subgroups, options.world_size));
  GlooCommunicators out;
  c10::intrusive_ptr<c10d::FileStore> store;
  try {
    store = c10::make_intrusive<c10d::FileStore>(options.store_path, options.world_size);
    store->setTimeout(options.timeout);
    out.world = Join(options, store, "");
  } catch (const std::exception& e) {
    return JoinError(options, "", e);
  }
  for (const GlooSubgroup& g : subgroups) {
    const auto it = std::find(g.ranks.begin(), g.ranks.end(), options.rank);
    if (it == g.ranks.end()) {
      out.subgroups.push_back(nullptr);
      continue;
    }
    GlooOptions mine = options;
    mine.rank = static_cast<int>(it - g.ranks.begin());
    mine.world_size = static_cast<int>(g.ranks.size());
    const std::string label = g.name + " ";
    try {
      out.subgroups.push_back(
          Join(mine, c10::make_intrusive<c10d::PrefixStore>("group/" + g.name, store), label));
    } catch (const std::exception& e) {
      return JoinError(mine, label, e);
    }
  }
  return out;
}

}  // namespace gspo::engine
