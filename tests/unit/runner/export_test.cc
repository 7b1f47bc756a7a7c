// ExportMerged: weights past one shard are split as Hugging Face splits them (numbered shards
// plus model.safetensors.index.json whose weight_map and total_size describe them), the engine
// loads the result back with the adapters folded in, and a later export replaces the files of
// an earlier one.
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <set>

#include "common/files.h"
#include "common/json.h"
#include "worker/engine/lora/lora_adapters.h"
#include "worker/engine/model/decoder_model.h"
#include "worker/runner/exporter.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::runner {
namespace {

const std::string kBase = std::string(GSPO_SOURCE_DIR) + "/tests/data/models/gemma2";

struct Adapted {
  std::unique_ptr<engine::DecoderModel> model;
  std::unique_ptr<engine::LoraAdapters> adapters;
};

Adapted LoadWithAdapters() {
  auto model = engine::DecoderModel::Load(kBase, at::kFloat, at::kCPU);
  EXPECT_TRUE(model.ok()) << model.status();
  engine::LoraConfig config;
  config.r = 2;
  config.target_modules = {"q_proj", "v_proj", "down_proj"};
  auto adapters = engine::LoraAdapters::Attach(model->get(), config);
  EXPECT_TRUE(adapters.ok()) << adapters.status();
  c10::NoGradGuard no_grad;
  at::manual_seed(1);
  for (at::Tensor& p : (*adapters)->Parameters()) p.normal_(0, 0.3);
  return {std::move(*model), std::move(*adapters)};
}

std::set<std::string> WeightFiles(const std::string& dir) {
  std::set<std::string> files;
  const auto names = common::ListDirectory(dir);
  EXPECT_TRUE(names.ok()) << names.status();
  if (!names.ok()) return files;
  for (const std::string& name : *names) {
    if (name.rfind("model", 0) == 0) files.insert(name);
  }
  return files;
}

TEST(ExportMerged, ShardsAndIndexLoadBackAsTheMergedModel) {
  Adapted adapted = LoadWithAdapters();
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("merged");
  ASSERT_TRUE(ExportMerged(*adapted.model, *adapted.adapters, kBase, out, /*max_shard_bytes=*/40000).ok());

  auto text = common::ReadFileToString(out + "/model.safetensors.index.json", 1 << 20);
  ASSERT_TRUE(text.ok()) << text.status();
  auto index = common::ParseJson(*text, "index");
  ASSERT_TRUE(index.ok()) << index.status();
  const common::Json* map = index->Find("weight_map");
  ASSERT_NE(map, nullptr);
  std::set<std::string> shards;
  for (const auto& [name, file] : map->members()) shards.insert(file.AsString());
  ASSERT_GE(shards.size(), 2u);
  const std::string last = "-of-" + std::string(5 - std::to_string(shards.size()).size(), '0') +
                           std::to_string(shards.size()) + ".safetensors";
  std::set<std::string> on_disk = WeightFiles(out);
  on_disk.erase("model.safetensors.index.json");
  EXPECT_EQ(on_disk, shards);
  EXPECT_EQ(*shards.begin(), "model-00001" + last);

  // Every weight once, and total_size is their bytes (float32 here).
  std::int64_t bytes = 0;
  const auto weights = adapted.model->NamedWeights();
  for (const auto& [name, tensor] : weights) bytes += tensor.numel() * 4;
  EXPECT_EQ(map->size(), weights.size());
  EXPECT_EQ(*index->Find("metadata")->Find("total_size")->AsInt64(), bytes);

  // Loaded back, the merged model gives the adapted model's logits.
  auto merged = engine::DecoderModel::Load(out, at::kFloat, at::kCPU);
  ASSERT_TRUE(merged.ok()) << merged.status();
  c10::NoGradGuard no_grad;
  const at::Tensor ids = at::tensor(std::vector<std::int64_t>{3, 9, 27, 81, 243 % 256, 5}, at::kLong).unsqueeze(0);
  const at::Tensor want = adapted.model->Forward({ids, {}, {}, /*use_adapters=*/true});
  const at::Tensor base = adapted.model->Forward({ids, {}, {}, /*use_adapters=*/false});
  const at::Tensor got = (*merged)->Forward({ids, {}, {}});
  EXPECT_LE((got - want).abs().max().item<double>(), 1e-4);
  EXPECT_GT((want - base).abs().max().item<double>(), 1e-2);  // the adapters changed something
}

TEST(ExportMerged, ALaterExportReplacesTheEarlierFiles) {
  Adapted adapted = LoadWithAdapters();
  gspo::testing::ScopedTempDir dir;
  const std::string out = dir.Join("merged");
  ASSERT_TRUE(ExportMerged(*adapted.model, *adapted.adapters, kBase, out, 40000).ok());
  ASSERT_GE(WeightFiles(out).size(), 3u);
  ASSERT_TRUE(ExportMerged(*adapted.model, *adapted.adapters, kBase, out).ok());
  EXPECT_EQ(WeightFiles(out), std::set<std::string>{"model.safetensors"});
  // One byte per shard: every tensor gets a shard of its own.
  ASSERT_TRUE(ExportMerged(*adapted.model, *adapted.adapters, kBase, out, 1).ok());
  EXPECT_EQ(WeightFiles(out).size(), adapted.model->NamedWeights().size() + 1);
  EXPECT_FALSE(ExportMerged(*adapted.model, *adapted.adapters, kBase, out, 0).ok());
}

}  // namespace
}  // namespace gspo::runner
