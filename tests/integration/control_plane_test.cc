// The control plane without training: bad specs and bad tokens rejected with nothing stored,
// many concurrent clients, Prometheus scraping /metrics, and a Python grpcio client. Real
// gspo-server and gspoctl processes over loopback.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "common/files.h"
#include "common/strings.h"
#include "gspo/v1/coordinator.grpc.pb.h"
#include "tests/integration/cluster.h"

namespace gspo::testing {
namespace {

using ::testing::HasSubstr;

std::string ExpectLine(const std::string& path) {
  auto text = common::ReadFileToString(path, 1 << 20);
  if (!text.ok()) return "";
  const std::string prefix = "# expect: ";
  if (!common::StartsWith(*text, prefix)) return "";
  return text->substr(prefix.size(), text->find('\n') - prefix.size());
}

std::size_t JobCount(const Cluster& cluster) {
  CommandResult list = cluster.Ctl("list -o json", false);
  auto jobs = common::ParseJson(list.output, "list");
  EXPECT_TRUE(jobs.ok()) << list.output;
  return jobs.ok() ? jobs->size() : 0;
}

TEST(ControlPlane, BadSpecsAreRejectedAtSubmitWithTheFieldNamedAndNothingStored) {
  Cluster cluster;
  cluster.StartServer();
  int kinds = 0;
  for (const char* folder : {"tests/data/bad_jobs", "tests/data/bad_submissions"}) {
    const std::string dir = kSourceDir + "/" + folder;
    const auto names = common::ListDirectory(dir);
    ASSERT_TRUE(names.ok()) << names.status();
    for (const std::string& name : *names) {
      const std::string path = dir + "/" + name;
      const std::string expect = ExpectLine(path);
      ASSERT_FALSE(expect.empty()) << path << " has no '# expect:' first line";
      CommandResult r = cluster.Ctl("submit " + ShellQuote(path));
      EXPECT_EQ(r.exit_code, 2) << path << ": " << r.output;
      EXPECT_THAT(r.output, HasSubstr(expect)) << path;
      ++kinds;
    }
  }
  // Request-level limits: the spec's size and the number of overrides.
  const std::string big = cluster.root() + "/big.yaml";
  ASSERT_TRUE(
      common::WriteFileAtomically(big, "name: big\n" + std::string(2 << 20, '#') + "\n").ok());
  CommandResult r = cluster.Ctl("submit " + ShellQuote(big));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("the limit is 1 MiB"));
  ++kinds;
  std::string sets;
  for (int i = 0; i < 65; ++i) sets += " --set name=x";
  r = cluster.Ctl("submit " + ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml") + sets);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("set: 65 overrides; the limit is 64"));
  ++kinds;
  EXPECT_GE(kinds, 30);

  EXPECT_EQ(JobCount(cluster), 0u);
  EXPECT_TRUE(cluster.ServerRunning());
  // Still healthy: a good spec goes through.
  EXPECT_EQ(cluster.SubmitTiny("good", {}), "job-000001");
  EXPECT_EQ(JobCount(cluster), 1u);
}

// The reference guide's command line through the daemon: gspoctl submit takes its flags with no
// job file, a flag's value arrives exactly as typed, and a malformed flag exits 2.
TEST(ControlPlane, SubmitTakesTheGuidesFlags) {
  Cluster cluster;
  cluster.StartServer();
  const std::string out_dir = cluster.output_root() + "/guide: \"run\"";
  CommandResult r = cluster.Ctl("submit --model " + ShellQuote(kSourceDir + "/examples/models/tiny-chat") +
                                    " --task customer_service --use-lora --output-dir " + ShellQuote(out_dir) +
                                    " --set training.num_outer_iterations=6 -o json",
                                false);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto json = common::ParseJson(r.output, "submit");
  ASSERT_TRUE(json.ok()) << json.status() << "\n" << r.output;
  EXPECT_EQ(json->Find("output_dir")->AsString(), out_dir);
  EXPECT_EQ(json->Find("total_steps")->AsDouble(), 6);
  EXPECT_EQ(JobCount(cluster), 1u);

  r = cluster.Ctl("submit --model=");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--model needs a non-empty value"));
  r = cluster.Ctl("submit --use-4bit=yes " + ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--use-4bit takes no value"));
  EXPECT_EQ(JobCount(cluster), 1u);
}

TEST(ControlPlane, ServerCheckJobValidatesLikeSubmit) {
  const std::string server = ShellQuote(kBinDir + "/gspo-server");
  CommandResult good = RunShellCommand(
      server + " --check-job " + ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml") + " 2>&1");
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_THAT(good.output, HasSubstr("valid (tiny-cpu"));
  const std::string bad = kSourceDir + "/tests/data/bad_jobs/zero_gpus.yaml";
  CommandResult r = RunShellCommand(server + " --check-job " + ShellQuote(bad) + " 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr(ExpectLine(bad)));
  CommandResult usage = RunShellCommand(server + " --listen 2>&1");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.output, HasSubstr("--listen needs a value"));
}

grpc::Status RegisterWith(const Cluster& cluster, const std::string& token) {
  auto stub = v1::WorkerService::NewStub(
      grpc::CreateChannel(cluster.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  v1::RegisterWorkerRequest request;
  request.set_worker_id("intruder");
  request.add_devices("cpu:0");
  v1::RegisterWorkerResponse response;
  return stub->RegisterWorker(&context, request, &response);
}

TEST(ControlPlane, EachServiceTakesOnlyItsOwnToken) {
  Cluster cluster;
  cluster.StartServer();
  const std::string tiny = ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml") +
                           " --set output.output_dir=" + ShellQuote(cluster.output_root() + "/x");
  const std::string wrong = cluster.root() + "/wrong.token";
  ASSERT_TRUE(common::WriteFileAtomically(wrong, "not-the-token-0123456789\n").ok());

  for (const std::string& token_file : {std::string(), wrong, cluster.worker_token_file()}) {
    for (const std::string& command :
         {"submit " + tiny, std::string("list"), std::string("status job-000001"),
          std::string("cancel job-000001"), std::string("workers")}) {
      CommandResult r = cluster.CtlWithToken(command, token_file);
      EXPECT_EQ(r.exit_code, 1) << command << " with '" << token_file << "': " << r.output;
      EXPECT_THAT(r.output, HasSubstr("UNAUTHENTICATED")) << command;
    }
  }
  // The client token cannot act as a worker; neither can no token.
  EXPECT_EQ(RegisterWith(cluster, "client-token-0123456789abcdef").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(RegisterWith(cluster, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Nothing changed.
  EXPECT_EQ(JobCount(cluster), 0u);
  EXPECT_EQ(cluster.Ctl("workers -o json", false).output, "[]\n");
  // The right tokens work.
  EXPECT_EQ(RegisterWith(cluster, "worker-token-0123456789abcdef").error_code(),
            grpc::StatusCode::OK);
  EXPECT_THAT(cluster.Ctl("workers -o json", false).output,
              HasSubstr("\"worker_id\":\"intruder\""));
  EXPECT_EQ(cluster.Ctl("submit " + tiny).exit_code, 0);
  EXPECT_EQ(JobCount(cluster), 1u);
}

TEST(ControlPlane, ManyConcurrentClientsGetNoErrorAndLoseNoJob) {
  Cluster cluster;
  cluster.StartServer();
  CommandResult r = RunShellCommand(
      "cd " + ShellQuote(kSourceDir) + " && " + ShellQuote(kBinDir + "/gspo_control_plane_bench") +
      " --server " + cluster.address() + " --token-file " +
      ShellQuote(cluster.client_token_file()) + " --spec " +
      ShellQuote(kSourceDir + "/examples/jobs/tiny-cpu.yaml") + " --set output.output_dir=" +
      ShellQuote(cluster.output_root() + "/bench") + " --clients 200 --requests 20 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output << cluster.Logs();
  EXPECT_THAT(r.output,
              HasSubstr("requests=4000 errors=0 submitted=1000 distinct_ids=1000 lost=0"));
  EXPECT_EQ(JobCount(cluster), 1000u);
}

TEST(ControlPlane, SigtermStopsTheServerCleanlyAndJobsSurvive) {
  Cluster cluster;
  cluster.StartServer();
  ASSERT_EQ(cluster.SubmitTiny("kept", {}), "job-000001");
  EXPECT_EQ(cluster.KillServer(SIGTERM), 0);
  EXPECT_THAT(cluster.Logs(), HasSubstr("gspo-server stopped"));
  cluster.StartServer();
  EXPECT_EQ(cluster.State("job-000001"), "QUEUED");
  EXPECT_EQ(cluster.SubmitTiny("next", {}), "job-000002");

  // A second server on the same state directory refuses to start.
  CommandResult second =
      RunShellCommand(ShellQuote(kBinDir + "/gspo-server") + " --listen 127.0.0.1:0 --state-dir " +
                      ShellQuote(cluster.root() + "/state") + " --client-token-file " +
                      ShellQuote(cluster.client_token_file()) + " --worker-token-file " +
                      ShellQuote(cluster.worker_token_file()) + " 2>&1");
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.output, HasSubstr("is in use by another gspo-server"));
  EXPECT_EQ(cluster.State("job-000002"), "QUEUED");
}

TEST(ControlPlane, TlsServesClientsAndWorkersThatTrustItsCertificate) {
  Cluster cluster;
  const std::string cert = cluster.root() + "/server.pem";
  const std::string key = cluster.root() + "/server.key";
  CommandResult made = RunShellCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext "
      "'subjectAltName=IP:127.0.0.1,DNS:localhost' -keyout " +
      ShellQuote(key) + " -out " + ShellQuote(cert) + " 2>&1");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  cluster.UseTls(cert, key, cert);
  cluster.StartServer();
  // The worker's stand-in for `gspo` is /bin/false: the job fails, which shows the assignment
  // and the result travelled over TLS both ways.
  cluster.StartWorker("w1", "cpu", "/bin/false");
  ASSERT_TRUE(WaitUntil(
      [&] { return cluster.Ctl("workers", false).output.find("w1") != std::string::npos; },
      std::chrono::seconds(60)))
      << cluster.Logs();
  EXPECT_EQ(cluster.SubmitTiny("tls", {}), "job-000001");
  EXPECT_TRUE(
      WaitUntil([&] { return cluster.State("job-000001") == "FAILED"; }, std::chrono::seconds(60)))
      << cluster.Logs();
  EXPECT_THAT(cluster.Status("job-000001").Find("reason")->AsString(),
              HasSubstr("rank 0 exited with code 1"));
  // A plaintext client gets nowhere.
  CommandResult plain =
      RunShellCommand(ShellQuote(kBinDir + "/gspoctl") + " --server " + cluster.address() +
                      " --token-file " + ShellQuote(cluster.client_token_file()) + " list 2>&1");
  EXPECT_EQ(plain.exit_code, 1) << plain.output;
  EXPECT_THAT(plain.output, HasSubstr("UNAVAILABLE"));
  CommandResult missing_key = RunShellCommand(
      ShellQuote(kBinDir + "/gspo-server") + " --listen 127.0.0.1:0 --state-dir " +
      ShellQuote(cluster.root() + "/other") + " --client-token-file " +
      ShellQuote(cluster.client_token_file()) + " --worker-token-file " +
      ShellQuote(cluster.worker_token_file()) + " --tls-cert " + ShellQuote(cert) + " 2>&1");
  EXPECT_EQ(missing_key.exit_code, 2);
  EXPECT_THAT(missing_key.output, HasSubstr("--tls-cert and --tls-key: give both or neither"));
}

TEST(ControlPlane, GangSchedulesTheRanksOfAJobOnTwoWorkers) {
  Cluster cluster;
  cluster.StartServer();
  const std::string fake = kSourceDir + "/tests/integration/fake_gspo.sh";
  cluster.StartWorker("w1", "cpu", fake);
  // Two ranks need two slots: the job waits in the queue until the second worker joins.
  const std::string id = cluster.SubmitTiny("gang", {"resources.gpus=2"});
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(cluster.State(id), "QUEUED");
  cluster.StartWorker("w2", "cpu", fake);
  CommandResult watch = cluster.Ctl("watch " + id);
  EXPECT_EQ(watch.exit_code, 0) << watch.output << cluster.Logs();
  EXPECT_THAT(watch.output, HasSubstr("step 2/6  reward 0.5000  loss 0.2000"));
  EXPECT_THAT(watch.output, HasSubstr(id + " SUCCEEDED"));
  // Each worker ran one rank, in its own work directory, with the world size of the job.
  for (const char* worker : {"w1", "w2"}) {
    bool found = false;
    for (int rank = 0; rank < 2; ++rank) {
      auto log =
          common::ReadFileToString(cluster.root() + "/work-" + worker + "/jobs/" + id +
                                       "/attempt-1/rank-" + std::to_string(rank) + "/rank.log",
                                   4096);
      if (!log.ok()) continue;
      found = true;
      EXPECT_THAT(*log, HasSubstr("rank " + std::to_string(rank) + " of 2 for " + id +
                                  ", CUDA_VISIBLE_DEVICES=''"));
    }
    EXPECT_TRUE(found) << worker << " ran no rank\n" << cluster.Logs();
  }
}

TEST(ControlPlane, PrometheusScrapesJobMetrics) {
  Cluster cluster;
  cluster.StartServer();
  ASSERT_EQ(cluster.SubmitTiny("scraped", {}), "job-000001");
  const std::string metrics_url =
      "http://127.0.0.1:" + std::to_string(cluster.metrics_port()) + "/metrics";

  CommandResult check =
      RunShellCommand("curl -sf " + metrics_url + " | promtool check metrics 2>&1");
  EXPECT_EQ(check.exit_code, 0) << check.output;
  CommandResult scraped = RunShellCommand("curl -sf " + metrics_url);
  EXPECT_THAT(scraped.output, HasSubstr("gspo_jobs{state=\"QUEUED\"} 1\n"));
  EXPECT_THAT(scraped.output,
              HasSubstr("gspo_job_step{job_id=\"job-000001\",name=\"tiny-cpu\"} 0\n"));
  EXPECT_THAT(
      scraped.output,
      HasSubstr("gspo_rpc_requests_total{method=\"JobService/SubmitJob\",code=\"OK\"} 1\n"));

  const int web_port = FreePort();
  const std::string config = cluster.root() + "/prometheus.yml";
  ASSERT_TRUE(common::WriteFileAtomically(
                  config,
                  "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gspo\n"
                  "    static_configs:\n      - targets: ['127.0.0.1:" +
                      std::to_string(cluster.metrics_port()) + "']\n")
                  .ok());
  worker::RankCommand command;
  command.argv = {"/usr/bin/prometheus", "--config.file=" + config,
                  "--storage.tsdb.path=" + cluster.root() + "/tsdb",
                  "--web.listen-address=127.0.0.1:" + std::to_string(web_port)};
  command.work_dir = cluster.root() + "/prometheus";
  auto prometheus = worker::RankProcess::Start(command);
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  const std::string query = "curl -sf 'http://127.0.0.1:" + std::to_string(web_port) +
                            "/api/v1/query?query=gspo_job_step%7Bjob_id%3D%22job-000001%22%7D'";
  CommandResult answer;
  const bool found = WaitUntil(
      [&] {
        answer = RunShellCommand(query);
        return answer.output.find("\"job_id\":\"job-000001\"") != std::string::npos;
      },
      std::chrono::seconds(120));
  EXPECT_TRUE(found) << answer.output << "\n"
                     << common::ReadFileToString((*prometheus)->log_path(), 1 << 20).value_or("");
  EXPECT_THAT(answer.output, HasSubstr("\"status\":\"success\""));
  EXPECT_THAT(answer.output, HasSubstr("\"__name__\":\"gspo_job_step\""));
  (*prometheus)->Kill(std::chrono::milliseconds(5000));
}

TEST(ControlPlane, PythonGrpcioClientListsJobsAndHealthAndReflectionAnswer) {
  Cluster cluster;
  cluster.StartServer();
  ASSERT_EQ(cluster.SubmitTiny("from-python", {}), "job-000001");
  const std::string out = cluster.root() + "/py";
  ASSERT_TRUE(common::MakeDirectories(out).ok());
  // Messages from Debian's protoc; the two calls through grpcio's generic channel methods.
  CommandResult gen =
      RunShellCommand("protoc --proto_path=" + ShellQuote(kSourceDir + "/proto") +
                      " --python_out=" + ShellQuote(out) + " gspo/v1/coordinator.proto 2>&1");
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  CommandResult r =
      RunShellCommand("PYTHONPATH=" + ShellQuote(out) + " /usr/bin/python3 " +
                      ShellQuote(kSourceDir + "/tests/integration/list_jobs.py") + " " +
                      cluster.address() + " " + ShellQuote(cluster.client_token_file()) + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "job-000001 tiny-cpu JOB_STATE_QUEUED\n"
            "health: SERVING\n"
            "reflection: gspo.v1.JobService gspo.v1.WorkerService\n");
}

}  // namespace
}  // namespace gspo::testing
