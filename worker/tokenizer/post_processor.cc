#include "worker/tokenizer/post_processor.h"

#include <string>
#include <unordered_map>
#include <utility>

#include "common/strings.h"

namespace gspo::tokenizer {
namespace {

// ids = prefix + ids + suffix.
class WrapProcessor : public PostProcessor {
 public:
  WrapProcessor(std::vector<std::int32_t> prefix, std::vector<std::int32_t> suffix)
      : prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}
  void Process(std::vector<std::int32_t>* ids) const override {
    ids->insert(ids->begin(), prefix_.begin(), prefix_.end());
    ids->insert(ids->end(), suffix_.begin(), suffix_.end());
  }

 private:
  std::vector<std::int32_t> prefix_;
  std::vector<std::int32_t> suffix_;
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void Process(std::vector<std::int32_t>* ids) const override {
    for (const auto& step : steps_) step->Process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// A template piece: the sequence itself (`special` empty) or a special token's name.
struct TemplatePiece {
  bool is_sequence;
  std::string special;
};

common::StatusOr<TemplatePiece> ParsePiece(const common::Json& piece, const JsonContext& context) {
  if (piece.is_string()) {  // "$A", "$B:1", "[CLS]", "[SEP]:0"
    std::string name = piece.AsString();
    const std::size_t colon = name.rfind(':');
    if (colon != std::string::npos && colon + 1 < name.size() &&
        name.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
      name.resize(colon);
    }
    if (!name.empty() && name[0] == '$') {
      const std::string rest = name.substr(1);
      if (rest.empty() || rest == "A" || rest == "a" ||
          rest.find_first_not_of("0123456789") == std::string::npos) {
        return TemplatePiece{true, ""};
      }
      if (rest == "B" || rest == "b") return context.Error("a single template cannot use $B");
      return context.Error("bad sequence " + common::QuoteForMessage(name));
    }
    return TemplatePiece{false, name};
  }
  if (piece.is_object()) {
    if (const common::Json* special = piece.Find("SpecialToken"); special != nullptr) {
      GSPO_ASSIGN_OR_RETURN(std::string id,
                            GetString(*special, "id", context.Child("SpecialToken")));
      return TemplatePiece{false, std::move(id)};
    }
    if (const common::Json* sequence = piece.Find("Sequence"); sequence != nullptr) {
      GSPO_ASSIGN_OR_RETURN(std::string id, GetString(*sequence, "id", context.Child("Sequence")));
      if (id != "A") return context.Error("a single template cannot use sequence " + id);
      return TemplatePiece{true, ""};
    }
  }
  return context.Error(R"(expected {"SpecialToken": ...}, {"Sequence": ...} or a string)");
}

common::StatusOr<std::unique_ptr<PostProcessor>> TemplateFromJson(const common::Json& json,
                                                                  const JsonContext& context) {
  // special_tokens: name -> ids.
  std::unordered_map<std::string, std::vector<std::int32_t>> specials;
  if (const common::Json* map = FindField(json, "special_tokens"); map != nullptr) {
    const JsonContext map_context = context.Child("special_tokens");
    if (!map->is_object()) return map_context.Error("expected an object");
    for (const auto& [name, value] : map->members()) {
      const JsonContext entry = map_context.Child(name);
      const common::Json* ids = value.is_object() ? FindField(value, "ids") : nullptr;
      if (ids == nullptr || !ids->is_array()) return entry.Error("expected an \"ids\" list");
      std::vector<std::int32_t>& out = specials[name];
      for (const common::Json& id : ids->elements()) {
        const auto number = id.is_number() ? id.AsInt64() : std::nullopt;
        if (!number.has_value() || *number < 0 || *number > INT32_MAX) {
          return entry.Child("ids").Error("expected non-negative integer ids");
        }
        out.push_back(static_cast<std::int32_t>(*number));
      }
    }
  }
  const common::Json* single = FindField(json, "single");
  const JsonContext single_context = context.Child("single");
  if (single == nullptr) return context.Error("missing \"single\"");
  std::vector<common::Json> pieces;
  if (single->is_string()) {
    for (const std::string& word : common::Split(single->AsString(), ' ')) {
      if (!word.empty()) pieces.push_back(common::Json::String(word));
    }
  } else if (single->is_array()) {
    pieces = single->elements();
  } else {
    return single_context.Error("expected a list of pieces or a string");
  }
  std::vector<std::int32_t> prefix, suffix;
  bool seen_sequence = false;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    GSPO_ASSIGN_OR_RETURN(TemplatePiece piece, ParsePiece(pieces[i], single_context.Index(i)));
    if (piece.is_sequence) {
      if (seen_sequence) return single_context.Error("the sequence appears twice");
      seen_sequence = true;
      continue;
    }
    const auto it = specials.find(piece.special);
    if (it == specials.end()) {
      return single_context.Index(i).Error("special token " +
                                           common::QuoteForMessage(piece.special) +
                                           " is missing from special_tokens");
    }
    std::vector<std::int32_t>& out = seen_sequence ? suffix : prefix;
    out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (!seen_sequence) return single_context.Error("the template has no sequence ($A)");
  return std::make_unique<WrapProcessor>(std::move(prefix), std::move(suffix));
}

// BertProcessing / RobertaProcessing: "cls": ["[CLS]", 101], "sep": ["[SEP]", 102].
common::StatusOr<std::int32_t> GetTokenPairId(const common::Json& json, std::string_view key,
                                              const JsonContext& context) {
  const common::Json* pair = FindField(json, key);
  if (pair != nullptr && pair->is_array() && pair->size() == 2 && pair->elements()[1].is_number()) {
    const auto id = pair->elements()[1].AsInt64();
    if (id.has_value() && *id >= 0 && *id <= INT32_MAX) return static_cast<std::int32_t>(*id);
  }
  return context.Child(key).Error("expected [\"token\", id]");
}

}  // namespace

common::StatusOr<std::unique_ptr<PostProcessor>> PostProcessorFromJson(const common::Json& json,
                                                                       const JsonContext& context) {
  GSPO_ASSIGN_OR_RETURN(const std::string type, GetType(json, context));
  if (type == "TemplateProcessing") return TemplateFromJson(json, context);
  if (type == "ByteLevel") {
    return std::make_unique<WrapProcessor>(std::vector<std::int32_t>{},
                                           std::vector<std::int32_t>{});
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    GSPO_ASSIGN_OR_RETURN(const std::int32_t cls, GetTokenPairId(json, "cls", context));
    GSPO_ASSIGN_OR_RETURN(const std::int32_t sep, GetTokenPairId(json, "sep", context));
    return std::make_unique<WrapProcessor>(std::vector<std::int32_t>{cls},
                                           std::vector<std::int32_t>{sep});
  }
  if (type == "Sequence") {
    const common::Json* list = FindField(json, "processors");
    if (list == nullptr || !list->is_array()) {
      return context.Error("expected a \"processors\" list");
    }
    std::vector<std::unique_ptr<PostProcessor>> steps;
    const JsonContext child = context.Child("processors");
    for (std::size_t i = 0; i < list->size(); ++i) {
      GSPO_ASSIGN_OR_RETURN(auto step, PostProcessorFromJson(list->elements()[i], child.Index(i)));
      steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceProcessor>(std::move(steps));
  }
  return context.Error("unknown type " + common::QuoteForMessage(type));
}

}  // namespace gspo::tokenizer
