// The engine's on-by-default switches: environment variables that turn a faster path off when
// set to "0" (e.g. GSPO_LOGPROB_KERNEL=0), so one binary measures what each path brings and a
// user can fall back without a rebuild. Stateless; safe from any thread.
#pragma once

namespace gspo::engine {

// True unless the environment variable `variable` is "0". Read at every call: callers that
// want it fixed for the process keep the first answer (tests flip the others between runs).
bool SwitchedOn(const char* variable);

}  // namespace gspo::engine
