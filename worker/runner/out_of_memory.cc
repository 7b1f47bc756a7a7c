#include "worker/runner/out_of_memory.h"

#include <cstdio>
#include <vector>

#include "common/strings.h"

namespace gspo::runner {
namespace {

std::string GiB(std::int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  return text;
}

}  // namespace

std::string OutOfMemoryMessage(const std::string& phase, std::int64_t step, const MemoryFigures& memory,
                               const TrainOptions& o, const std::string& detail) {
  std::string message = "out of device memory during " + phase + " (step " + std::to_string(step) + ")";
  if (memory.total > 0) {
    message += ": " + GiB(memory.allocated) + " allocated, peak " + GiB(memory.peak_allocated) + ", " +
               GiB(memory.reserved) + " reserved of " + GiB(memory.total);
  }
  const std::string first_line = detail.substr(0, detail.find('\n'));
  if (!first_line.empty()) message += " (" + first_line + ")";
  std::vector<std::string> tips;
  if (phase == "learning") {
    if (!o.gradient_checkpointing) tips.push_back("model.gradient_checkpointing: true");
    if (o.micro_batch > 1) {
      tips.push_back("training.per_device_train_batch_size: " + std::to_string(o.micro_batch / 2) +
                     " (with gradient_accumulation_steps doubled, the update is the same)");
    }
    if (!o.optimizer_offload) {
      tips.push_back("training.optimizer_offload: true (AdamW moments in host memory)");
    }
  } else {
    tips.push_back("gspo.num_generations or training.prompts_per_step lower (fewer rows decoded at once)");
  }
  if (!o.use_4bit) tips.push_back("model.use_4bit: true (4-bit base weights)");
  tips.push_back("generation.max_completion_length: " + std::to_string(o.max_completion_length / 2) +
                 " and generation.max_prompt_length: " + std::to_string(o.max_prompt_length / 2));
  if (o.lora_r > 8) tips.push_back("lora.lora_r: " + std::to_string(o.lora_r / 2));
  message += "; the last checkpoint is intact. Settings that lower memory: " + common::Join(tips, "; ");
  return message;
}

}  // namespace gspo::runner
