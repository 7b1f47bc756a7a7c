#include "worker/tokenizer/normalizers.h"

#include <utility>
#include <vector>

#include "common/strings.h"
#include "worker/tokenizer/pattern.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalizationForm form) : form_(form) {}
  void Normalize(std::string* text, bool*) const override {
    *text = NormalizeUnicode(*text, form_);
  }

 private:
  NormalizationForm form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text, bool*) const override { *text = LowercaseUnicode(*text); }
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(std::string* text, bool*) const override {
    std::vector<Span> spans;
    pattern_.FindMatches(*text, &spans);
    std::string out;
    out.reserve(text->size());
    for (const Span& span : spans) {
      if (span.is_match) {
        out.append(content_);
      } else {
        out.append(*text, span.start, span.end - span.start);
      }
    }
    *text = std::move(out);
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void Normalize(std::string* text, bool*) const override {
    if (!text->empty()) text->insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(std::string* text, bool* start_moved) const override {
    std::size_t begin = 0;
    std::size_t end = text->size();
    if (left_) {
      while (begin < end) {
        std::size_t next = begin;
        if (!IsWhitespace(NextChar(*text, &next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        std::size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>((*text)[start]) & 0xC0) == 0x80)
          --start;
        std::size_t next = start;
        if (!IsWhitespace(NextChar(*text, &next))) break;
        end = start;
      }
    }
    if (begin > 0 && begin < end) *start_moved = true;
    *text = text->substr(begin, end - begin);
  }

 private:
  bool left_;
  bool right_;
};

class StripAccentsNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text, bool* start_moved) const override {
    std::string out;
    out.reserve(text->size());
    std::size_t i = 0;
    bool removed_first = false;
    while (i < text->size()) {
      const std::size_t start = i;
      const char32_t cp = NextChar(*text, &i);
      if (IsCombiningMark(cp)) {
        if (out.empty()) removed_first = true;
      } else {
        out.append(*text, start, i - start);
      }
    }
    if (removed_first && !out.empty()) *start_moved = true;
    *text = std::move(out);
  }
};

class ByteLevelNormalizer : public Normalizer {
 public:
  void Normalize(std::string* text, bool*) const override {
    std::string out;
    out.reserve(text->size() * 2);
    for (const char c : *text) out.append(ByteToUnicode(static_cast<unsigned char>(c)));
    *text = std::move(out);
  }
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> normalizers)
      : normalizers_(std::move(normalizers)) {}
  void Normalize(std::string* text, bool* start_moved) const override {
    for (const auto& normalizer : normalizers_) normalizer->Normalize(text, start_moved);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

}  // namespace

common::StatusOr<std::unique_ptr<Normalizer>> NormalizerFromJson(const common::Json& json,
                                                                 const JsonContext& context) {
  GSPO_ASSIGN_OR_RETURN(const std::string type, GetType(json, context));
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalizationForm::kNfkd);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Replace") {
    GSPO_ASSIGN_OR_RETURN(Pattern pattern, GetPattern(json, context));
    GSPO_ASSIGN_OR_RETURN(std::string content, GetString(json, "content", context));
    return std::make_unique<ReplaceNormalizer>(std::move(pattern), std::move(content));
  }
  if (type == "Prepend") {
    GSPO_ASSIGN_OR_RETURN(std::string prefix, GetString(json, "prepend", context));
    return std::make_unique<PrependNormalizer>(std::move(prefix));
  }
  if (type == "Strip") {
    GSPO_ASSIGN_OR_RETURN(const bool left, GetBool(json, "strip_left", context, true));
    GSPO_ASSIGN_OR_RETURN(const bool right, GetBool(json, "strip_right", context, true));
    return std::make_unique<StripNormalizer>(left, right);
  }
  if (type == "Sequence") {
    const common::Json* list = FindField(json, "normalizers");
    if (list == nullptr || !list->is_array()) {
      return context.Error("expected a \"normalizers\" list");
    }
    std::vector<std::unique_ptr<Normalizer>> normalizers;
    const JsonContext child = context.Child("normalizers");
    for (std::size_t i = 0; i < list->size(); ++i) {
      GSPO_ASSIGN_OR_RETURN(auto normalizer,
                            NormalizerFromJson(list->elements()[i], child.Index(i)));
      normalizers.push_back(std::move(normalizer));
    }
    return std::make_unique<SequenceNormalizer>(std::move(normalizers));
  }
  if (type == "BertNormalizer" || type == "Precompiled" || type == "Nmt") {
    return context.Error("type " + common::QuoteForMessage(type) + " is not supported");
  }
  return context.Error("unknown type " + common::QuoteForMessage(type));
}

}  // namespace gspo::tokenizer
