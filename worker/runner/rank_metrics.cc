#include "worker/runner/rank_metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace gspo::runner {

common::Status CombineRolloutMetrics(engine::Communicator& communicator, double reward_square_mean,
                                     StepMetrics* rewards, StepMetrics* counts,
                                     StepMetrics* timings) {
  std::vector<double> mine = {reward_square_mean};
  for (const StepMetrics* part : {rewards, counts, timings}) {
    for (const auto& entry : *part) mine.push_back(entry.second);
  }
  GSPO_ASSIGN_OR_RETURN(std::vector<std::vector<double>> all, communicator.AllGather(mine));
  const double ranks = static_cast<double>(all.size());
  // The combination of value i over the ranks.
  const auto mean = [&](std::size_t i) {
    double sum = 0;
    for (const auto& rank : all) sum += rank[i];
    return sum / ranks;
  };
  const auto extreme = [&](std::size_t i, bool largest) {
    double value = all.front()[i];
    for (const auto& rank : all)
      value = largest ? std::max(value, rank[i]) : std::min(value, rank[i]);
    return value;
  };
  std::size_t i = 1;
  for (auto& [name, value] : *rewards) {
    if (name == "reward_min")
      value = extreme(i, false);
    else if (name == "reward_max")
      value = extreme(i, true);
    else
      value = mean(i);  // reward_std is replaced below
    ++i;
  }
  for (auto& [name, value] : *counts) {
    const bool summed = name == "tokens_generated" || name == "reward_call_errors" || name == "tokens_prefilled";
    value = summed ? mean(i) * ranks : mean(i);
    ++i;
  }
  for (auto& entry : *timings) entry.second = extreme(i++, true);
  for (auto& [name, value] : *rewards) {
    if (name != "reward_std") continue;
    double reward_mean = 0;
    for (const auto& [other, v] : *rewards) {
      if (other == "reward_mean") reward_mean = v;
    }
    value = std::sqrt(std::max(0.0, mean(0) - reward_mean * reward_mean));
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
