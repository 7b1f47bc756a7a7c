#include "worker/runner/trajectory_wire.h"

#include <ATen/ATen.h>

#include <cstring>
#include <type_traits>

namespace gspo::runner {
namespace {

constexpr char kMagic[8] = {'G', 'S', 'P', 'O', 'T', 'R', 'J', '1'};
// A packet larger than this is refused before anything is allocated for it.
constexpr std::uint64_t kMaxPacketBytes = std::uint64_t{1} << 34;

class Writer {
 public:
  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  template <typename T>
  void PutVector(const std::vector<T>& values) {
    Put<std::uint64_t>(values.size());
    out_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<std::uint64_t>(s.size());
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  template <typename T>
  bool Get(T* value) {
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(value, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  template <typename T>
  bool GetVector(std::vector<T>* values) {
    std::uint64_t n = 0;
    if (!Get(&n) || n > in_.size() / sizeof(T)) return false;
    values->resize(n);
    if (n > 0) std::memcpy(values->data(), in_.data(), n * sizeof(T));
    in_.remove_prefix(n * sizeof(T));
    return true;
  }
  bool GetString(std::string* s) {
    std::uint64_t n = 0;
    if (!Get(&n) || n > in_.size()) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  // A count of items that each take at least `min_bytes`: bounded by the bytes left.
  bool GetCount(std::uint64_t* n, std::size_t min_bytes) {
    return Get(n) && *n <= in_.size() / min_bytes;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

void PutNamedNumbers(Writer& w, const std::vector<std::pair<std::string, double>>& entries) {
  w.Put<std::uint64_t>(entries.size());
  for (const auto& [name, value] : entries) {
    w.PutString(name);
    w.Put(value);
  }
}

bool GetNamedNumbers(Reader& r, std::vector<std::pair<std::string, double>>* entries) {
  std::uint64_t n = 0;
  if (!r.GetCount(&n, 16)) return false;
  entries->resize(n);
  for (auto& [name, value] : *entries) {
    if (!r.GetString(&name) || !r.Get(&value)) return false;
  }
  return true;
}

}  // namespace

std::string EncodeRolloutPacket(const RolloutPacket& packet) {
  Writer w;
  for (char c : kMagic) w.Put(c);
  w.Put(packet.step);
  w.Put<std::uint64_t>(packet.trajectories.size());
  for (const Trajectory& t : packet.trajectories) {
    w.Put(t.group);
    w.Put(t.sample);
    w.Put(t.policy_version);
    w.PutVector(t.ids);
    w.PutVector(t.assistant_mask);
    w.PutVector(t.logp);
    w.Put(t.reward);
    PutNamedNumbers(w, t.components);
    w.Put(t.turns);
  }
  PutNamedNumbers(w, packet.stats);
  w.PutString(packet.first_scenario);
  w.Put<std::uint64_t>(packet.first_transcript.size());
  for (const auto& [role, content] : packet.first_transcript) {
    w.PutString(role);
    w.PutString(content);
  }
  return w.Take();
}

common::StatusOr<RolloutPacket> DecodeRolloutPacket(std::string_view bytes) {
  const auto corrupt = [&](const std::string& what) {
    return common::DataLossError("rollout packet of " + std::to_string(bytes.size()) +
                                 " bytes: " + what);
  };
  Reader r(bytes);
  char magic[sizeof kMagic];
  for (char& c : magic) {
    if (!r.Get(&c)) return corrupt("too short for its header");
  }
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
    return corrupt("not a rollout packet of this version (bad magic)");
  }
  RolloutPacket packet;
  std::uint64_t n = 0;
  if (!r.Get(&packet.step) || !r.GetCount(&n, 48)) return corrupt("bad trajectory count");
  packet.trajectories.resize(n);
  for (std::size_t i = 0; i < packet.trajectories.size(); ++i) {
    Trajectory& t = packet.trajectories[i];
    const bool ok = r.Get(&t.group) && r.Get(&t.sample) && r.Get(&t.policy_version) &&
                    r.GetVector(&t.ids) && r.GetVector(&t.assistant_mask) &&
                    r.GetVector(&t.logp) && r.Get(&t.reward) &&
                    GetNamedNumbers(r, &t.components) && r.Get(&t.turns);
    if (!ok) return corrupt("trajectory " + std::to_string(i) + " is cut short");
    if (t.assistant_mask.size() != t.ids.size() || t.logp.size() != t.ids.size()) {
      return corrupt("trajectory " + std::to_string(i) +
                     ": ids, assistant mask and log-probs differ in length");
    }
  }
  if (!GetNamedNumbers(r, &packet.stats) || !r.GetString(&packet.first_scenario) ||
      !r.GetCount(&n, 16)) {
    return corrupt("the step's statistics are cut short");
  }
  packet.first_transcript.resize(n);
  for (auto& [role, content] : packet.first_transcript) {
    if (!r.GetString(&role) || !r.GetString(&content)) return corrupt("transcript cut short");
  }
  if (!r.done()) return corrupt("trailing bytes after the packet");
  return packet;
}

common::Status BroadcastBytes(engine::Communicator& communicator, int root, std::string* bytes) {
  const bool sender = communicator.rank() == root;
  std::uint64_t length = sender ? bytes->size() : 0;
  // The length travels as the bits of two float32 words.
  std::vector<at::Tensor> header = {at::zeros({2}, at::kFloat)};
  static_assert(sizeof length == 2 * sizeof(float));
  std::memcpy(header[0].data_ptr<float>(), &length, sizeof length);
  GSPO_RETURN_IF_ERROR(communicator.Broadcast(header, root));
  std::memcpy(&length, header[0].data_ptr<float>(), sizeof length);
  if (length > kMaxPacketBytes) {
    return common::DataLossError("broadcast from rank " + std::to_string(root) + ": " +
                                 std::to_string(length) + " bytes announced, more than the " +
                                 std::to_string(kMaxPacketBytes) + " allowed");
  }
  const auto words = static_cast<std::int64_t>((length + sizeof(float) - 1) / sizeof(float));
  std::vector<at::Tensor> payload = {at::zeros({words}, at::kFloat)};
  if (sender && length > 0) std::memcpy(payload[0].data_ptr<float>(), bytes->data(), length);
  if (words > 0) GSPO_RETURN_IF_ERROR(communicator.Broadcast(payload, root));
  if (!sender) bytes->assign(reinterpret_cast<const char*>(payload[0].data_ptr<float>()), length);
  return common::Status::Ok();
}

common::StatusOr<std::vector<RolloutPacket>> ExchangeRolloutPackets(engine::Communicator& world,
                                                                    int rollout_ranks,
                                                                    const RolloutPacket* mine) {
  if (rollout_ranks < 1 || rollout_ranks > world.world_size()) {
    return common::InvalidArgumentError("rollout ranks: " + std::to_string(rollout_ranks) +
                                        " in a world of " + std::to_string(world.world_size()));
  }
  if ((world.rank() < rollout_ranks) != (mine != nullptr)) {
    return common::InvalidArgumentError("rank " + std::to_string(world.rank()) +
                                        (mine ? " is no rollout rank but passed a packet"
                                              : " is a rollout rank but passed no packet"));
  }
  std::vector<RolloutPacket> packets;
  for (int root = 0; root < rollout_ranks; ++root) {
    std::string bytes;
    if (root == world.rank()) bytes = EncodeRolloutPacket(*mine);
    GSPO_RETURN_IF_ERROR(BroadcastBytes(world, root, &bytes));
    if (root == world.rank()) {
      packets.push_back(*mine);
      continue;
    }
    GSPO_ASSIGN_OR_RETURN(RolloutPacket packet, DecodeRolloutPacket(bytes));
    packets.push_back(std::move(packet));
  }
  return packets;
}

}  // namespace gspo::runner
