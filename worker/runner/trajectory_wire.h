// Trajectory wire format: how a disaggregated job's rollout ranks hand their episodes to the
// learner ranks over the job's communicator.
//
//   rollout rank r: Rollout ─▶ RolloutPacket ─▶ EncodeRolloutPacket ─▶ bytes
//   ExchangeRolloutPackets (every rank of the world, one call per step):
//     for r in [0, rollout_ranks):  Broadcast(root r) of [length header][bytes as float32 words]
//   every rank: DecodeRolloutPacket ─▶ the packets of all rollout ranks, in rank order
//
// Bytes travel as float32 words because the communicator moves float32 only (communicator.h); a
// broadcast copies bits, so any byte pattern survives. The encoding is the host's byte order
// (the ranks of a job run one build on one kind of machine), framed by a magic and a version,
// and decoding checks every length against the bytes left: a corrupt packet is kDataLoss, never
// a crash.
// Plain value types and stateless functions; the communicator is borrowed (not thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/engine/dist/communicator.h"

namespace gspo::runner {

// One sampled episode, everything the learner needs.
struct Trajectory {
  std::int64_t group = 0;           // step-wide prompt group index
  std::int64_t sample = 0;          // 0..G-1 within the group
  std::int64_t policy_version = 0;  // optimizer steps the sampling adapters had taken
  std::vector<std::int32_t> ids;    // the whole conversation, as sampled (never re-encoded)
  std::vector<std::uint8_t> assistant_mask;  // 1 where the policy sampled the token
  std::vector<float> logp;          // pi_old per id (0 where not sampled)
  double reward = 0;                // weighted total
  std::vector<std::pair<std::string, double>> components;  // per reward component
  std::int64_t turns = 0;
};

// One step's episodes of one rollout rank, with what the step's metrics need from it.
struct RolloutPacket {
  std::int64_t step = 0;
  std::vector<Trajectory> trajectories;  // group-major
  std::vector<std::pair<std::string, double>> stats;  // timings, counts, memory of the rollout
  std::string first_scenario;                          // of its first group (samples.jsonl)
  std::vector<std::pair<std::string, std::string>> first_transcript;  // (role, content)
};

std::string EncodeRolloutPacket(const RolloutPacket& packet);
// kDataLoss for bytes that are not a whole packet of this version.
common::StatusOr<RolloutPacket> DecodeRolloutPacket(std::string_view bytes);

// Root's `bytes` onto every rank of `communicator` (two broadcasts: length, then the words).
common::Status BroadcastBytes(engine::Communicator& communicator, int root, std::string* bytes);

// Every rank of `world` calls this once per step; ranks [0, rollout_ranks) pass their packet,
// the others null. Returns the rollout ranks' packets, in rank order, on every rank.
common::StatusOr<std::vector<RolloutPacket>> ExchangeRolloutPackets(engine::Communicator& world,
                                                                    int rollout_ranks,
                                                                    const RolloutPacket* mine);

}  // namespace gspo::runner
