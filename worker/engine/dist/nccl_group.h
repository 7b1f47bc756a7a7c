// NcclGroup: the raw NCCL collectives of one GPU rank, with a deadline on every call. No
// LibTorch here (nccl_communicator.cc wraps it for tensors), so this file builds and links on any
// machine with the CUDA runtime and NCCL, GPU or not.
//
//   rank 0: NewNcclUniqueId() ──(the caller's store)──▶ ranks 1..N-1
//   every rank: NcclGroup::Create(options, id)  ─ ncclCommInitRankConfig, non-blocking
//   AllReduceSum / Broadcast / AllGather / Barrier(stream):
//     enqueue on `stream` ─▶ poll ncclCommGetAsyncError + cudaStreamQuery every ~50 µs
//       ├─ the stream is done                      ─▶ Ok
//       ├─ NCCL reports an error (a peer went away) ─▶ ncclCommAbort, kUnavailable
//       └─ the deadline passes (a peer hangs or died ─▶ ncclCommAbort, kDeadlineExceeded
//          without NCCL noticing)
//
// The communicator is non-blocking (ncclConfig_t.blocking = 0) so no NCCL call can block this
// thread past the deadline; that polling loop is the watchdog. Errors name the call, the rank,
// the world size, the time waited and NCCL's own message. After a failure the group is aborted
// and every later call fails with kAborted.
// A collective waits for everything enqueued on `stream` before it as well: the deadline covers
// that work too, so it should be generous (minutes).
// Ownership: Create returns the only owner; buffers are borrowed (device pointers, valid and on
// the group's device until the call returns). Not thread-safe: one thread calls into a group.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"

// The CUDA runtime's stream handle (driver_types.h declares it the same way), so that including
// this header needs no CUDA headers.
typedef struct CUstream_st* cudaStream_t;

namespace gspo::engine {

enum class NcclDataType { kFloat32, kBFloat16, kFloat64 };

const char* NcclDataTypeName(NcclDataType type);

struct NcclGroupOptions {
  int rank = 0;
  int world_size = 1;
  int device = 0;  // the CUDA device of this rank (made current by Create)
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};  // init and each collective
};

// "2.28.9": the NCCL this process loaded (works without a GPU).
std::string NcclVersion();

// A fresh ncclUniqueId as bytes (rank 0 makes it; every rank passes it to Create).
common::StatusOr<std::string> NewNcclUniqueId();

// Checks ranks, world size, device and timeout without touching CUDA: kInvalidArgument.
common::Status CheckNcclGroupOptions(const NcclGroupOptions& options);

class NcclGroup {
 public:
  // Joins the communicator of `unique_id` (NewNcclUniqueId's bytes): returns once every rank has
  // joined, kDeadlineExceeded after the timeout, kInvalidArgument on bad options or id.
  static common::StatusOr<std::unique_ptr<NcclGroup>> Create(const NcclGroupOptions& options,
                                                             const std::string& unique_id);
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

  // In place: `data` holds `count` elements of `type` on every rank.
  common::Status AllReduceSum(void* data, std::size_t count, NcclDataType type,
                              cudaStream_t stream);
  common::Status Broadcast(void* data, std::size_t count, NcclDataType type, int root,
                           cudaStream_t stream);
  // `output` holds world_size * count elements, rank r's `input` at offset r * count.
  common::Status AllGather(const void* input, void* output, std::size_t count, NcclDataType type,
                           cudaStream_t stream);
  // An all-reduce of one float in the group's own device buffer.
  common::Status Barrier(cudaStream_t stream);

 private:
  struct State;  // the NCCL communicator and the barrier's buffer
  NcclGroup(const NcclGroupOptions& options, std::unique_ptr<State> state);

  // Fails with kAborted when an earlier call failed; else the description of `what` for errors.
  common::Status Usable(const char* what) const;
  // Waits for the call just enqueued (its result `enqueued`) and the stream; aborts on failure.
  common::Status Finish(const char* what, int enqueued, cudaStream_t stream,
                        std::chrono::steady_clock::time_point start);

  const NcclGroupOptions options_;
  std::unique_ptr<State> state_;
  bool broken_ = false;
};

}  // namespace gspo::engine
