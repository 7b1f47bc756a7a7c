#include "worker/tools/export_command.h"

#include <iostream>

#include "common/files.h"
#include "common/model_dir.h"
#include "common/strings.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/runtime.h"
#include "worker/runner/exporter.h"
#include "worker/tools/flags.h"
#include "worker/tools/model_commands.h"

namespace gspo::tools {
namespace {

common::Status Export(const std::vector<std::string>& args) {
  Flags flags({"--checkpoint", "--adapter", "--merged", "--model", "--dtype", "--max-shard-bytes"}, {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string checkpoint, flags.Required("--checkpoint"));
  if (flags.Has("--adapter") == flags.Has("--merged")) {
    return common::InvalidArgumentError("expected exactly one of --adapter OUT and --merged OUT");
  }
  GSPO_ASSIGN_OR_RETURN(std::string adapter_dir, runner::FindAdapterDirectory(checkpoint));
  std::string base_model;
  GSPO_ASSIGN_OR_RETURN(engine::LoraConfig lora, runner::ReadPeftConfig(adapter_dir, &base_model));
  if (flags.Has("--adapter")) {
    const std::string out = flags.Get("--adapter", "");
    GSPO_RETURN_IF_ERROR(runner::ExportAdapter(adapter_dir, out));
    std::cout << out << ": PEFT adapter (r " << lora.r << ", " << common::Join(lora.target_modules, ", ") << ")\n";
    return common::Status::Ok();
  }
  const std::string out = flags.Get("--merged", "");
  const std::string base = flags.Get("--model", base_model);
  if (base.empty()) {
    return common::InvalidArgumentError(adapter_dir + "/adapter_config.json names no base_model_name_or_path; "
                                        "pass --model BASE");
  }
  auto base_dir = common::FindModelDirectory(base);
  if (!base_dir) {
    return common::NotFoundError("base model '" + base + "' is not a directory, and not in the local "
                                 "Hugging Face cache; pass --model BASE");
  }
  GSPO_ASSIGN_OR_RETURN(at::ScalarType dtype, ParseDtype(flags.Get("--dtype", "float32")));
  GSPO_ASSIGN_OR_RETURN(std::int64_t max_shard_bytes, flags.Int("--max-shard-bytes", runner::kDefaultMaxShardBytes));
  if (max_shard_bytes < 1) {
    return common::InvalidArgumentError("--max-shard-bytes: expected a positive number of bytes, got " +
                                        std::to_string(max_shard_bytes));
  }
  engine::ConfigureRuntime();
  GSPO_ASSIGN_OR_RETURN(auto model, engine::DecoderModel::Load(*base_dir, dtype, at::kCPU));
  GSPO_ASSIGN_OR_RETURN(auto adapters, engine::LoraAdapters::Attach(model.get(), lora));
  GSPO_RETURN_IF_ERROR(runner::LoadPeftWeights(adapter_dir, adapters.get()));
  GSPO_RETURN_IF_ERROR(runner::ExportMerged(*model, *adapters, *base_dir, out, max_shard_bytes));
  std::cout << out << ": merged checkpoint of " << *base_dir << " with " << adapter_dir << "\n";
  return common::Status::Ok();
}

}  // namespace

int RunExport(const std::vector<std::string>& args) {
  return GuardedCommand("export", [&] { return Export(args); });
}

}  // namespace gspo::tools
