#include "worker/env/pack_decoder.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "common/config/spec_decoder.h"
#include "common/config/yaml_source.h"
#include "common/strings.h"
#include "worker/env/scenario_pack.h"

namespace gspo::env {
namespace {

using config::ConfigError;
using config::DescribeYamlValue;

// Decodes the node tree of a pack into scenarios, recording where each field was written.
// Collects errors instead of stopping at the first one.
class PackDecoder {
 public:
  explicit PackDecoder(std::string source) : source_(std::move(source)) {}

  const std::vector<ConfigError>& errors() const { return errors_; }

  const std::map<std::string, std::string>& where() const { return where_; }

  std::vector<Scenario> Decode(const YAML::Node& root, Scenario* defaults) {
    std::vector<Scenario> scenarios;
    if (!root.IsMap()) {
      Error(root, "",
            "expected a mapping with a 'scenarios' list at the top level, got " +
                DescribeYamlValue(root));
      return scenarios;
    }
    YAML::Node list;
    ForEachKey(root, "", PackKeys(),
               [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                 if (key == "task") {
                   Assign(String(value, path), &defaults->task);
                 } else if (key == "system_prompt") {
                   Assign(String(value, path), &defaults->system_prompt);
                 } else if (key == "max_turns") {
                   Assign(MaxTurns(value, path), &defaults->max_turns);
                 } else if (key == "scenarios") {
                   list = value;
                 }
               });
    if (!list.IsDefined() || list.IsNull()) {
      if (errors_.empty())
        errors_.push_back({source_, "scenarios", "required: a list of scenarios"});
      return scenarios;
    }
    if (!list.IsSequence()) {
      Error(list, "scenarios", "expected a list of scenarios, got " + DescribeYamlValue(list));
      return scenarios;
    }
    if (list.size() == 0) Error(list, "scenarios", "expected at least one scenario, got []");
    if (list.size() > kMaxScenarios) {
      Error(list, "scenarios",
            "expected at most " + std::to_string(kMaxScenarios) + " scenarios, got " +
                std::to_string(list.size()));
      return scenarios;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = "scenarios[" + std::to_string(i) + "]";
      const YAML::Node item = list[i];
      if (!item.IsMap()) {
        Error(item, path, "expected a mapping, got " + DescribeYamlValue(item));
        continue;
      }
      scenarios.push_back(DecodeScenario(item, path));
    }
    return scenarios;
  }

 private:
  template <typename T>
  static void Assign(std::optional<T> value, T* out) {
    if (value) *out = std::move(*value);
  }

  std::string At(const YAML::Node& node) const { return config::FormatMark(source_, node.Mark()); }

  void Error(const YAML::Node& node, const std::string& path, const std::string& message) {
    errors_.push_back({At(node), path, message});
  }

  // Calls `fn(key, value, path)` for each key of `map` that is one of `keys`; reports
  // non-scalar, duplicate and unknown keys.
  template <typename Fn>
  void ForEachKey(const YAML::Node& map, const std::string& prefix,
                  const std::vector<std::string>& keys, Fn fn) {
    std::map<std::string, int> first_line;
    for (const auto& pair : map) {
      const YAML::Node& key = pair.first;
      if (!key.IsScalar()) {
        Error(key, prefix, "expected a key name, got " + DescribeYamlValue(key));
        continue;
      }
      const std::string name = key.Scalar();
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      auto [seen, inserted] = first_line.emplace(name, key.Mark().line + 1);
      if (!inserted) {
        Error(key, path, "duplicate key (first set on line " + std::to_string(seen->second) + ")");
        continue;
      }
      if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
        if (name == "file" && &keys == &ScenarioKeys()) {
          Error(key, path,
                "a scenario pack cannot include other files; list each pack in "
                "environment.scenarios");
        } else if (auto close = common::ClosestMatch(name, keys)) {
          Error(key, path, "unknown key; did you mean '" + *close + "'?");
        } else {
          Error(key, path, "unknown key; expected one of: " + common::Join(keys, ", "));
        }
        continue;
      }
      if (pair.second.IsNull()) continue;  // `key:` or `key: null` leaves the field unset
      where_[path] = At(pair.second);
      fn(name, pair.second, path);
    }
  }

  std::optional<std::string> String(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) return node.Scalar();
    Error(node, path, "expected a string, got " + DescribeYamlValue(node));
    return std::nullopt;
  }

  std::optional<int> Integer(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar() && node.Tag() == "?") {
      std::string text = node.Scalar();
      if (!text.empty() && text[0] == '+') text.erase(0, 1);
      int value = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (!text.empty() && ptr == text.data() + text.size() && ec == std::errc()) return value;
      if (ec == std::errc::result_out_of_range) {
        Error(node, path, "integer " + common::QuoteForMessage(node.Scalar()) + " is out of range");
        return std::nullopt;
      }
    }
    Error(node, path, "expected an integer, got " + DescribeYamlValue(node));
    return std::nullopt;
  }

  // An integer in [kMinMaxTurns, kMaxMaxTurns]; 0 means "not set" in Scenario, so it is
  // rejected here rather than silently taken as the default.
  std::optional<int> MaxTurns(const YAML::Node& node, const std::string& path) {
    std::optional<int> value = Integer(node, path);
    if (value && (*value < kMinMaxTurns || *value > kMaxMaxTurns)) {
      Error(node, path,
            "expected an integer between " + std::to_string(kMinMaxTurns) + " and " +
                std::to_string(kMaxMaxTurns) + ", got " + std::to_string(*value));
      return std::nullopt;
    }
    return value;
  }

  std::optional<bool> Bool(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar() && node.Tag() == "?") {
      const std::string& t = node.Scalar();
      if (t == "true" || t == "True" || t == "TRUE") return true;
      if (t == "false" || t == "False" || t == "FALSE") return false;
    }
    Error(node, path, "expected true or false, got " + DescribeYamlValue(node));
    return std::nullopt;
  }

  std::vector<std::string> StringList(const YAML::Node& node, const std::string& path) {
    std::vector<std::string> out;
    if (!node.IsSequence()) {
      Error(node, path, "expected a list of strings, got " + DescribeYamlValue(node));
      return out;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string child = path + "[" + std::to_string(i) + "]";
      if (!node[i].IsScalar()) {
        Error(node[i], child, "expected a string, got " + DescribeYamlValue(node[i]));
        continue;
      }
      where_[child] = At(node[i]);
      out.push_back(node[i].Scalar());
    }
    return out;
  }

  std::map<std::string, std::string> Facts(const YAML::Node& node, const std::string& path) {
    std::map<std::string, std::string> facts;
    if (!node.IsMap()) {
      Error(node, path, "expected a mapping of strings, got " + DescribeYamlValue(node));
      return facts;
    }
    std::map<std::string, int> first_line;
    for (const auto& pair : node) {
      if (!pair.first.IsScalar()) {
        Error(pair.first, path, "expected a fact name, got " + DescribeYamlValue(pair.first));
        continue;
      }
      const std::string child = path + "." + pair.first.Scalar();
      auto [seen, inserted] = first_line.emplace(pair.first.Scalar(), pair.first.Mark().line + 1);
      if (!inserted) {
        Error(pair.first, child,
              "duplicate key (first set on line " + std::to_string(seen->second) + ")");
        continue;
      }
      if (!pair.second.IsScalar()) {
        Error(pair.second, child, "expected a string, got " + DescribeYamlValue(pair.second));
        continue;
      }
      where_[child] = At(pair.first);
      facts[pair.first.Scalar()] = pair.second.Scalar();
    }
    return facts;
  }

  ReplyRule DecodeRule(const YAML::Node& node, const std::string& path) {
    ReplyRule rule;
    ForEachKey(node, path, ReplyRuleKeys(),
               [&](const std::string& key, const YAML::Node& value, const std::string& child) {
                 if (key == "when_agent_says") {
                   rule.when_agent_says = StringList(value, child);
                 } else if (key == "reply") {
                   Assign(String(value, child), &rule.reply);
                 } else if (key == "end") {
                   Assign(Bool(value, child), &rule.end);
                 }
               });
    return rule;
  }

  Scenario DecodeScenario(const YAML::Node& node, const std::string& path) {
    Scenario s;
    s.origin = At(node);
    where_[path] = s.origin;
    ForEachKey(node, path, ScenarioKeys(),
               [&](const std::string& key, const YAML::Node& value, const std::string& child) {
                 if (key == "id") Assign(String(value, child), &s.id);
                 if (key == "task") Assign(String(value, child), &s.task);
                 if (key == "system_prompt") Assign(String(value, child), &s.system_prompt);
                 if (key == "opening_message") Assign(String(value, child), &s.opening_message);
                 if (key == "persona") Assign(String(value, child), &s.persona);
                 if (key == "reference") Assign(String(value, child), &s.reference);
                 if (key == "max_turns") Assign(MaxTurns(value, child), &s.max_turns);
                 if (key == "facts") s.facts = Facts(value, child);
                 if (key == "resolution") s.resolution = StringList(value, child);
                 if (key == "forbidden") s.forbidden = StringList(value, child);
                 if (key == "user_replies") s.user_replies = StringList(value, child);
                 if (key == "reply_rules") DecodeRules(value, child, &s.reply_rules);
               });
    return s;
  }

  void DecodeRules(const YAML::Node& node, const std::string& path, std::vector<ReplyRule>* out) {
    if (!node.IsSequence()) {
      Error(node, path, "expected a list of reply rules, got " + DescribeYamlValue(node));
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string child = path + "[" + std::to_string(i) + "]";
      if (!node[i].IsMap()) {
        Error(node[i], child,
              "expected a mapping {when_agent_says: [...], reply: ...}, got " +
                  DescribeYamlValue(node[i]));
        continue;
      }
      where_[child] = At(node[i]);
      out->push_back(DecodeRule(node[i], child));
    }
  }

  std::string source_;
  std::map<std::string, std::string> where_;
  std::vector<ConfigError> errors_;
};

}  // namespace

std::string DecodedPack::Where(const std::string& path) const {
  std::string probe = path;
  while (!probe.empty()) {
    auto it = where.find(probe);
    if (it != where.end()) return it->second;
    const std::size_t cut = probe.find_last_of(".[");
    if (cut == std::string::npos) break;
    probe.resize(cut);
  }
  return source;
}

DecodedPack DecodePack(const std::string& source, const YAML::Node& root) {
  PackDecoder decoder(source);
  DecodedPack pack;
  pack.source = source;
  pack.scenarios = decoder.Decode(root, &pack.defaults);
  pack.errors = decoder.errors();
  pack.where = decoder.where();
  return pack;
}

}  // namespace gspo::env
