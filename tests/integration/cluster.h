// Cluster: a coordinator and workers as real processes on loopback, for the integration tests,
// and gspoctl run as a user runs it.
//
// Everything lives under one ScopedTempDir: tokens, the state directory, work roots, job
// outputs and each process's log (dumped on failure by the tests). Processes die with the test
// binary (PR_SET_PDEATHSIG). Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/fakes/run_command.h"
#include "tests/fakes/temp_dir.h"
#include "worker/agent/rank_process.h"

namespace gspo::testing {

inline const std::string kSourceDir = GSPO_SOURCE_DIR;
inline const std::string kBinDir = std::string(GSPO_BINARY_DIR) + "/bin";

// `count` distinct TCP ports nothing listens on right now: each bound to port 0, all released
// together once every one is chosen (one bind at a time can be handed the same port twice).
std::vector<int> FreePorts(int count);
inline int FreePort() { return FreePorts(1).front(); }

// Polls `done` every 100 ms until it is true or `limit` passes; returns its last value. The
// limit only keeps a broken build from hanging; no test asserts on how long anything takes.
bool WaitUntil(const std::function<bool()>& done,
               std::chrono::seconds limit = std::chrono::seconds(300));

class Cluster {
 public:
  Cluster();
  ~Cluster();

  const std::string& root() const { return dir_.path(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  std::string client_token_file() const { return dir_.Join("client.token"); }
  std::string worker_token_file() const { return dir_.Join("worker.token"); }
  // Where jobs may write (the server's --output-root).
  std::string output_root() const { return dir_.Join("outputs"); }

  // Serve TLS from now on: the server gets the key pair, gspoctl and workers trust `ca_file`.
  void UseTls(const std::string& cert_file, const std::string& key_file,
              const std::string& ca_file);
  // Starts gspo-server (same ports and state every time) and waits until it answers.
  void StartServer();
  // Sends the signal, waits for the exit and returns the exit code (128 + signal when killed).
  int KillServer(int signal_number);
  bool ServerRunning();
  // `gspo_binary`: what the worker runs for a rank; tests that train nothing pass a stand-in, so
  // they also run in the build without LibTorch (which has no `gspo`).
  void StartWorker(const std::string& id, const std::string& devices = "cpu",
                   const std::string& gspo_binary = kBinDir + "/gspo");
  void KillWorker(const std::string& id, int signal_number);

  // gspoctl with this cluster's server and client token; stderr goes to the output too when
  // `with_stderr`.
  CommandResult Ctl(const std::string& args, bool with_stderr = true) const;
  // gspoctl with a token file of the caller's choice ("" for none).
  CommandResult CtlWithToken(const std::string& args, const std::string& token_file) const;
  // `gspoctl status JOB -o json`, parsed (a null Json when the call failed).
  common::Json Status(const std::string& job_id) const;
  std::string State(const std::string& job_id) const;
  // Submits tiny-cpu.yaml with these --set overrides (output under output_root()/NAME);
  // returns the job id.
  std::string SubmitTiny(const std::string& output_name, const std::vector<std::string>& sets);

  // The logs of every process so far, for failure messages.
  std::string Logs() const;

 private:
  explicit Cluster(const std::vector<int>& ports);  // gRPC, metrics
  void Spawn(const std::string& name, const std::vector<std::string>& argv);
  int Stop(const std::string& name, int signal_number);

  ScopedTempDir dir_;
  int port_;
  int metrics_port_;
  int generation_ = 0;
  std::vector<std::string> tls_server_args_;
  std::string tls_ca_file_;  // server restarts, so each run logs to its own file
  std::map<std::string, std::unique_ptr<worker::RankProcess>> processes_;
  std::vector<std::string> log_files_;
};

}  // namespace gspo::testing
