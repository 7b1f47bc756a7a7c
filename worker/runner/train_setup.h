// PrepareTraining: `gspo train` arguments -> a resolved, validated job and everything the
// training loop needs that is not LibTorch (options, environment, rewards). This file never
// includes LibTorch headers and the loop never includes protobuf ones (train_options.h says why).
// Stateless; safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/env/conversation_environment.h"
#include "worker/reward/batch_rewarder.h"
#include "worker/runner/sft_dataset.h"
#include "worker/runner/train_options.h"

namespace gspo::runner {

struct TrainSetup {
  TrainOptions options;
  std::unique_ptr<env::ConversationEnvironment> environment;
  std::unique_ptr<reward::BatchRewarder> rewarder;
  std::vector<SftConversation> conversations;  // algorithm: sft
  std::vector<std::string> warnings;
  bool progress = true;
};

// job.yaml [--set FIELD=VALUE]... [guide flags] [--no-progress]. Writes the resolved spec to
// output_dir/job.yaml. Errors are kInvalidArgument / kNotFound (exit code 2) with the field path.
common::StatusOr<TrainSetup> PrepareTraining(const std::vector<std::string>& args);

std::string TrainUsage();

}  // namespace gspo::runner
