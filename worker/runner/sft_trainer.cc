#include "worker/runner/sft_trainer.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "common/files.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/train/adamw.h"
#include "worker/runner/metrics_writer.h"
#include "worker/runner/trainer_common.h"
#include "worker/tokenizer/chat_episode.h"

namespace gspo::runner {
namespace {

using Clock = std::chrono::steady_clock;

// Every distinct weight but the norms, made trainable.
std::vector<at::Tensor> FullParameters(const engine::DecoderModel& model) {
  std::vector<at::Tensor> params;
  std::set<const void*> seen;  // a tied lm_head is the embedding
  for (auto& [name, weight] : model.NamedWeights()) {
    if (name.find("norm") != std::string::npos) continue;
    if (!seen.insert(weight.unsafeGetTensorImpl()).second) continue;
    weight.set_requires_grad(true);
    params.push_back(weight);
  }
  return params;
}

}  // namespace

common::StatusOr<SftExample> TokenizeConversation(const SftConversation& conversation,
                                                  const tokenizer::Tokenizer& tokenizer,
                                                  const tokenizer::ChatFormat& format,
                                                  std::int64_t max_tokens,
                                                  const std::string& source_name) {
  const std::string where = source_name + ":" + std::to_string(conversation.line) + ": ";
  const auto with_place = [&](const common::Status& s) {
    return common::Status(s.code(), where + s.message());
  };
  auto builder = tokenizer::EpisodeBuilder::Create(tokenizer, format);
  if (!builder.ok()) return with_place(builder.status());
  const auto& messages = conversation.messages;
  std::size_t next = 0;
  std::vector<tokenizer::ChatMessage> opening;
  while (next < messages.size() && messages[next].role != "assistant") {
    opening.push_back({messages[next].role, messages[next].content, std::nullopt});
    ++next;
  }
  if (auto started = builder->Start(opening); !started.ok()) return with_place(started.status());
  const std::int32_t end_of_turn = builder->end_of_turn_ids().front();
  for (; next < messages.size(); ++next) {
    const SftMessage& m = messages[next];
    common::Status status = common::Status::Ok();
    if (m.role == "assistant") {
      std::vector<std::int32_t> ids = tokenizer.Encode(m.content, /*add_special_tokens=*/false);
      ids.push_back(end_of_turn);  // the model learns to end its turn
      status = builder->AppendAssistant(ids).status();
    } else {
      status = builder->AppendUser(m.content).status();
    }
    if (!status.ok()) return with_place(status);
  }
  if (auto finished = builder->Finish(); !finished.ok()) return with_place(finished.status());
  SftExample example{builder->ids(), builder->assistant_mask()};
  if (static_cast<std::int64_t>(example.ids.size()) > max_tokens) {
    return common::InvalidArgumentError(
        where + "the conversation is " + std::to_string(example.ids.size()) +
        " tokens; at most generation.max_prompt_length + generation.max_completion_length = " +
        std::to_string(max_tokens) + " are trained");
  }
  return example;
}

SftBatch MakeSftBatch(const std::vector<const SftExample*>& examples) {
  const std::int64_t n = static_cast<std::int64_t>(examples.size());
  std::int64_t longest = 0;
  for (const SftExample* e : examples) longest = std::max<std::int64_t>(longest, e->ids.size());
  SftBatch batch;
  batch.ids = at::zeros({n, longest}, at::kLong);
  batch.valid = at::zeros({n, longest}, at::kBool);
  batch.assistant_mask = at::zeros({n, longest}, at::kBool);
  for (std::int64_t i = 0; i < n; ++i) {
    const SftExample& e = *examples[i];
    const std::int64_t len = static_cast<std::int64_t>(e.ids.size());
    batch.ids[i].narrow(0, 0, len).copy_(
        at::tensor(std::vector<std::int64_t>(e.ids.begin(), e.ids.end())));
    batch.valid[i].narrow(0, 0, len).fill_(true);
    batch.assistant_mask[i].narrow(0, 0, len).copy_(
        at::tensor(std::vector<std::int64_t>(e.assistant_mask.begin(), e.assistant_mask.end()))
            .to(at::kBool));
  }
  return batch;
}

common::Status SftTrainer::Run(bool progress) {
  GSPO_RETURN_IF_ERROR(CheckContextFits(options_, *model_));
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(options_.output_dir));
  const std::int64_t max_tokens = options_.max_prompt_length + options_.max_completion_length;
  std::vector<SftExample> examples;
  for (const SftConversation& c : conversations_) {
    GSPO_ASSIGN_OR_RETURN(SftExample e, TokenizeConversation(c, *tokenizer_, *format_, max_tokens,
                                                             options_.dataset_path));
    examples.push_back(std::move(e));
  }
  std::unique_ptr<engine::LoraAdapters> adapters;
  std::vector<at::Tensor> params;
  if (options_.use_lora) {
    GSPO_ASSIGN_OR_RETURN(adapters, engine::LoraAdapters::Attach(model_, LoraConfigOf(options_)));
    params = adapters->Parameters();
  } else {
    params = FullParameters(*model_);
  }
  engine::AdamW optimizer(params, AdamWConfigOf(options_));
  GSPO_ASSIGN_OR_RETURN(auto writer,
                        MetricsWriter::Open(common::JoinPath(options_.output_dir, "metrics.jsonl"),
                                            options_.steps, progress));
  const std::int64_t per_step = options_.micro_batch * options_.gradient_accumulation_steps;
  std::mt19937_64 rng(options_.seed);
  std::vector<std::size_t> order;
  std::size_t cursor = 0;
  std::int64_t epoch = 0;
  for (std::int64_t step = 0; step < options_.steps; ++step) {
    const auto start = Clock::now();
    std::vector<const SftExample*> chosen;
    while (static_cast<std::int64_t>(chosen.size()) < per_step) {
      if (cursor == order.size()) {  // a new epoch, in a new order
        order.resize(examples.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
        if (step > 0 || !chosen.empty()) ++epoch;
      }
      chosen.push_back(&examples[order[cursor++]]);
    }
    std::int64_t step_tokens = 0;
    for (const SftExample* e : chosen)
      step_tokens += std::count(e->assistant_mask.begin(), e->assistant_mask.end(), 1);
    double nll = 0;
    for (std::int64_t first = 0; first < per_step; first += options_.micro_batch) {
      std::vector<const SftExample*> micro(
          chosen.begin() + first,
          chosen.begin() + std::min(per_step, first + options_.micro_batch));
      const SftNll part = AssistantNll(*model_, MakeSftBatch(micro), /*training=*/true,
                                       options_.gradient_checkpointing);
      (part.sum / static_cast<double>(step_tokens)).backward();
      nll += part.sum.item<double>();
    }
    const double grad_norm = engine::ClipGradNorm(params, options_.max_grad_norm);
    const double lr = engine::ScheduledLearningRate(options_.lr_schedule, options_.learning_rate,
                                                    step, options_.warmup_steps, options_.steps);
    optimizer.Step(lr);
    optimizer.ZeroGrad();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const StepMetrics row = {{"loss", nll / static_cast<double>(step_tokens)},
                             {"tokens_trained", static_cast<double>(step_tokens)},
                             {"grad_norm", grad_norm},
                             {"lr", lr},
                             {"epoch", static_cast<double>(epoch)},
                             {"seconds_step", seconds},
                             {"tokens_per_second", static_cast<double>(step_tokens) / seconds}};
    if ((step + 1) % options_.log_every == 0 || step + 1 == options_.steps) {
      GSPO_RETURN_IF_ERROR(writer->Write(step + 1, row));
    }
    writer->Progress(step + 1, row);
  }
  for (const at::Tensor& p : params) p.set_requires_grad(false);
  GSPO_RETURN_IF_ERROR(ExportFinal(options_, *model_, adapters.get()));
  return common::Status::Ok();
}

}  // namespace gspo::runner
