// MetricsRegistry: counters, gauges and histograms with labels, rendered in the Prometheus text
// exposition format (version 0.0.4) for a /metrics endpoint.
//
// A family is declared once (name, help, type, histogram buckets); samples are then added by
// label values. Gauges that mirror some other state are better computed at scrape time and
// passed to Render as extra families (see ExtraFamily), so they never go stale.
// Thread-safe: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gspo::common {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram };

// One family computed by the caller at scrape time (gauges such as "jobs by state").
struct ExtraFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<std::pair<MetricLabels, double>> samples;
};

class MetricsRegistry {
 public:
  // Declaring a family twice keeps the first declaration.
  void Declare(const std::string& name, const std::string& help, MetricType type,
               std::vector<double> buckets = {});

  // Counters only grow; a negative `delta` is ignored. Undeclared names are ignored.
  void Add(const std::string& name, const MetricLabels& labels, double delta = 1);
  void Set(const std::string& name, const MetricLabels& labels, double value);
  void Observe(const std::string& name, const MetricLabels& labels, double value);

  // Every family, declared ones first, then `extra`, each with # HELP and # TYPE lines.
  std::string Render(const std::vector<ExtraFamily>& extra = {}) const;

 private:
  struct Histogram {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string help;
    MetricType type;
    std::vector<double> buckets;
    std::map<MetricLabels, double> values;
    std::map<MetricLabels, Histogram> histograms;
  };

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
  std::vector<std::string> order_;          // guarded by mu_: declaration order
};

// `{a="x",b="y"}` with values escaped as the format asks (\\, \", \n); "" for no labels.
std::string FormatLabels(const MetricLabels& labels);
// Sample values: integers without a fraction, "+Inf", "-Inf", "NaN" as the format spells them.
std::string FormatMetricValue(double value);

}  // namespace gspo::common
