// CheckpointManager: output_dir/checkpoints/step-N/ with the adapter (PEFT layout), the optimizer
// state and the step, written to step-N.partial and renamed when complete, so a crash never
// leaves a half checkpoint that resume would pick. Keeps the newest `save_total_limit`.
//
// Every source of randomness in training is derived from (seed, step), so the step is the whole
// data cursor and RNG state: resuming from step N continues exactly as an uninterrupted run.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/train/adamw.h"

namespace gspo::runner {

class CheckpointManager {
 public:
  CheckpointManager(std::string output_dir, std::int64_t save_total_limit, std::string base_model)
      : output_dir_(std::move(output_dir)), limit_(save_total_limit), base_model_(std::move(base_model)) {}

  // Saves after `step` completed steps.
  common::Status Save(std::int64_t step, const engine::LoraAdapters& adapters,
                      const engine::AdamW& optimizer) const;

  // The newest complete checkpoint directory, if any.
  std::optional<std::string> Latest() const;

  // Loads adapters and optimizer from `dir`; returns the completed step count.
  common::StatusOr<std::int64_t> Load(const std::string& dir, engine::LoraAdapters* adapters,
                                      engine::AdamW* optimizer) const;

  std::string CheckpointsDir() const;

 private:
  std::string output_dir_;
  std::int64_t limit_;
  std::string base_model_;
};

}  // namespace gspo::runner
