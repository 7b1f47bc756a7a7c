#include "worker/reward/remote_reward_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/config/spec_encoder.h"
#include "gspo/v1/reward.grpc.pb.h"
#include "gspo/v1/reward.pb.h"

namespace gspo::reward {
namespace {

constexpr int kMaxMessageBytes = 64 << 20;

bool IsRetryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

common::StatusCode ToCode(grpc::StatusCode code) {
  return static_cast<common::StatusCode>(static_cast<int>(code));
}

void ToProto(const Trajectory& t, v1::Trajectory* out) {
  out->set_id(t.id);
  for (const env::Message& m : t.messages) {
    v1::ChatMessage* message = out->add_messages();
    message->set_role(std::string(env::RoleName(m.role)));
    message->set_content(m.content);
    message->set_num_tokens(m.num_tokens);
  }
  if (t.scenario != nullptr) {
    const env::Scenario& s = *t.scenario;
    v1::ScenarioInfo* info = out->mutable_scenario();
    info->set_id(s.id);
    info->set_task(s.task);
    for (const auto& [name, value] : s.facts) (*info->mutable_facts())[name] = value;
    for (const std::string& r : s.resolution) info->add_resolution(r);
    for (const std::string& f : s.forbidden) info->add_forbidden(f);
    info->set_reference(s.reference);
  }
  out->set_num_prompt_tokens(t.num_prompt_tokens);
  out->set_num_completion_tokens(t.num_completion_tokens);
  out->set_end_reason(std::string(env::EndReasonName(t.end_reason)));
}

std::string Range(std::size_t begin, std::size_t end) {
  return end - begin == 1 ? "trajectory " + std::to_string(begin)
                          : "trajectories " + std::to_string(begin) + "-" + std::to_string(end - 1);
}

}  // namespace

struct RemoteRewardClient::Impl {
  RemoteRewardOptions options;
  std::unique_ptr<v1::RewardService::Stub> stub;
  std::atomic<std::int64_t> calls{0}, retries{0}, failed_calls{0}, rejected{0};

  std::string Describe() const { return "remote reward at " + options.address; }

  // Checks a reply for trajectories [begin, end) and converts it.
  common::Status Accept(const v1::ScoreResponse& reply, const std::vector<Trajectory>& batch,
                        std::size_t begin, std::size_t end, std::vector<RemoteScore>* out) const {
    const auto reject = [&](const std::string& why) {
      return common::InternalError(Describe() + ": rejected the reply for " + Range(begin, end) +
                                   ": " + why);
    };
    const std::string range = "[" + config::FormatNumber(options.min_score) + ", " +
                              config::FormatNumber(options.max_score) + "]";
    const auto in_range = [&](double v) {
      return std::isfinite(v) && v >= options.min_score && v <= options.max_score;
    };
    if (static_cast<std::size_t>(reply.scores_size()) != end - begin) {
      return reject(std::to_string(reply.scores_size()) + " scores for " +
                    std::to_string(end - begin) + " trajectories");
    }
    for (std::size_t i = begin; i < end; ++i) {
      const v1::TrajectoryScore& s = reply.scores(static_cast<int>(i - begin));
      const std::string which = "trajectory " + std::to_string(i) + " ('" + batch[i].id + "')";
      if (!in_range(s.score())) {
        return reject("the score of " + which + " is " + config::FormatNumber(s.score()) +
                      "; expected a finite number in " + range);
      }
      RemoteScore& score = (*out)[i];
      score.score = s.score();
      score.components.clear();
      for (const auto& [name, value] : s.components()) {
        if (!in_range(value)) {
          return reject("component '" + name + "' of " + which + " is " +
                        config::FormatNumber(value) + "; expected a finite number in " + range);
        }
        score.components.emplace_back(name, value);
      }
      std::sort(score.components.begin(), score.components.end());
    }
    return common::Status::Ok();
  }

  // One chunk, with retries. `abort` stops retrying when another chunk has failed.
  common::Status ScoreChunk(const std::vector<Trajectory>& batch, std::size_t begin,
                            std::size_t end, const ScoreContext& context,
                            const std::atomic<bool>& abort, std::vector<RemoteScore>* out) {
    v1::ScoreRequest request;
    request.set_job(context.job);
    request.set_step(context.step);
    for (std::size_t i = begin; i < end; ++i) ToProto(batch[i], request.add_trajectories());

    std::minstd_rand jitter(static_cast<unsigned>(std::random_device{}()));
    std::uniform_real_distribution<double> spread(0.8, 1.2);
    grpc::Status last;
    int attempts = 0;
    for (int attempt = 0; attempt <= options.max_retries; ++attempt) {
      if (attempt > 0) {
        const double base = std::min<double>(
            options.max_backoff_ms,
            options.initial_backoff_ms * std::pow(options.backoff_multiplier, attempt - 1));
        std::this_thread::sleep_for(
            std::chrono::microseconds(static_cast<std::int64_t>(base * spread(jitter) * 1000)));
        if (abort.load()) break;
        ++retries;
      }
      grpc::ClientContext call;
      call.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(options.timeout_ms));
      v1::ScoreResponse reply;
      ++calls;
      ++attempts;
      last = stub->Score(&call, request, &reply);
      if (last.ok()) {
        common::Status accepted = Accept(reply, batch, begin, end, out);
        if (!accepted.ok()) ++rejected;
        return accepted;
      }
      ++failed_calls;
      if (!IsRetryable(last.error_code())) {
        return common::Status(ToCode(last.error_code()),
                              Describe() + ": Score of " + Range(begin, end) + " failed with " +
                                  common::StatusCodeName(ToCode(last.error_code())) +
                                  " (not retried): " + last.error_message());
      }
    }
    return common::Status(
        ToCode(last.error_code()),
        Describe() + ": Score of " + Range(begin, end) + " failed after " +
            std::to_string(attempts) + " attempt(s) (" + std::to_string(options.max_retries) +
            " retries allowed, deadline " + std::to_string(options.timeout_ms) +
            " ms each); last error: " + common::StatusCodeName(ToCode(last.error_code())) + ": " +
            last.error_message());
  }
};

common::StatusOr<std::unique_ptr<RemoteRewardClient>> RemoteRewardClient::Create(
    RemoteRewardOptions options) {
  std::vector<std::string> problems;
  const std::size_t colon = options.address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == options.address.size()) {
    problems.push_back("address: expected host:port, got '" + options.address + "'");
  }
  if (options.timeout_ms < 1) problems.emplace_back("timeout_ms: expected >= 1");
  if (options.max_retries < 0 || options.max_retries > 10) {
    problems.emplace_back("max_retries: expected 0 to 10");
  }
  if (options.max_batch_size < 1) problems.emplace_back("max_batch_size: expected >= 1");
  if (options.max_concurrent_calls < 1)
    problems.emplace_back("max_concurrent_calls: expected >= 1");
  if (options.initial_backoff_ms < 0 || options.max_backoff_ms < 0) {
    problems.emplace_back("backoff: expected >= 0 ms");
  }
  if (!(options.backoff_multiplier >= 1))
    problems.emplace_back("backoff_multiplier: expected >= 1");
  if (!(options.min_score < options.max_score)) {
    problems.emplace_back("score range: expected min_score < max_score");
  }
  if (!problems.empty()) {
    std::string message = "remote reward options:";
    for (const std::string& p : problems) message += " " + p + ";";
    message.pop_back();
    return common::InvalidArgumentError(message);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  auto impl = std::make_unique<Impl>();
  impl->stub = v1::RewardService::NewStub(
      grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args));
  impl->options = std::move(options);
  return std::unique_ptr<RemoteRewardClient>(new RemoteRewardClient(std::move(impl)));
}

RemoteRewardClient::RemoteRewardClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RemoteRewardClient::~RemoteRewardClient() = default;

const RemoteRewardOptions& RemoteRewardClient::options() const { return impl_->options; }

RemoteRewardStats RemoteRewardClient::stats() const {
  return {impl_->calls.load(), impl_->retries.load(), impl_->failed_calls.load(),
          impl_->rejected.load()};
}

common::StatusOr<std::vector<RemoteScore>> RemoteRewardClient::Score(
    const std::vector<Trajectory>& batch, const ScoreContext& context) {
  std::vector<RemoteScore> scores(batch.size());
  if (batch.empty()) return scores;
  const auto chunk = static_cast<std::size_t>(impl_->options.max_batch_size);
  const std::size_t num_chunks = (batch.size() + chunk - 1) / chunk;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<common::Status> first_error;  // guarded by mu

  const auto work = [&]() {
    for (std::size_t c = next++; c < num_chunks && !failed.load(); c = next++) {
      const std::size_t begin = c * chunk;
      const std::size_t end = std::min(batch.size(), begin + chunk);
      common::Status status = impl_->ScoreChunk(batch, begin, end, context, failed, &scores);
      if (status.ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      if (!first_error) first_error = std::move(status);
      failed = true;
    }
  };
  const std::size_t num_threads =
      std::min(num_chunks, static_cast<std::size_t>(impl_->options.max_concurrent_calls));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < num_threads; ++i) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  if (first_error) return *first_error;
  return scores;
}

}  // namespace gspo::reward
