// The out-of-memory message: figures in GiB, LibTorch's first line, and the settings that lower
// memory for the phase that failed, worked out by hand from the options.
#include "worker/runner/out_of_memory.h"

#include <gtest/gtest.h>

namespace gspo::runner {
namespace {

TEST(OutOfMemoryMessage, LearningNamesFiguresAndTheKnobsThatHelp) {
  TrainOptions o;
  o.micro_batch = 8;
  o.max_completion_length = 512;
  o.max_prompt_length = 1024;
  o.lora_r = 64;
  const MemoryFigures m{3LL << 30, 70LL << 30, 75LL << 30, 80LL << 30};
  EXPECT_EQ(OutOfMemoryMessage("learning", 12, m, o, "CUDA out of memory. Tried to allocate 2.00 GiB\nmore"),
            "out of device memory during learning (step 12): 3.0 GiB allocated, peak 70.0 GiB, 75.0 GiB "
            "reserved of 80.0 GiB (CUDA out of memory. Tried to allocate 2.00 GiB); the last checkpoint is "
            "intact. Settings that lower memory: model.gradient_checkpointing: true; "
            "training.per_device_train_batch_size: 4 (with gradient_accumulation_steps doubled, the update "
            "is the same); training.optimizer_offload: true (AdamW moments in host memory); model.use_4bit: true (4-bit base weights); generation.max_completion_length: 256 "
            "and generation.max_prompt_length: 512; lora.lora_r: 32");
}

TEST(OutOfMemoryMessage, RolloutAndSettingsAlreadyLow) {
  TrainOptions o;
  o.micro_batch = 1;
  o.gradient_checkpointing = true;
  o.use_4bit = true;
  o.lora_r = 8;
  o.max_completion_length = 100;
  o.max_prompt_length = 200;
  EXPECT_EQ(OutOfMemoryMessage("rollout", 1, MemoryFigures{}, o, ""),
            "out of device memory during rollout (step 1); the last checkpoint is intact. Settings that lower "
            "memory: gspo.num_generations or training.prompts_per_step lower (fewer rows decoded at once); "
            "generation.max_completion_length: 50 and generation.max_prompt_length: 100");
}

}  // namespace
}  // namespace gspo::runner
