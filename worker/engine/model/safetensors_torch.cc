#include "worker/engine/model/safetensors_torch.h"

#include <c10/util/Exception.h>

#include "worker/engine/model/safetensors_internal.h"

namespace gspo::engine {
namespace {

using safetensors_internal::Quote;

// "FILE: tensor 'x': " or "tensor 'x': " for a view of memory.
std::string Where(const TensorView& view) {
  return (view.file.empty() ? "" : view.file + ": ") + "tensor " + Quote(view.name) + ": ";
}

}  // namespace

at::ScalarType ToScalarType(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return at::kBool;
    case DType::kU8:
      return at::kByte;
    case DType::kI8:
      return at::kChar;
    case DType::kI16:
      return at::kShort;
    case DType::kF16:
      return at::kHalf;
    case DType::kBF16:
      return at::kBFloat16;
    case DType::kI32:
      return at::kInt;
    case DType::kF32:
      return at::kFloat;
    case DType::kI64:
      return at::kLong;
    case DType::kF64:
      return at::kDouble;
    case DType::kF8E5M2:
    case DType::kF8E4M3:
    case DType::kU16:
    case DType::kU32:
    case DType::kU64:
      break;
  }
  return at::ScalarType::Undefined;
}

common::StatusOr<DType> FromScalarType(at::ScalarType type) {
  for (const DType dtype : {DType::kBool, DType::kU8, DType::kI8, DType::kI16, DType::kF16,
                            DType::kBF16, DType::kI32, DType::kF32, DType::kI64, DType::kF64}) {
    if (ToScalarType(dtype) == type) return dtype;
  }
  return common::InvalidArgumentError(std::string("LibTorch type ") + c10::toString(type) +
                                      " has no safetensors dtype");
}

common::Status CheckTorchCompatible(const TensorView& view) {
  if (ToScalarType(view.dtype) == at::ScalarType::Undefined) {
    return common::InvalidArgumentError(Where(view) + "dtype " + DTypeName(view.dtype) +
                                        " has no LibTorch type");
  }
  return common::Status::Ok();
}

at::Tensor ViewAsTensor(const TensorView& view) {
  const common::Status compatible = CheckTorchCompatible(view);
  TORCH_CHECK(compatible.ok(), compatible.message());
  const auto options = at::TensorOptions().dtype(ToScalarType(view.dtype)).device(at::kCPU);
  if (view.nbytes == 0) return at::empty(view.shape, options);
  // from_blob wants a mutable pointer; the documentation above forbids writing through it.
  return at::from_blob(const_cast<std::byte*>(view.data), view.shape, options);
}

at::Tensor LoadTensor(const TensorView& view, at::ScalarType dtype, at::Device device) {
  const at::Tensor mapped = ViewAsTensor(view);
  if (device.is_cpu()) return mapped.to(dtype, /*non_blocking=*/false, /*copy=*/true);
  // Cross to the device in the file's dtype (usually the narrower one), convert there.
  return mapped.to(device, mapped.scalar_type(), /*non_blocking=*/false, /*copy=*/true).to(dtype);
}

common::Status SaveTensors(const std::string& path,
                           const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata) {
  std::vector<at::Tensor> contiguous;  // keeps the bytes the views point to alive
  std::vector<TensorView> views;
  contiguous.reserve(tensors.size());
  views.reserve(tensors.size());
  try {
    for (const auto& [name, tensor] : tensors) {
      const std::string where = path + ": tensor " + Quote(name) + ": ";
      if (!tensor.defined()) return common::InvalidArgumentError(where + "undefined tensor");
      common::StatusOr<DType> dtype = FromScalarType(tensor.scalar_type());
      if (!dtype.ok()) return common::InvalidArgumentError(where + dtype.status().message());
      const at::Tensor& cpu = contiguous.emplace_back(tensor.detach().to(at::kCPU).contiguous());
      TensorView view;
      view.name = name;
      view.dtype = *dtype;
      view.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
      view.data = static_cast<const std::byte*>(cpu.data_ptr());
      view.nbytes = cpu.nbytes();
      views.push_back(std::move(view));
    }
  } catch (const c10::Error& error) {
    return common::InternalError(path +
                                 ": cannot prepare the tensors: " + error.what_without_backtrace());
  }
  return WriteSafetensors(path, views, metadata);
}

}  // namespace gspo::engine
