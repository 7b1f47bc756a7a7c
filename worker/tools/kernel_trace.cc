#include "worker/tools/kernel_trace.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <set>

#include <c10/util/Exception.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include "common/files.h"

namespace gspo::tools {
namespace {

namespace profiler = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

}  // namespace

KernelTrace::~KernelTrace() {
  if (!running_) return;
  try {
    profiler::disableProfiler();
  } catch (const c10::Error&) {
    // Nothing to report from a destructor; the trace is dropped either way.
  }
}

common::Status KernelTrace::Start(bool cuda) {
  if (running_) return common::FailedPreconditionError("a kernel trace is already running");
  std::set<ActivityType> activities = {ActivityType::CPU};
  if (cuda) activities.insert(ActivityType::CUDA);
  try {
    const ProfilerConfig config(ProfilerState::KINETO);
    profiler::prepareProfiler(config, activities);
    profiler::enableProfiler(config, activities);
  } catch (const c10::Error& e) {
    return common::UnavailableError(std::string("LibTorch's profiler could not start: ") + e.what_without_backtrace());
  }
  running_ = true;
  return common::Status::Ok();
}

common::Status KernelTrace::Finish(const std::string& path) {
  if (!running_) return common::FailedPreconditionError("no kernel trace is running");
  running_ = false;
  const std::string temporary = path + ".partial";
  try {
    profiler::disableProfiler()->save(temporary);
  } catch (const c10::Error& e) {
    std::remove(temporary.c_str());
    return common::InternalError("writing the trace to " + path + " failed: " + e.what_without_backtrace());
  }
  if (::access(temporary.c_str(), F_OK) != 0) {
    return common::InternalError("writing the trace to " + path + " failed: the profiler wrote no file");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    return common::ErrnoToStatus(error, "rename " + temporary + " to " + path);
  }
  return common::Status::Ok();
}

}  // namespace gspo::tools
