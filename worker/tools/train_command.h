// `gspo train job.yaml [--set FIELD=VALUE]... [guide flags] [--no-progress]`: runs a GSPO job
// without the daemon, on this machine (CUDA device 0 when there is one, else the CPU).
#pragma once

#include <string>
#include <vector>

namespace gspo::tools {

int RunTrain(const std::vector<std::string>& args);

}  // namespace gspo::tools
