// gspo-server --config: a YAML file of the flags' settings, with precise errors.
#include "server/server_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "tests/fakes/temp_dir.h"

namespace gspo::server {
namespace {

using ::testing::ElementsAre;

common::StatusOr<std::vector<std::string>> FlagsOf(const std::string& text) {
  gspo::testing::ScopedTempDir dir;
  const std::string path = dir.Join("server.yaml");
  EXPECT_TRUE(common::WriteFileAtomically(path, text).ok());
  auto flags = ServerConfigFlags(path);
  if (!flags.ok()) {
    // Errors name the file; keep the rest for comparison.
    const std::string message(flags.status().message());
    return common::InvalidArgumentError(message.substr(message.find("server.yaml")));
  }
  return flags;
}

TEST(ServerConfig, SettingsBecomeFlagsInFileOrder) {
  auto flags = FlagsOf("listen: 0.0.0.0:50051\nstate-dir: /var/lib/gspo\nheartbeat-interval-ms: 500\n");
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_THAT(*flags, ElementsAre("--listen", "0.0.0.0:50051", "--state-dir", "/var/lib/gspo",
                                  "--heartbeat-interval-ms", "500"));
}

TEST(ServerConfig, ErrorsNameTheLineAndTheSetting) {
  EXPECT_EQ(FlagsOf("listen: a:1\nstate-dri: /x\n").status().message(),
            "server.yaml:2:1: state-dri: unknown setting; did you mean 'state-dir'? (expected one of "
            "listen, metrics-listen, state-dir, client-token-file, worker-token-file, tls-cert, tls-key, "
            "output-root, heartbeat-interval-ms, heartbeat-timeout-ms)");
  EXPECT_EQ(FlagsOf("listen: [a, b]\n").status().message(), "server.yaml:1:9: listen: expected a single value");
  EXPECT_EQ(FlagsOf("listen: a\nlisten: b\n").status().message(), "server.yaml:2:1: listen: given twice");
  EXPECT_EQ(FlagsOf("- listen\n").status().message(),
            "server.yaml: expected a mapping of settings, e.g. 'listen: 0.0.0.0:50051'");
  EXPECT_THAT(std::string(FlagsOf("listen: [a\n").status().message()), ::testing::StartsWith("server.yaml:"));
}

}  // namespace
}  // namespace gspo::server
