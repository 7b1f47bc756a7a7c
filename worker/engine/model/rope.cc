#include "worker/engine/model/rope.h"

#include <cmath>

namespace gspo::engine {

at::Tensor RopeInverseFrequencies(const RopeSpec& spec, std::int64_t head_dim) {
  // 1 / base^(2i / D), computed in float32 as the reference implementation does.
  at::Tensor exponent =
      at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(at::scalar_tensor(spec.base, at::kFloat), exponent);
  if (spec.scaling == "linear") return inv_freq / spec.factor;
  if (spec.scaling != "llama3") return inv_freq;
  // llama3: long wavelengths are slowed by `factor`, short ones kept, and the band between
  // interpolated smoothly.
  const double old_len = spec.original_max_positions;
  const double low_wavelen = old_len / spec.low_freq_factor;
  const double high_wavelen = old_len / spec.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_wavelen, inv_freq / spec.factor, inv_freq);
  at::Tensor smooth =
      (old_len / wavelen - spec.low_freq_factor) / (spec.high_freq_factor - spec.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / spec.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
  return at::where(medium, smoothed, scaled);
}

RotaryEmbedding::RotaryEmbedding(const RopeSpec& spec, std::int64_t head_dim, at::Device device)
    : inv_freq_(RopeInverseFrequencies(spec, head_dim).to(device)) {}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::CosSin(const at::Tensor& positions_bt,
                                                          at::ScalarType dtype) const {
  at::Tensor freqs = positions_bt.to(at::kFloat).unsqueeze(-1) * inv_freq_;  // [B,T,D/2]
  at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);              // [B,1,T,D]
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

at::Tensor ApplyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const std::int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.narrow(-1, 0, half);
  at::Tensor x2 = x.narrow(-1, half, half);
  return x * cos + at::cat({-x2, x1}, -1) * sin;
}

}  // namespace gspo::engine
