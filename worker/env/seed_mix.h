// The environment's counter-based randomness: common/seed_mix.h's functions under gspo::env.
#pragma once

#include "common/seed_mix.h"

namespace gspo::env {

using common::MixSeed;
using common::SplitMix64;
using common::UnitInterval;

}  // namespace gspo::env
