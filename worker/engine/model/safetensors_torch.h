// The LibTorch side of safetensors.h: tensors over mapped safetensors data (no copy), converted
// copies on any device, and safetensors files written from tensors.
//
// Free functions without shared state; safe from any thread. Tensors from ViewAsTensor borrow
// their bytes (see there); every other tensor returned here owns its memory.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/engine/model/safetensors.h"

namespace gspo::engine {

// The LibTorch type of `dtype`, or at::ScalarType::Undefined for the dtypes that LibTorch 1.13
// lacks: U16, U32, U64, F8_E5M2, F8_E4M3.
at::ScalarType ToScalarType(DType dtype);
// The safetensors dtype of `type`. kInvalidArgument for types the format cannot hold (complex,
// quantized): "LibTorch type ComplexFloat has no safetensors dtype".
common::StatusOr<DType> FromScalarType(at::ScalarType type);

// OK when ViewAsTensor and LoadTensor accept `view`, that is when its dtype has a LibTorch type;
// else kInvalidArgument "FILE: tensor 'x': dtype U32 has no LibTorch type".
common::Status CheckTorchCompatible(const TensorView& view);

// A CPU tensor over the view's bytes, without a copy: contiguous, of the view's dtype and shape.
// It borrows memory it does not own, so it is valid only while the SafetensorsFile or Checkpoint
// behind the view lives, and that memory is a read-only map: writing into the tensor (an in-place
// op) crashes the process. clone() it, or use LoadTensor, for a tensor of its own.
// Data is aligned to its elements in files whose header length is a multiple of 8 (those of the
// reference writer and of WriteSafetensors); other files work, with unaligned loads.
// Throws c10::Error, as ATen calls do, when CheckTorchCompatible(view) fails.
at::Tensor ViewAsTensor(const TensorView& view);

// A copy of the view's data converted to `dtype` on `device` (moved in the file's dtype, then
// converted there). Independent of the file. Throws c10::Error like ViewAsTensor, and like any
// allocation that fails.
at::Tensor LoadTensor(const TensorView& view, at::ScalarType dtype, at::Device device);

// Writes `tensors` with WriteSafetensors (atomically, header sorted by name, data aligned). Each
// tensor is first made a contiguous CPU tensor; the originals are left as they are. Errors name
// the file and the tensor (an undefined tensor, a type the format cannot hold, a duplicate name).
common::Status SaveTensors(const std::string& path,
                           const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata = {});

}  // namespace gspo::engine
