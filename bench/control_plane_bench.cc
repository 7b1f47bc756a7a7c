// gspo_control_plane_bench: many concurrent gspoctl-like clients against one coordinator.
//
//   gspo_control_plane_bench --server ADDR --token-file F --spec job.yaml
//       [--clients 200] [--requests 20] [--set FIELD=VALUE]...
//
// Each client has its own channel and makes `requests` calls in turn: SubmitJob, ListJobs
// (newest 20), GetJob of its last job, GetJob again. Then every submitted id must be listed.
// Prints one line of counts and latency percentiles; exit 0 only with no error and no lost job.
// bench/results/ holds runs with their command lines.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/files.h"
#include "common/strings.h"
#include "gspo/v1/coordinator.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string server;
  std::string token;
  std::string spec;
  std::string spec_path;
  std::vector<std::string> sets;
  int clients = 200;
  int requests = 20;
};

struct Totals {
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::vector<std::string> submitted;
  std::vector<std::string> errors;
};

void RunClient(const Options& options, int index, Totals* totals) {
  auto stub = gspo::v1::JobService::NewStub(
      grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials()));
  std::vector<double> latencies;
  std::vector<std::string> submitted;
  std::vector<std::string> errors;
  std::string last_job;
  char cwd[PATH_MAX];
  const std::string working_dir = ::getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : "/";
  for (int i = 0; i < options.requests; ++i) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + options.token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    const auto start = Clock::now();
    grpc::Status status;
    const int kind = (last_job.empty() ? 0 : i % 4);
    if (kind == 0) {
      gspo::v1::SubmitJobRequest request;
      request.set_spec_yaml(options.spec);
      request.set_file_name(options.spec_path);
      request.set_working_dir(working_dir);
      request.set_job_dir(working_dir);
      for (const std::string& s : options.sets) request.add_set(s);
      request.add_set("name=bench-" + std::to_string(index) + "-" + std::to_string(i));
      gspo::v1::SubmitJobResponse response;
      status = stub->SubmitJob(&context, request, &response);
      if (status.ok()) {
        last_job = response.job().id();
        submitted.push_back(last_job);
      }
    } else if (kind == 1) {
      gspo::v1::ListJobsRequest request;
      request.set_limit(20);
      gspo::v1::ListJobsResponse response;
      status = stub->ListJobs(&context, request, &response);
    } else {
      gspo::v1::GetJobRequest request;
      request.set_job_id(last_job);
      gspo::v1::Job response;
      status = stub->GetJob(&context, request, &response);
      if (status.ok() && response.id() != last_job) errors.push_back("GetJob returned another job");
    }
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!status.ok()) {
      errors.push_back(std::to_string(status.error_code()) + " " + status.error_message());
    }
  }
  std::lock_guard<std::mutex> lock(totals->mu);
  totals->latencies_ms.insert(totals->latencies_ms.end(), latencies.begin(), latencies.end());
  totals->submitted.insert(totals->submitted.end(), submitted.begin(), submitted.end());
  totals->errors.insert(totals->errors.end(), errors.begin(), errors.end());
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t index =
      static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

int Usage(const std::string& message) {
  std::cerr << "gspo_control_plane_bench: " << message << "\n"
            << "usage: gspo_control_plane_bench --server ADDR --token-file F --spec job.yaml "
               "[--clients N] [--requests N] [--set FIELD=VALUE]...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string token_file;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return Usage(args[i] + " needs a value");
    const std::string& flag = args[i];
    const std::string& value = args[i + 1];
    if (flag == "--server")
      options.server = value;
    else if (flag == "--token-file")
      token_file = value;
    else if (flag == "--spec")
      options.spec_path = value;
    else if (flag == "--set")
      options.sets.push_back(value);
    else if (flag == "--clients")
      options.clients = std::atoi(value.c_str());
    else if (flag == "--requests")
      options.requests = std::atoi(value.c_str());
    else
      return Usage("unknown option '" + flag + "'");
  }
  if (options.server.empty() || token_file.empty() || options.spec_path.empty()) {
    return Usage("--server, --token-file and --spec are required");
  }
  if (options.clients < 1 || options.clients > 10000 || options.requests < 1) {
    return Usage("--clients must be 1..10000 and --requests at least 1");
  }
  auto token = gspo::common::ReadFileToString(token_file, 4096);
  auto spec = gspo::common::ReadFileToString(options.spec_path, 1 << 20);
  if (!token.ok()) return Usage(token.status().message());
  if (!spec.ok()) return Usage(spec.status().message());
  options.token = gspo::common::Trim(*token);
  options.spec = *spec;

  Totals totals;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < options.clients; ++c)
    threads.emplace_back(RunClient, std::cref(options), c, &totals);
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // Every acknowledged submission must be in the store.
  auto stub = gspo::v1::JobService::NewStub(
      grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + options.token);
  gspo::v1::ListJobsResponse listed;
  grpc::Status status = stub->ListJobs(&context, gspo::v1::ListJobsRequest(), &listed);
  std::set<std::string> present;
  for (const auto& job : listed.jobs()) present.insert(job.id());
  std::size_t lost = 0;
  for (const std::string& id : totals.submitted) lost += present.count(id) ? 0 : 1;
  const std::set<std::string> distinct(totals.submitted.begin(), totals.submitted.end());

  std::printf(
      "clients=%d requests_per_client=%d requests=%zu errors=%zu submitted=%zu distinct_ids=%zu "
      "lost=%zu list_ok=%d seconds=%.2f requests_per_second=%.0f p50_ms=%.2f p99_ms=%.2f "
      "max_ms=%.2f\n",
      options.clients, options.requests, totals.latencies_ms.size(), totals.errors.size(),
      totals.submitted.size(), distinct.size(), lost, status.ok() ? 1 : 0, seconds,
      static_cast<double>(totals.latencies_ms.size()) / seconds,
      Percentile(totals.latencies_ms, 0.50), Percentile(totals.latencies_ms, 0.99),
      Percentile(totals.latencies_ms, 1.0));
  for (std::size_t i = 0; i < std::min<std::size_t>(totals.errors.size(), 5); ++i) {
    std::printf("error: %s\n", totals.errors[i].c_str());
  }
  const bool ok = totals.errors.empty() && lost == 0 && status.ok() &&
                  distinct.size() == totals.submitted.size();
  return ok ? 0 : 1;
}
