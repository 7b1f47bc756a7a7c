// The Prometheus text format as MetricsRegistry writes it, checked against the format's rules
// by hand (cumulative buckets, +Inf, _sum/_count, label escaping), and the /metrics endpoint
// over a real socket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/metrics/http_endpoint.h"
#include "common/metrics/metrics_registry.h"
#include "tests/fakes/run_command.h"

namespace gspo::common {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistry, RendersCountersGaugesAndHistograms) {
  MetricsRegistry registry;
  registry.Declare("c_total", "A counter", MetricType::kCounter);
  registry.Declare("g", "A gauge\nwith a newline", MetricType::kGauge);
  registry.Declare("h_seconds", "A histogram", MetricType::kHistogram, {0.5, 1, 2.5});
  registry.Add("c_total", {{"method", "A/B"}, {"code", "OK"}});
  registry.Add("c_total", {{"method", "A/B"}, {"code", "OK"}}, 2);
  registry.Add("c_total", {{"method", "A/B"}, {"code", "OK"}}, -5);  // ignored
  registry.Set("g", {{"v", "quote\" back\\slash\nnl"}}, 0.1);
  registry.Observe("h_seconds", {}, 0.25);
  registry.Observe("h_seconds", {}, 1);
  registry.Observe("h_seconds", {}, 7);
  registry.Add("undeclared", {}, 1);

  EXPECT_EQ(registry.Render(),
            "# HELP c_total A counter\n"
            "# TYPE c_total counter\n"
            "c_total{method=\"A/B\",code=\"OK\"} 3\n"
            "# HELP g A gauge\\nwith a newline\n"
            "# TYPE g gauge\n"
            "g{v=\"quote\\\" back\\\\slash\\nnl\"} 0.1\n"
            "# HELP h_seconds A histogram\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"0.5\"} 1\n"
            "h_seconds_bucket{le=\"1\"} 2\n"
            "h_seconds_bucket{le=\"2.5\"} 2\n"
            "h_seconds_bucket{le=\"+Inf\"} 3\n"
            "h_seconds_sum 8.25\n"
            "h_seconds_count 3\n");
}

TEST(MetricsRegistry, ExtraFamiliesAndSpecialValues) {
  MetricsRegistry registry;
  ExtraFamily jobs{"jobs",
                   "Jobs by state",
                   MetricType::kGauge,
                   {{{{"state", "QUEUED"}}, 2}, {{{"state", "RUNNING"}}, 0}}};
  EXPECT_EQ(registry.Render({jobs}),
            "# HELP jobs Jobs by state\n# TYPE jobs gauge\njobs{state=\"QUEUED\"} 2\n"
            "jobs{state=\"RUNNING\"} 0\n");
  EXPECT_EQ(FormatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatMetricValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(FormatMetricValue(0.0025), "0.0025");
  EXPECT_EQ(FormatMetricValue(-42), "-42");
}

TEST(MetricsHttpEndpoint, ServesMetricsAndNothingElse) {
  auto endpoint = MetricsHttpEndpoint::Start("127.0.0.1:0", [] { return std::string("up 1\n"); });
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const std::string base = "http://127.0.0.1:" + std::to_string((*endpoint)->port());
  auto ok = gspo::testing::RunShellCommand("curl -s -i " + base + "/metrics");
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_THAT(ok.output, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(ok.output, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_THAT(ok.output, ::testing::EndsWith("\r\n\r\nup 1\n"));
  auto missing =
      gspo::testing::RunShellCommand("curl -s -o /dev/null -w '%{http_code}' " + base + "/other");
  EXPECT_EQ(missing.output, "404");
  auto post = gspo::testing::RunShellCommand("curl -s -o /dev/null -w '%{http_code}' -X POST " +
                                             base + "/metrics");
  EXPECT_EQ(post.output, "405");
  EXPECT_EQ(MetricsHttpEndpoint::Start("nonsense", [] { return std::string(); }).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gspo::common
