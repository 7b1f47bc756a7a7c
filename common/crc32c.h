// CRC-32C (Castagnoli), the checksum of TFRecord files (TensorBoard event files), and the
// "masked" form those files store so that a CRC of data containing CRCs stays well distributed.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace gspo::common {

std::uint32_t Crc32c(std::string_view data);

// ((crc >> 15) | (crc << 17)) + 0xa282ead8, as TFRecord writers store it.
std::uint32_t MaskCrc32c(std::uint32_t crc);

}  // namespace gspo::common
