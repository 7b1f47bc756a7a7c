// The device of the engine tests built for both (the CPU by default; the first GPU where the
// build defines GSPO_TEST_ON_CUDA, as tests/gpu does for the training-node tests).
#pragma once

#include <ATen/ATen.h>

namespace gspo::engine::test_support {

#ifdef GSPO_TEST_ON_CUDA
inline const at::Device kTestDevice(at::kCUDA, 0);
#else
inline const at::Device kTestDevice(at::kCPU);
#endif

}  // namespace gspo::engine::test_support
