// Compiled where NCCL and the CUDA runtime are found (worker/engine/CMakeLists.txt), never with
// LibTorch headers.
#include "worker/engine/dist/nccl_group.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "common/ranks.h"

namespace gspo::engine {
namespace {

using Clock = std::chrono::steady_clock;

// How often a waiting rank looks at its collective: short next to a step, cheap for one core.
constexpr std::chrono::microseconds kPollInterval(50);
// How long a healthy group may take to finalize at destruction before it is aborted instead.
constexpr std::chrono::seconds kFinalizeLimit(5);

std::string Seconds(Clock::duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s",
                std::chrono::duration_cast<std::chrono::duration<double>>(d).count());
  return text;
}

ncclDataType_t ToNccl(NcclDataType type) {
  switch (type) {
    case NcclDataType::kFloat32:
      return ncclFloat32;
    case NcclDataType::kBFloat16:
      return ncclBfloat16;
    case NcclDataType::kFloat64:
      return ncclFloat64;
  }
  return ncclFloat32;
}

// "NCCL error 'unhandled system error' (code 2): <what NCCL logged last>".
std::string NcclMessage(ncclResult_t result, ncclComm_t comm) {
  std::string text = std::string("NCCL error '") + ncclGetErrorString(result) + "' (code " +
                     std::to_string(static_cast<int>(result)) + ")";
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && *last != '\0') text += ": " + std::string(last);
  return text;
}

std::string CudaMessage(cudaError_t error) {
  return std::string("CUDA error '") + cudaGetErrorString(error) + "' (" +
         cudaGetErrorName(error) + ")";
}

// Polls a non-blocking communicator until its pending call (init, finalize) is no longer in
// progress or the deadline passes; returns ncclInProgress in the latter case.
ncclResult_t AwaitComm(ncclComm_t comm, Clock::time_point deadline) {
  for (;;) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t query = ncclCommGetAsyncError(comm, &state);
    if (query != ncclSuccess) return query;
    if (state != ncclInProgress) return state;
    if (Clock::now() > deadline) return ncclInProgress;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

struct NcclGroup::State {
  ncclComm_t comm = nullptr;
  float* barrier = nullptr;  // one float on the device, all-reduced by Barrier
};

const char* NcclDataTypeName(NcclDataType type) {
  switch (type) {
    case NcclDataType::kFloat32:
      return "float32";
    case NcclDataType::kBFloat16:
      return "bfloat16";
    case NcclDataType::kFloat64:
      return "float64";
  }
  return "unknown";
}

std::string NcclVersion() {
  int version = 0;
  if (ncclGetVersion(&version) != ncclSuccess) return "unknown";
  // NCCL >= 2.9 encodes major * 10000 + minor * 100 + patch.
  return std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
         std::to_string(version % 100);
}

common::StatusOr<std::string> NewNcclUniqueId() {
  ncclUniqueId id;
  const ncclResult_t result = ncclGetUniqueId(&id);
  if (result != ncclSuccess) {
    return common::UnavailableError("ncclGetUniqueId: " + NcclMessage(result, nullptr));
  }
  return std::string(id.internal, sizeof id.internal);
}

common::Status CheckNcclGroupOptions(const NcclGroupOptions& options) {
  GSPO_RETURN_IF_ERROR(common::CheckRankInWorld(options.rank, options.world_size));
  if (options.device < 0) {
    return common::InvalidArgumentError("CUDA device " + std::to_string(options.device) +
                                        " is negative");
  }
  if (options.timeout.count() <= 0) {
    return common::InvalidArgumentError("the timeout must be positive");
  }
  return common::Status::Ok();
}

common::StatusOr<std::unique_ptr<NcclGroup>> NcclGroup::Create(const NcclGroupOptions& options,
                                                               const std::string& unique_id) {
  GSPO_RETURN_IF_ERROR(CheckNcclGroupOptions(options));
  ncclUniqueId id;
  if (unique_id.size() != sizeof id.internal) {
    return common::InvalidArgumentError("an NCCL unique id has " +
                                        std::to_string(sizeof id.internal) + " bytes, got " +
                                        std::to_string(unique_id.size()));
  }
  std::memcpy(id.internal, unique_id.data(), sizeof id.internal);
  const std::string where = "NCCL init (rank " + std::to_string(options.rank) + " of " +
                            std::to_string(options.world_size) + ", cuda:" +
                            std::to_string(options.device) + ")";
  const cudaError_t set = cudaSetDevice(options.device);
  if (set != cudaSuccess) {
    return common::UnavailableError(where + ": cudaSetDevice: " + CudaMessage(set));
  }
  auto state = std::make_unique<State>();
  const cudaError_t allocated = cudaMalloc(reinterpret_cast<void**>(&state->barrier), sizeof(float));
  if (allocated != cudaSuccess) {
    return common::UnavailableError(where + ": cudaMalloc: " + CudaMessage(allocated));
  }
  cudaMemset(state->barrier, 0, sizeof(float));
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // calls return at once; AwaitComm and Finish do the waiting
  const Clock::time_point start = Clock::now();
  ncclResult_t result = ncclCommInitRankConfig(&state->comm, options.world_size, id, options.rank,
                                               &config);
  if (result == ncclSuccess || result == ncclInProgress) {
    result = AwaitComm(state->comm, start + options.timeout);
  }
  if (result != ncclSuccess) {
    const std::string message = result == ncclInProgress ? "" : NcclMessage(result, state->comm);
    if (state->comm != nullptr) ncclCommAbort(state->comm);
    cudaFree(state->barrier);
    if (result == ncclInProgress) {
      return common::DeadlineExceededError(where + ": the other ranks did not join within " +
                                           Seconds(options.timeout));
    }
    return common::UnavailableError(where + " failed after " + Seconds(Clock::now() - start) +
                                    ": " + message);
  }
  return std::unique_ptr<NcclGroup>(new NcclGroup(options, std::move(state)));
}

NcclGroup::NcclGroup(const NcclGroupOptions& options, std::unique_ptr<State> state)
    : options_(options), state_(std::move(state)) {}

NcclGroup::~NcclGroup() {
  if (state_->comm != nullptr) {
    // Every call waited for its stream, so nothing is in flight: finalize, or abort if that hangs.
    ncclResult_t result = ncclCommFinalize(state_->comm);
    if (result == ncclSuccess || result == ncclInProgress) {
      result = AwaitComm(state_->comm, Clock::now() + kFinalizeLimit);
    }
    if (result == ncclSuccess) {
      ncclCommDestroy(state_->comm);
    } else {
      ncclCommAbort(state_->comm);
    }
  }
  cudaFree(state_->barrier);
}

common::Status NcclGroup::Usable(const char* what) const {
  if (!broken_) return common::Status::Ok();
  return common::AbortedError(std::string(what) + " (rank " + std::to_string(options_.rank) +
                              " of " + std::to_string(options_.world_size) +
                              "): an earlier collective failed and the NCCL communicator was "
                              "aborted");
}

common::Status NcclGroup::Finish(const char* what, int enqueued, cudaStream_t stream,
                                 Clock::time_point start) {
  const std::string where = std::string(what) + " (rank " + std::to_string(options_.rank) +
                            " of " + std::to_string(options_.world_size) + ", cuda:" +
                            std::to_string(options_.device) + ")";
  const Clock::time_point deadline = start + options_.timeout;
  auto result = static_cast<ncclResult_t>(enqueued);
  common::Status failure;
  for (;;) {
    if (result != ncclSuccess && result != ncclInProgress) {
      failure = common::UnavailableError(where + " failed after " + Seconds(Clock::now() - start) +
                                         ", a rank probably stopped: " +
                                         NcclMessage(result, state_->comm));
      break;
    }
    // ncclInProgress: still being enqueued (non-blocking communicator), else the asynchronous
    // error state, which reports a peer that went away while the kernel waits for it.
    ncclResult_t state = ncclSuccess;
    const ncclResult_t query = ncclCommGetAsyncError(state_->comm, &state);
    result = query != ncclSuccess ? query : state;
    if (result == ncclSuccess) {
      const cudaError_t done = cudaStreamQuery(stream);
      if (done == cudaSuccess) return common::Status::Ok();
      if (done != cudaErrorNotReady) {
        failure = common::InternalError(where + " failed after " + Seconds(Clock::now() - start) +
                                        ": " + CudaMessage(done));
        break;
      }
    }
    if (result != ncclSuccess && result != ncclInProgress) continue;  // reported above
    if (Clock::now() > deadline) {
      failure = common::DeadlineExceededError(
          where + ": no answer from the other ranks within " + Seconds(options_.timeout) +
          " (a rank died, hangs, or did not make the same call)");
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  // Aborting ends the kernels still waiting for the peers; the group is unusable afterwards.
  broken_ = true;
  ncclCommAbort(state_->comm);
  state_->comm = nullptr;
  return failure;
}

common::Status NcclGroup::AllReduceSum(void* data, std::size_t count, NcclDataType type,
                                       cudaStream_t stream) {
  GSPO_RETURN_IF_ERROR(Usable("all-reduce"));
  const Clock::time_point start = Clock::now();
  const ncclResult_t enqueued =
      ncclAllReduce(data, data, count, ToNccl(type), ncclSum, state_->comm, stream);
  return Finish("all-reduce", enqueued, stream, start);
}

common::Status NcclGroup::Broadcast(void* data, std::size_t count, NcclDataType type, int root,
                                    cudaStream_t stream) {
  GSPO_RETURN_IF_ERROR(Usable("broadcast"));
  GSPO_RETURN_IF_ERROR(common::CheckRootRank("broadcast", root, options_.world_size));
  const Clock::time_point start = Clock::now();
  const ncclResult_t enqueued =
      ncclBroadcast(data, data, count, ToNccl(type), root, state_->comm, stream);
  return Finish("broadcast", enqueued, stream, start);
}

common::Status NcclGroup::AllGather(const void* input, void* output, std::size_t count,
                                    NcclDataType type, cudaStream_t stream) {
  GSPO_RETURN_IF_ERROR(Usable("all-gather"));
  const Clock::time_point start = Clock::now();
  const ncclResult_t enqueued =
      ncclAllGather(input, output, count, ToNccl(type), state_->comm, stream);
  return Finish("all-gather", enqueued, stream, start);
}

common::Status NcclGroup::Barrier(cudaStream_t stream) {
  GSPO_RETURN_IF_ERROR(Usable("barrier"));
  const Clock::time_point start = Clock::now();
  const ncclResult_t enqueued =
      ncclAllReduce(state_->barrier, state_->barrier, 1, ncclFloat32, ncclSum, state_->comm, stream);
  return Finish("barrier", enqueued, stream, start);
}

}  // namespace gspo::engine
