// Compares the adapters two `gspo train` runs exported (output_dir/final/adapter/), for the tests
// that check several ranks train what one rank trains. Header-only: gspo_fakes links no
// LibTorch, the test binaries that include this do. Stateless; safe from any thread.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <string>

#include "worker/engine/model/safetensors.h"
#include "worker/engine/model/safetensors_torch.h"

namespace gspo::testing {

struct AdapterComparison {
  std::string error;          // empty when both were read and hold the same tensors and shapes
  double max_difference = 0;  // max |a - b| over every element, in float32
  double largest_b = 0;       // the largest |lora_B| of `a` (B starts at zero: did training move it?)
};

inline AdapterComparison CompareAdapters(const std::string& a_dir, const std::string& b_dir) {
  AdapterComparison out;
  const std::string file = "/final/adapter/adapter_model.safetensors";
  auto a = engine::SafetensorsFile::Open(a_dir + file);
  auto b = engine::SafetensorsFile::Open(b_dir + file);
  if (!a.ok() || !b.ok()) {
    out.error = "cannot read the adapters: " + (a.ok() ? b.status().ToString() : a.status().ToString());
    return out;
  }
  if ((*a)->tensors().size() != (*b)->tensors().size()) {
    out.error = "the adapters hold " + std::to_string((*a)->tensors().size()) + " and " +
                std::to_string((*b)->tensors().size()) + " tensors";
    return out;
  }
  for (const engine::TensorView& view : (*a)->tensors()) {
    const engine::TensorView* other = (*b)->Find(view.name);
    if (other == nullptr) {
      out.error = view.name + " is missing from " + b_dir;
      return out;
    }
    const at::Tensor x = engine::ViewAsTensor(view).to(at::kFloat);
    const at::Tensor y = engine::ViewAsTensor(*other).to(at::kFloat);
    if (x.sizes() != y.sizes()) {
      out.error = view.name + " has different shapes";
      return out;
    }
    out.max_difference = std::max(out.max_difference, (x - y).abs().max().item<double>());
    if (view.name.find("lora_B") != std::string::npos) {
      out.largest_b = std::max(out.largest_b, x.abs().max().item<double>());
    }
  }
  return out;
}

}  // namespace gspo::testing
