#include "tests/integration/cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/files.h"

namespace gspo::testing {

std::vector<int> FreePorts(int count) {
  std::vector<int> fds, ports;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    fds.push_back(fd);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      break;
    }
    ports.push_back(ntohs(address.sin_port));
  }
  for (const int fd : fds) ::close(fd);
  ports.resize(count, 0);  // 0 makes the server's bind fail loudly rather than collide
  return ports;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

Cluster::Cluster() : Cluster(FreePorts(2)) {}

Cluster::Cluster(const std::vector<int>& ports) : port_(ports[0]), metrics_port_(ports[1]) {
  (void)common::WriteFileAtomically(client_token_file(), "client-token-0123456789abcdef\n");
  (void)common::WriteFileAtomically(worker_token_file(), "worker-token-0123456789abcdef\n");
  (void)common::MakeDirectories(output_root());
}

Cluster::~Cluster() {
  for (auto& [name, process] : processes_) process->Kill(std::chrono::milliseconds(3000));
}

void Cluster::Spawn(const std::string& name, const std::vector<std::string>& argv) {
  worker::RankCommand command;
  command.argv = argv;
  command.work_dir = dir_.Join("proc/" + name + "-" + std::to_string(++generation_));
  auto process = worker::RankProcess::Start(command);
  if (!process.ok()) {
    ADD_FAILURE() << process.status();
    return;
  }
  log_files_.push_back((*process)->log_path());
  processes_[name] = std::move(*process);
}

int Cluster::Stop(const std::string& name, int signal_number) {
  auto it = processes_.find(name);
  if (it == processes_.end()) return -1;
  ::kill(it->second->pid(), signal_number);
  WaitUntil([&] { return it->second->Poll().has_value(); }, std::chrono::seconds(60));
  const int code = it->second->Poll().value_or(-1);
  processes_.erase(it);
  return code;
}

void Cluster::UseTls(const std::string& cert_file, const std::string& key_file,
                     const std::string& ca_file) {
  tls_server_args_ = {"--tls-cert", cert_file, "--tls-key", key_file};
  tls_ca_file_ = ca_file;
}

void Cluster::StartServer() {
  std::vector<std::string> argv = {kBinDir + "/gspo-server",
                                   "--listen",
                                   address(),
                                   "--metrics-listen",
                                   "127.0.0.1:" + std::to_string(metrics_port_),
                                   "--state-dir",
                                   dir_.Join("state"),
                                   "--client-token-file",
                                   client_token_file(),
                                   "--worker-token-file",
                                   worker_token_file(),
                                   "--output-root",
                                   output_root(),
                                   "--heartbeat-interval-ms",
                                   "300",
                                   "--heartbeat-timeout-ms",
                                   "3000"};
  argv.insert(argv.end(), tls_server_args_.begin(), tls_server_args_.end());
  Spawn("server", argv);
  const bool up = WaitUntil([&] { return Ctl("list", false).exit_code == 0 || !ServerRunning(); },
                            std::chrono::seconds(60));
  if (!up || !ServerRunning()) ADD_FAILURE() << "gspo-server did not come up\n" << Logs();
}

bool Cluster::ServerRunning() {
  auto it = processes_.find("server");
  return it != processes_.end() && !it->second->Poll().has_value();
}

int Cluster::KillServer(int signal_number) { return Stop("server", signal_number); }

void Cluster::StartWorker(const std::string& id, const std::string& devices,
                          const std::string& gspo_binary) {
  std::vector<std::string> argv = {kBinDir + "/gspo-worker",
                                   "--coordinator",
                                   address(),
                                   "--token-file",
                                   worker_token_file(),
                                   "--devices",
                                   devices,
                                   "--work-root",
                                   dir_.Join("work-" + id),
                                   "--worker-id",
                                   id,
                                   "--gspo-binary",
                                   gspo_binary};
  if (!tls_ca_file_.empty()) argv.insert(argv.end(), {"--tls-ca", tls_ca_file_});
  Spawn("worker-" + id, argv);
}

void Cluster::KillWorker(const std::string& id, int signal_number) {
  Stop("worker-" + id, signal_number);
}

// gspoctl runs from the repository root, as a user submitting examples/jobs/... would, so the
// job's relative model path resolves.
CommandResult Cluster::CtlWithToken(const std::string& args, const std::string& token_file) const {
  std::string command = "cd " + ShellQuote(kSourceDir) + " && " + ShellQuote(kBinDir + "/gspoctl") +
                        " --server " + address();
  if (!token_file.empty()) command += " --token-file " + ShellQuote(token_file);
  if (!tls_ca_file_.empty()) command += " --tls-ca " + ShellQuote(tls_ca_file_);
  return RunShellCommand(command + " " + args + " 2>&1");
}

CommandResult Cluster::Ctl(const std::string& args, bool with_stderr) const {
  return RunShellCommand("cd " + ShellQuote(kSourceDir) + " && " +
                         ShellQuote(kBinDir + "/gspoctl") + " --server " + address() +
                         " --token-file " + ShellQuote(client_token_file()) +
                         (tls_ca_file_.empty() ? "" : " --tls-ca " + ShellQuote(tls_ca_file_)) +
                         " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

common::Json Cluster::Status(const std::string& job_id) const {
  CommandResult r = Ctl("status " + ShellQuote(job_id) + " -o json", false);
  if (r.exit_code != 0) return common::Json();
  auto json = common::ParseJson(r.output, "status");
  return json.ok() ? *json : common::Json();
}

std::string Cluster::State(const std::string& job_id) const {
  common::Json status = Status(job_id);
  const common::Json* state = status.Find("state");
  return state != nullptr ? state->AsString() : "";
}

std::string Cluster::SubmitTiny(const std::string& output_name,
                                const std::vector<std::string>& sets) {
  std::string args = "submit " + ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml") +
                     " -o json --set output.output_dir=" +
                     ShellQuote(common::JoinPath(output_root(), output_name));
  for (const std::string& s : sets) args += " --set " + ShellQuote(s);
  CommandResult r = Ctl(args, false);
  auto json = common::ParseJson(r.output, "submit");
  if (r.exit_code != 0 || !json.ok() || json->Find("id") == nullptr) {
    ADD_FAILURE() << "submit failed (" << r.exit_code << "): " << r.output << "\n" << Logs();
    return "";
  }
  return json->Find("id")->AsString();
}

std::string Cluster::Logs() const {
  std::string text;
  for (const std::string& path : log_files_) {
    text += "---- " + path + "\n";
    auto contents = common::ReadFileToString(path, 1 << 20);
    text += contents.ok() ? contents->substr(contents->size() > 8000 ? contents->size() - 8000 : 0)
                          : contents.status().message();
  }
  return text;
}

}  // namespace gspo::testing
