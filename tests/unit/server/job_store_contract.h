// The JobStore contract: one suite every JobStore implementation must pass. An implementation's
// test instantiates it with a factory (INSTANTIATE_TEST_SUITE_P, see job_store_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "server/store/job_store.h"

namespace gspo::server {

// Makes a fresh, empty store; `dir` is a scratch directory the store may use.
using JobStoreFactory = std::function<std::unique_ptr<JobStore>(const std::string& dir)>;

struct JobStoreImplementation {
  std::string name;
  JobStoreFactory make;
};

class JobStoreContract : public ::testing::TestWithParam<JobStoreImplementation> {};

}  // namespace gspo::server
