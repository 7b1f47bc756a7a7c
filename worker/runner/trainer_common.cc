#include "worker/runner/trainer_common.h"

#include "common/files.h"
#include "worker/runner/exporter.h"

namespace gspo::runner {

engine::LoraConfig LoraConfigOf(const TrainOptions& o) {
  engine::LoraConfig c;
  c.r = o.lora_r;
  c.alpha = o.lora_alpha;
  c.dropout = o.lora_dropout;
  c.target_modules = o.lora_target_modules;
  c.use_rslora = o.use_rslora;
  c.seed = o.seed;
  return c;
}

common::Status ExportFinal(const TrainOptions& options, const engine::DecoderModel& model,
                           const engine::LoraAdapters* adapters) {
  const std::string final_dir = common::JoinPath(options.output_dir, "final");
  for (const std::string& kind : options.exports) {
    if (kind == "adapter" && adapters != nullptr) {
      GSPO_RETURN_IF_ERROR(adapters->SavePeft(common::JoinPath(final_dir, "adapter"), options.model_name));
    } else if (kind == "merged") {
      const std::string out = common::JoinPath(final_dir, "merged");
      GSPO_RETURN_IF_ERROR(adapters != nullptr ? ExportMerged(model, *adapters, options.model_dir, out)
                                               : ExportModel(model, options.model_dir, out));
    }
  }
  return common::Status::Ok();
}

}  // namespace gspo::runner
