// CombineRolloutMetrics: one step's rollout metrics of every rank turned into those of the whole
// step, identical on every rank (rank 0 writes them). Ranks hold equally many sequences, so a
// mean over ranks of per-rank means is the mean over all sequences.
//
//   rewards:  reward_mean, reward/<component> mean; reward_min min; reward_max max;
//             reward_std from the mean reward and `reward_square_mean` (the mean squared reward)
//   counts:   tokens_generated and reward_call_errors summed; others (turns_mean) averaged
//   timings:  the slowest rank's (max)
// Every rank passes the same names in the same order (one collective). Stateless; the
// communicator is borrowed.
#pragma once

#include "common/status.h"
#include "worker/engine/dist/communicator.h"
#include "worker/runner/metrics_writer.h"

namespace gspo::runner {

common::Status CombineRolloutMetrics(engine::Communicator& communicator, double reward_square_mean,
                                     StepMetrics* rewards, StepMetrics* counts,
                                     StepMetrics* timings);

}  // namespace gspo::runner
