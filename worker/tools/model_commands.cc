#include "worker/tools/model_commands.h"

#include <iostream>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "common/files.h"
#include "common/model_dir.h"
#include "common/strings.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"
#include "worker/engine/model/weight_names.h"
#include "worker/engine/runtime.h"
#include "worker/engine/sampler/rollout_engine.h"
#include "worker/engine/sampler/sampling.h"
#include "worker/tools/flags.h"

namespace gspo::tools {

common::StatusOr<at::ScalarType> ParseDtype(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  return common::InvalidArgumentError("--dtype: expected float32, bfloat16 or float16, got '" + name + "'");
}

namespace {

using engine::DecoderModel;

common::StatusOr<at::Device> ParseDevice(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!at::hasCUDA()) return common::FailedPreconditionError("--device " + name + ": no CUDA device is available");
    return at::Device(name);
  }
  return common::InvalidArgumentError("--device: expected cpu, cuda or cuda:N, got '" + name + "'");
}

// Reads int64 `input_ids` [B,T] from a safetensors file and checks it against the vocabulary.
common::StatusOr<at::Tensor> ReadInputIds(const std::string& path, std::int64_t vocab_size) {
  GSPO_ASSIGN_OR_RETURN(auto file, engine::SafetensorsFile::Open(path));
  const engine::TensorView* view = file->Find("input_ids");
  if (view == nullptr) return common::InvalidArgumentError(path + ": no tensor 'input_ids'");
  if (view->dtype != engine::DType::kI64 || view->shape.size() != 2 || view->shape[1] == 0) {
    return common::InvalidArgumentError(path + ": tensor 'input_ids': expected int64 [B,T] with T > 0");
  }
  at::Tensor ids = engine::ViewAsTensor(*view).clone();
  if (ids.numel() > 0 && (ids.min().item<std::int64_t>() < 0 || ids.max().item<std::int64_t>() >= vocab_size)) {
    return common::InvalidArgumentError(path + ": tensor 'input_ids': ids must be in [0, " +
                                        std::to_string(vocab_size) + ")");
  }
  return ids;
}

// A directory, or a repo id in the local Hugging Face cache; nothing is downloaded.
common::StatusOr<std::string> ResolveModelDirectory(const std::string& name) {
  if (auto dir = common::FindModelDirectory(name)) return *dir;
  return common::NotFoundError("--model " + name + ": not a directory, and not in the local Hugging "
                               "Face cache (searched " + common::Join(common::HuggingFaceCacheRoots(), ", ") +
                               "); models are never downloaded");
}

int Report(const common::Status& status, const char* command) {
  if (status.ok()) return 0;
  std::cerr << "gspo " << command << ": " << status.message() << "\n";
  return common::ExitCodeFor(status);
}

}  // namespace

common::StatusOr<LoadedModel> LoadModelFromFlags(const Flags& flags) {
  GSPO_ASSIGN_OR_RETURN(std::string name, flags.Required("--model"));
  GSPO_ASSIGN_OR_RETURN(std::string dir, ResolveModelDirectory(name));
  GSPO_ASSIGN_OR_RETURN(at::Device device, ParseDevice(flags.Get("--device", "cpu")));
  GSPO_ASSIGN_OR_RETURN(at::ScalarType dtype,
                        ParseDtype(flags.Get("--dtype", device.is_cuda() ? "bfloat16" : "float32")));
  GSPO_ASSIGN_OR_RETURN(auto model, DecoderModel::Load(dir, dtype, device));
  return LoadedModel{std::move(model), device};
}

int GuardedCommand(const char* command, const std::function<common::Status()>& body) {
  try {
    return Report(body(), command);
  } catch (const std::exception& e) {
    return Report(common::InternalError(e.what()), command);
  }
}

namespace {

common::Status InitModel(const std::vector<std::string>& args) {
  Flags flags({"--config", "--out", "--seed", "--dtype"}, {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string config_path, flags.Required("--config"));
  GSPO_ASSIGN_OR_RETURN(std::string out, flags.Required("--out"));
  GSPO_ASSIGN_OR_RETURN(std::int64_t seed, flags.Int("--seed", 0));
  GSPO_ASSIGN_OR_RETURN(at::ScalarType dtype, ParseDtype(flags.Get("--dtype", "float32")));
  GSPO_ASSIGN_OR_RETURN(std::string config_text, common::ReadFileToString(config_path, 4 << 20));
  GSPO_ASSIGN_OR_RETURN(engine::ModelConfig config, engine::ParseModelConfig(config_text, config_path));

  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(seed));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const engine::WeightSpec& spec : engine::ExpectedWeights(config)) {
    at::Tensor t = at::empty(spec.shape, at::kFloat);
    switch (spec.kind) {
      case engine::WeightKind::kMatrix:
      case engine::WeightKind::kEmbedding:
        t.normal_(0.0, 0.02, generator);
        break;
      case engine::WeightKind::kBias:
        t.normal_(0.0, 0.02, generator);
        break;
      case engine::WeightKind::kNorm:
        // Around the identity: Gemma norms scale by (1 + w), the others by w.
        t.normal_(config.norm_adds_one ? 0.0 : 1.0, 0.05, generator);
        break;
    }
    tensors.emplace_back(spec.name, t.to(dtype));
  }
  GSPO_RETURN_IF_ERROR(common::MakeDirectories(out));
  GSPO_RETURN_IF_ERROR(common::WriteFileAtomically(common::JoinPath(out, "config.json"), config_text));
  GSPO_RETURN_IF_ERROR(engine::SaveTensors(common::JoinPath(out, "model.safetensors"), tensors, {{"format", "pt"}}));
  std::cout << out << ": " << tensors.size() << " tensors (" << config.model_type << ", "
            << config.num_layers << " layers, seed " << seed << ")\n";
  return common::Status::Ok();
}

common::Status Logits(const std::vector<std::string>& args) {
  Flags flags({"--model", "--input", "--output", "--device", "--dtype"}, {});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string input, flags.Required("--input"));
  GSPO_ASSIGN_OR_RETURN(std::string output, flags.Required("--output"));
  engine::ConfigureRuntime();
  GSPO_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelFromFlags(flags));
  GSPO_ASSIGN_OR_RETURN(at::Tensor ids, ReadInputIds(input, loaded.model->config().vocab_size));
  c10::NoGradGuard no_grad;
  at::Tensor logits = loaded.model->Forward({ids.to(loaded.device), {}, {}});
  return engine::SaveTensors(output, {{"logits", logits.to(at::kCPU, at::kFloat)}}, {});
}

common::Status Generate(const std::vector<std::string>& args) {
  Flags flags({"--model", "--input", "--output", "--device", "--dtype", "--max-new-tokens",
               "--temperature", "--top-p", "--top-k", "--seed"},
              {"--greedy"});
  GSPO_RETURN_IF_ERROR(flags.Parse(args));
  GSPO_ASSIGN_OR_RETURN(std::string input, flags.Required("--input"));
  GSPO_ASSIGN_OR_RETURN(std::string output, flags.Required("--output"));
  GSPO_ASSIGN_OR_RETURN(std::int64_t new_tokens, flags.Int("--max-new-tokens", -1));
  if (new_tokens < 1) return common::InvalidArgumentError("--max-new-tokens: expected an integer >= 1");
  engine::SamplingParams params;
  params.greedy = flags.Has("--greedy");
  if (params.greedy && (flags.Has("--temperature") || flags.Has("--top-p") || flags.Has("--top-k"))) {
    return common::InvalidArgumentError("--greedy cannot be combined with --temperature, --top-p or --top-k");
  }
  GSPO_ASSIGN_OR_RETURN(params.temperature, flags.Number("--temperature", 1.0));
  GSPO_ASSIGN_OR_RETURN(params.top_p, flags.Number("--top-p", 1.0));
  GSPO_ASSIGN_OR_RETURN(params.top_k, flags.Int("--top-k", 0));
  GSPO_ASSIGN_OR_RETURN(std::int64_t seed, flags.Int("--seed", 0));
  if (!(params.temperature > 0)) return common::InvalidArgumentError("--temperature: expected a number > 0");
  if (!(params.top_p > 0 && params.top_p <= 1)) return common::InvalidArgumentError("--top-p: expected a number in (0, 1]");
  if (params.top_k < 0) return common::InvalidArgumentError("--top-k: expected an integer >= 0");

  engine::ConfigureRuntime();
  GSPO_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelFromFlags(flags));
  const DecoderModel& model = *loaded.model;
  GSPO_ASSIGN_OR_RETURN(at::Tensor ids, ReadInputIds(input, model.config().vocab_size));
  // Every row is its own prompt (no stop ids: each runs to --max-new-tokens).
  engine::RolloutRequest request;
  for (std::int64_t r = 0; r < ids.size(0); ++r) {
    at::Tensor row = ids[r].contiguous();
    request.prompts.emplace_back(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
  }
  request.max_new_tokens = new_tokens;
  request.sampling = params;
  request.seed = static_cast<std::uint64_t>(seed);
  GSPO_ASSIGN_OR_RETURN(std::vector<engine::Generation> generations,
                        engine::RolloutEngine(&model).Generate(request));
  at::Tensor tokens = at::empty({ids.size(0), new_tokens}, at::kLong);
  at::Tensor logprobs = at::empty({ids.size(0), new_tokens}, at::kFloat);
  for (std::int64_t r = 0; r < ids.size(0); ++r) {
    tokens[r].copy_(at::tensor(generations[r].tokens, at::kLong));
    logprobs[r].copy_(at::tensor(generations[r].logprobs, at::kFloat));
  }
  at::Tensor sequences = at::cat({ids, tokens}, 1);
  return engine::SaveTensors(output, {{"sequences", sequences}, {"logprobs", logprobs}}, {});
}

}  // namespace

int RunInitModel(const std::vector<std::string>& args) {
  return GuardedCommand("init-model", [&] { return InitModel(args); });
}
int RunLogits(const std::vector<std::string>& args) {
  return GuardedCommand("logits", [&] { return Logits(args); });
}
int RunGenerate(const std::vector<std::string>& args) {
  return GuardedCommand("generate", [&] { return Generate(args); });
}

}  // namespace gspo::tools
