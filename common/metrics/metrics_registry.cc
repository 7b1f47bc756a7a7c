#include "common/metrics/metrics_registry.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace gspo::common {
namespace {

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escapes only backslash and newline.
std::string EscapeHelp(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Header(std::ostringstream& os, const std::string& name, const std::string& help,
            MetricType type) {
  os << "# HELP " << name << " " << EscapeHelp(help) << "\n";
  os << "# TYPE " << name << " " << TypeName(type) << "\n";
}

MetricLabels With(MetricLabels labels, const std::string& key, const std::string& value) {
  labels.emplace_back(key, value);
  return labels;
}

}  // namespace

std::string FormatLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    }
    out += "\"";
  }
  return out + "}";
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  // The shortest of %.15g, %.16g, %.17g that reads back as the same double.
  char buffer[32];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", digits, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

void MetricsRegistry::Declare(const std::string& name, const std::string& help, MetricType type,
                              std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  if (families_.count(name)) return;
  families_[name] = Family{help, type, std::move(buckets), {}, {}};
  order_.push_back(name);
}

void MetricsRegistry::Add(const std::string& name, const MetricLabels& labels, double delta) {
  if (!(delta >= 0)) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.values[labels] += delta;
}

void MetricsRegistry::Set(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.values[labels] = value;
}

void MetricsRegistry::Observe(const std::string& name, const MetricLabels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != MetricType::kHistogram || std::isnan(value))
    return;
  Histogram& h = it->second.histograms[labels];
  const std::vector<double>& buckets = it->second.buckets;
  if (h.counts.empty()) h.counts.assign(buckets.size(), 0);
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (value <= buckets[i]) {
      ++h.counts[i];
      break;
    }
  }
  ++h.count;
  h.sum += value;
}

std::string MetricsRegistry::Render(const std::vector<ExtraFamily>& extra) const {
  std::ostringstream os;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& name : order_) {
      const Family& f = families_.at(name);
      Header(os, name, f.help, f.type);
      if (f.type != MetricType::kHistogram) {
        for (const auto& [labels, value] : f.values) {
          os << name << FormatLabels(labels) << " " << FormatMetricValue(value) << "\n";
        }
        continue;
      }
      for (const auto& [labels, h] : f.histograms) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < f.buckets.size(); ++i) {
          cumulative += h.counts[i];
          os << name << "_bucket"
             << FormatLabels(With(labels, "le", FormatMetricValue(f.buckets[i]))) << " "
             << cumulative << "\n";
        }
        os << name << "_bucket" << FormatLabels(With(labels, "le", "+Inf")) << " " << h.count
           << "\n";
        os << name << "_sum" << FormatLabels(labels) << " " << FormatMetricValue(h.sum) << "\n";
        os << name << "_count" << FormatLabels(labels) << " " << h.count << "\n";
      }
    }
  }
  for (const ExtraFamily& f : extra) {
    Header(os, f.name, f.help, f.type);
    for (const auto& [labels, value] : f.samples) {
      os << f.name << FormatLabels(labels) << " " << FormatMetricValue(value) << "\n";
    }
  }
  return os.str();
}

}  // namespace gspo::common
