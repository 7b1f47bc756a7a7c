#include "worker/engine/env_switch.h"

#include <cstdlib>
#include <cstring>

namespace gspo::engine {

bool SwitchedOn(const char* variable) {
  const char* value = std::getenv(variable);
  return value == nullptr || std::strcmp(value, "0") != 0;
}

}  // namespace gspo::engine
