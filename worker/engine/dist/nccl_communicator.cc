// Compiled where LibTorch has CUDA and NCCL is found; nccl_communicator_none.cc elsewhere.
#include "worker/engine/dist/nccl_communicator.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/FileStore.hpp>

#include "worker/engine/dist/nccl_group.h"

namespace gspo::engine {
namespace {

constexpr char kUniqueIdKey[] = "gspo/nccl-unique-id";

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string MessageOf(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return FirstLine(c10_error->what_without_backtrace());
  }
  return FirstLine(e.what());
}

NcclDataType TypeOf(const at::Tensor& t) {
  return t.scalar_type() == at::kBFloat16 ? NcclDataType::kBFloat16 : NcclDataType::kFloat32;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const NcclOptions& options, c10::intrusive_ptr<c10d::FileStore> store,
                   std::unique_ptr<NcclGroup> group)
      : options_(options), store_(std::move(store)), group_(std::move(group)) {}

  int rank() const override { return options_.rank; }
  int world_size() const override { return options_.world_size; }

  common::Status AllReduceSum(std::vector<at::Tensor>& tensors) override {
    GSPO_RETURN_IF_ERROR(CheckTensors(tensors, "all-reduce"));
    const c10::cuda::CUDAGuard guard{Device()};
    for (at::Tensor& t : tensors) {
      at::Tensor on_device = OnDevice(t);
      GSPO_RETURN_IF_ERROR(group_->AllReduceSum(on_device.data_ptr(), t.numel(), TypeOf(t), Stream()));
      if (!t.is_cuda()) t.copy_(on_device);
    }
    return common::Status::Ok();
  }

  common::Status Broadcast(std::vector<at::Tensor>& tensors, int root) override {
    GSPO_RETURN_IF_ERROR(CheckTensors(tensors, "broadcast"));
    const c10::cuda::CUDAGuard guard{Device()};
    for (at::Tensor& t : tensors) {
      at::Tensor on_device = OnDevice(t);
      GSPO_RETURN_IF_ERROR(group_->Broadcast(on_device.data_ptr(), t.numel(), TypeOf(t), root, Stream()));
      if (!t.is_cuda()) t.copy_(on_device);
    }
    return common::Status::Ok();
  }

  common::Status Barrier() override {
    const c10::cuda::CUDAGuard guard{Device()};
    return group_->Barrier(Stream());
  }

  common::StatusOr<std::vector<std::vector<double>>> AllGather(
      const std::vector<double>& values) override {
    const c10::cuda::CUDAGuard guard{Device()};
    const auto n = static_cast<std::int64_t>(values.size());
    const auto on_device = at::TensorOptions().dtype(at::kDouble).device(Device());
    at::Tensor input = at::empty({n}, at::kDouble);
    std::copy(values.begin(), values.end(), input.data_ptr<double>());
    input = input.to(on_device);  // on the current stream, before the collective
    at::Tensor output = at::empty({options_.world_size * n}, on_device);
    GSPO_RETURN_IF_ERROR(group_->AllGather(input.data_ptr(), output.data_ptr(), n,
                                           NcclDataType::kFloat64, Stream()));
    const at::Tensor host = output.to(at::kCPU);
    std::vector<std::vector<double>> gathered;
    for (int r = 0; r < options_.world_size; ++r) {
      const double* first = host.data_ptr<double>() + r * n;
      gathered.emplace_back(first, first + n);
    }
    return gathered;
  }

 private:
  at::Device Device() const { return at::Device(at::kCUDA, options_.device); }
  cudaStream_t Stream() const { return c10::cuda::getCurrentCUDAStream(options_.device).stream(); }

  // A CPU tensor's copy on this rank's device (on the current stream), else the tensor itself.
  at::Tensor OnDevice(const at::Tensor& t) const { return t.is_cuda() ? t : t.to(Device()); }

  common::Status CheckTensors(const std::vector<at::Tensor>& tensors, const char* what) const {
    GSPO_RETURN_IF_ERROR(CheckCollectiveTensors(tensors, what, /*allow_bfloat16=*/true));
    if (!tensors.empty() && tensors.front().is_cuda() && tensors.front().device() != Device()) {
      return common::InvalidArgumentError(std::string(what) + ": tensors are on " +
                                          tensors.front().device().str() + ", this rank's device is " +
                                          Device().str());
    }
    return common::Status::Ok();
  }

  const NcclOptions options_;
  c10::intrusive_ptr<c10d::FileStore> store_;  // kept open: the last user removes the file
  std::unique_ptr<NcclGroup> group_;
};

NcclGroupOptions GroupOptionsOf(const NcclOptions& options) {
  NcclGroupOptions group_options;
  group_options.rank = options.rank;
  group_options.world_size = options.world_size;
  group_options.device = options.device;
  group_options.timeout = options.timeout;
  return group_options;
}

// Joins the NCCL group of `options` (a world or a subgroup) whose unique id travels under `key`.
common::StatusOr<std::unique_ptr<Communicator>> JoinGroup(const NcclOptions& options,
                                                          const c10::intrusive_ptr<c10d::FileStore>& store,
                                                          const std::string& key, const std::string& label) {
  const NcclGroupOptions group_options = GroupOptionsOf(options);
  GSPO_RETURN_IF_ERROR(CheckNcclGroupOptions(group_options));
  const std::string where = label + "rank " + std::to_string(options.rank) + " of " +
                            std::to_string(options.world_size) + ", store " + options.store_path;
  std::string unique_id;
  try {
    if (options.rank == 0) {
      GSPO_ASSIGN_OR_RETURN(unique_id, NewNcclUniqueId());
      store->set(key, std::vector<std::uint8_t>(unique_id.begin(), unique_id.end()));
    } else {
      const std::vector<std::uint8_t> bytes = store->get(key);  // waits for rank 0
      unique_id.assign(bytes.begin(), bytes.end());
    }
  } catch (const std::exception& e) {
    const std::string message = MessageOf(e);
    if (message.find("imeout") != std::string::npos ||
        message.find("imed out") != std::string::npos) {
      return common::DeadlineExceededError(where + ": the other ranks did not join within " +
                                           std::to_string(options.timeout.count() / 1000) +
                                           " s (" + message + ")");
    }
    return common::UnavailableError(where + ": cannot exchange the NCCL unique id: " + message);
  }
  GSPO_ASSIGN_OR_RETURN(std::unique_ptr<NcclGroup> group, NcclGroup::Create(group_options, unique_id));
  return std::unique_ptr<Communicator>(new NcclCommunicator(options, store, std::move(group)));
}

}  // namespace

bool NcclAvailable() { return true; }

common::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const NcclOptions& options) {
  GSPO_ASSIGN_OR_RETURN(CommunicatorGroups all, CreateNcclCommunicators(options, {}));
  return std::move(all.world);
}

common::StatusOr<CommunicatorGroups> CreateNcclCommunicators(const NcclOptions& options,
                                                             const std::vector<Subgroup>& subgroups) {
  GSPO_RETURN_IF_ERROR(CheckNcclGroupOptions(GroupOptionsOf(options)));
  if (options.store_path.empty()) return common::InvalidArgumentError("the store path is empty");
  GSPO_RETURN_IF_ERROR(CheckSubgroups(subgroups, options.world_size));
  c10::intrusive_ptr<c10d::FileStore> store;
  try {
    store = c10::make_intrusive<c10d::FileStore>(options.store_path, options.world_size);
    store->setTimeout(options.timeout);
  } catch (const std::exception& e) {
    return common::UnavailableError("rank " + std::to_string(options.rank) + ": cannot open the store " +
                                    options.store_path + ": " + MessageOf(e));
  }
  CommunicatorGroups out;
  GSPO_ASSIGN_OR_RETURN(out.world, JoinGroup(options, store, kUniqueIdKey, ""));
  for (const Subgroup& g : subgroups) {
    const auto it = std::find(g.ranks.begin(), g.ranks.end(), options.rank);
    if (it == g.ranks.end()) {
      out.subgroups.push_back(nullptr);
      continue;
    }
    NcclOptions mine = options;
    mine.rank = static_cast<int>(it - g.ranks.begin());
    mine.world_size = static_cast<int>(g.ranks.size());
    GSPO_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> member,
                          JoinGroup(mine, store, std::string(kUniqueIdKey) + "/" + g.name, g.name + " "));
    out.subgroups.push_back(std::move(member));
  }
  return out;
}

}  // namespace gspo::engine
