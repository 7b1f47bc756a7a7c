#include "worker/reward/reward_component.h"

#include <algorithm>
#include <functional>

#include "common/strings.h"
#include "worker/env/scenario_matching.h"

namespace gspo::reward {
namespace {

const std::string& TextAt(const Trajectory& t, std::size_t index) {
  return t.messages[index].content;
}

// Assistant texts up to and including messages[index].
std::vector<std::string> RepliesThrough(const Trajectory& t, std::size_t index) {
  std::vector<std::string> replies;
  for (std::size_t i = 0; i <= index && i < t.messages.size(); ++i) {
    if (t.messages[i].role == env::Role::kAssistant) replies.push_back(t.messages[i].content);
  }
  return replies;
}

// A component whose turn score is a function of the turn and its trajectory.
class TurnComponent : public RewardComponent {
 public:
  using Fn = std::function<double(const Trajectory&, std::size_t)>;
  TurnComponent(std::string name, bool penalty, Fn fn)
      : name_(std::move(name)), penalty_(penalty), fn_(std::move(fn)) {}

  const std::string& name() const override { return name_; }
  bool is_penalty() const override { return penalty_; }
  double ScoreTurn(const Trajectory& t, std::size_t index) const override { return fn_(t, index); }

 private:
  std::string name_;
  bool penalty_;
  Fn fn_;
};

class ReferenceSimilarity : public TurnComponent {
 public:
  ReferenceSimilarity()
      : TurnComponent("reference_similarity", false, [](const Trajectory& t, std::size_t i) {
          return ReferenceSimilarityScore(TextAt(t, i), *t.scenario);
        }) {}
  double ScoreEpisode(const Trajectory& t) const override {
    const std::vector<std::string> replies = RepliesThrough(t, t.messages.size());
    if (replies.empty()) return 0;
    return ReferenceSimilarityScore(common::Join(replies, "\n"), *t.scenario);
  }
};

class TaskResolution : public TurnComponent {
 public:
  TaskResolution()
      : TurnComponent("task_resolution", false, [](const Trajectory& t, std::size_t i) {
          return TaskResolutionScore(RepliesThrough(t, i), *t.scenario);
        }) {}
  double ScoreEpisode(const Trajectory& t) const override {
    const std::vector<std::string> replies = RepliesThrough(t, t.messages.size());
    if (replies.empty()) return 0;
    for (const std::string& reply : replies) {
      if (env::MeetsResolution(*t.scenario, reply)) return 1;
    }
    return 0.4 * FactProgress(replies, *t.scenario);
  }
};

}  // namespace

double RewardComponent::ScoreEpisode(const Trajectory& trajectory) const {
  const std::vector<std::size_t> turns = AssistantTurns(trajectory);
  if (turns.empty()) return 0;
  double sum = 0, worst = 0;
  for (std::size_t i : turns) {
    const double v = ScoreTurn(trajectory, i);
    sum += v;
    worst = std::max(worst, v);
  }
  return is_penalty() ? worst : sum / static_cast<double>(turns.size());
}

const std::vector<std::string>& RewardComponentNames() {
  static const auto* v = new std::vector<std::string>{"empathy",
                                                      "action_orientation",
                                                      "professionalism",
                                                      "length_appropriateness",
                                                      "reference_similarity",
                                                      "task_resolution",
                                                      "politeness",
                                                      "format_penalty",
                                                      "safety_penalty"};
  return *v;
}

common::StatusOr<std::shared_ptr<const RewardComponent>> MakeRewardComponent(
    std::string_view name, const ComponentOptions& options) {
  using Fn = TurnComponent::Fn;
  const auto make = [&](bool penalty, Fn fn) -> std::shared_ptr<const RewardComponent> {
    return std::make_shared<TurnComponent>(std::string(name), penalty, std::move(fn));
  };
  if (name == "empathy") {
    return make(false, [](const Trajectory& t, std::size_t i) {
      return EmpathyScore(TextAt(t, i), PreviousUserMessage(t, i));
    });
  }
  if (name == "action_orientation") {
    return make(false, [](const Trajectory& t, std::size_t i) {
      return ActionOrientationScore(TextAt(t, i));
    });
  }
  if (name == "professionalism") {
    return make(false, [](const Trajectory& t, std::size_t i) {
      return ProfessionalismScore(TextAt(t, i));
    });
  }
  if (name == "politeness") {
    return make(false,
                [](const Trajectory& t, std::size_t i) { return PolitenessScore(TextAt(t, i)); });
  }
  if (name == "length_appropriateness") {
    const std::map<std::string, LengthBand> bands = options.length_bands;
    return make(false, [bands](const Trajectory& t, std::size_t i) {
      auto it = bands.find(t.scenario->task);
      const LengthBand band = it != bands.end() ? it->second : DefaultLengthBand(t.scenario->task);
      return LengthScore(TextAt(t, i), band);
    });
  }
  if (name == "reference_similarity") return std::make_shared<ReferenceSimilarity>();
  if (name == "task_resolution") return std::make_shared<TaskResolution>();
  if (name == "format_penalty") {
    return make(true, [](const Trajectory& t, std::size_t i) {
      std::vector<std::string> earlier = RepliesThrough(t, i);
      earlier.pop_back();
      return FormatPenalty(TextAt(t, i), earlier);
    });
  }
  if (name == "safety_penalty") {
    return make(true, [](const Trajectory& t, std::size_t i) {
      return SafetyPenalty(TextAt(t, i), *t.scenario);
    });
  }
  std::string message = "unknown reward component " + common::QuoteForMessage(name) +
                        "; expected one of " + common::Join(RewardComponentNames(), ", ");
  if (auto close = common::ClosestMatch(name, RewardComponentNames())) {
    message += " (did you mean '" + *close + "'?)";
  }
  return common::InvalidArgumentError(message);
}

}  // namespace gspo::reward
