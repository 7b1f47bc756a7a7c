#include "worker/tokenizer/pre_tokenizers.h"

#include <utility>

#include "common/strings.h"
#include "worker/tokenizer/pattern.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;

// Appends the non-empty `ranges` of `piece` to `out` as new pieces.
void EmitRanges(const PreToken& piece, const Ranges& ranges, std::vector<PreToken>* out) {
  for (const auto& [start, end] : ranges) {
    if (start == end) continue;
    out->push_back({piece.text.substr(start, end - start),
                    piece.at_origin && piece.start_aligned && start == 0, true});
  }
}

// Splits every piece with `pattern` and `behavior`.
void SplitAll(const Pattern& pattern, SplitBehavior behavior, bool invert,
              std::vector<PreToken>* pieces) {
  thread_local std::vector<Span> spans;
  thread_local Ranges ranges;
  std::vector<PreToken> out;
  out.reserve(pieces->size() * 2);
  for (const PreToken& piece : *pieces) {
    pattern.FindMatches(piece.text, &spans);
    ApplySplitBehavior(spans, behavior, invert, &ranges);
    EmitRanges(piece, ranges, &out);
  }
  *pieces = std::move(out);
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::vector<PreToken>* pieces) const override {
    SplitAll(pattern_, behavior_, invert_, pieces);
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::shared_ptr<const Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {
    for (int byte = 0; byte < 256; ++byte) {
      const std::string& mapped = ByteToUnicode(static_cast<unsigned char>(byte));
      chars_[byte] = {static_cast<unsigned char>(mapped.size()), {mapped[0], mapped.back()}};
    }
  }
  void PreTokenize(std::vector<PreToken>* pieces) const override {
    if (add_prefix_space_) {
      for (PreToken& piece : *pieces) {
        if (piece.text[0] != ' ') piece.text.insert(0, " ");
      }
    }
    if (regex_ != nullptr) {
      SplitAll(Pattern::FromRegex(regex_), SplitBehavior::kIsolated, false, pieces);
    }
    std::string mapped;
    for (PreToken& piece : *pieces) {
      mapped.resize(piece.text.size() * 2);
      char* out = mapped.data();
      for (const char c : piece.text) {
        const ByteChars& chars = chars_[static_cast<unsigned char>(c)];
        out[0] = chars.bytes[0];
        out[1] = chars.bytes[1];
        out += chars.length;
      }
      mapped.resize(out - mapped.data());
      piece.text.swap(mapped);
    }
  }

 private:
  // Each byte's character in GPT-2's byte-level alphabet: one or two bytes of UTF-8.
  struct ByteChars {
    unsigned char length;
    char bytes[2];
  };
  ByteChars chars_[256];
  bool add_prefix_space_;
  std::shared_ptr<const Regex> regex_;  // GPT-2's, or null without use_regex
};

enum class PrependScheme { kFirst, kNever, kAlways };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement),
        replacement_text_(EncodeUtf8(replacement)),
        scheme_(scheme),
        split_(split) {}
  void PreTokenize(std::vector<PreToken>* pieces) const override {
    for (PreToken& piece : *pieces) {
      std::string replaced;
      replaced.reserve(piece.text.size() + 8);
      for (const char c : piece.text) {
        if (c == ' ') {
          replaced.append(replacement_text_);
        } else {
          replaced.push_back(c);
        }
      }
      const bool starts = replaced.compare(0, replacement_text_.size(), replacement_text_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways ||
                      (scheme_ == PrependScheme::kFirst && piece.at_origin))) {
        replaced.insert(0, replacement_text_);
      }
      piece.text = std::move(replaced);
    }
    if (split_) {
      SplitAll(Pattern::Char(replacement_), SplitBehavior::kMergedWithNext, false, pieces);
    }
  }

 private:
  char32_t replacement_;
  std::string replacement_text_;
  PrependScheme scheme_;
  bool split_;
};

// Hugging Face's Whitespace: the runs of \w+ and of [^\w\s]+; whitespace is dropped.
class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(std::vector<PreToken>* pieces) const override {
    std::vector<PreToken> out;
    Ranges ranges;
    for (const PreToken& piece : *pieces) {
      ranges.clear();
      const std::string& text = piece.text;
      std::size_t i = 0;
      int run_kind = 0;  // 0 whitespace, 1 word, 2 other
      while (i < text.size()) {
        const std::size_t start = i;
        const char32_t cp = NextChar(text, &i);
        const int kind = IsWordChar(cp) ? 1 : IsWhitespace(cp) ? 0 : 2;
        if (kind != 0 && kind == run_kind) {
          ranges.back().second = i;
        } else if (kind != 0) {
          ranges.emplace_back(start, i);
        }
        run_kind = kind;
      }
      EmitRanges(piece, ranges, &out);
    }
    *pieces = std::move(out);
  }
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void PreTokenize(std::vector<PreToken>* pieces) const override {
    for (const auto& step : steps_) step->PreTokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

common::StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizerFromJson(const common::Json& json,
                                                                     const JsonContext& context) {
  GSPO_ASSIGN_OR_RETURN(const std::string type, GetType(json, context));
  if (type == "Split") {
    GSPO_ASSIGN_OR_RETURN(Pattern pattern, GetPattern(json, context));
    GSPO_ASSIGN_OR_RETURN(const std::string behavior_name,
                          GetString(json, "behavior", context, "Isolated"));
    SplitBehavior behavior;
    if (!ParseSplitBehavior(behavior_name, &behavior)) {
      return context.Child("behavior")
          .Error("unknown behavior " + common::QuoteForMessage(behavior_name));
    }
    GSPO_ASSIGN_OR_RETURN(const bool invert, GetBool(json, "invert", context, false));
    return std::make_unique<SplitPreTokenizer>(std::move(pattern), behavior, invert);
  }
  if (type == "ByteLevel") {
    GSPO_ASSIGN_OR_RETURN(const bool prefix, GetBool(json, "add_prefix_space", context, true));
    GSPO_ASSIGN_OR_RETURN(const bool use_regex, GetBool(json, "use_regex", context, true));
    std::shared_ptr<const Regex> regex;
    if (use_regex) {
      static const auto* gpt2 =
          new common::StatusOr<std::shared_ptr<const Regex>>(Regex::Compile(kGpt2Pattern));
      if (!gpt2->ok()) return context.Error(gpt2->status().message());
      regex = gpt2->value();
    }
    return std::make_unique<ByteLevelPreTokenizer>(prefix, std::move(regex));
  }
  if (type == "Metaspace") {
    GSPO_ASSIGN_OR_RETURN(const char32_t replacement,
                          GetChar(json, "replacement", context, U'\u2581'));
    GSPO_ASSIGN_OR_RETURN(const std::string scheme_name,
                          GetString(json, "prepend_scheme", context, "always"));
    PrependScheme scheme;
    if (scheme_name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (scheme_name == "never") {
      scheme = PrependScheme::kNever;
    } else if (scheme_name == "always") {
      scheme = PrependScheme::kAlways;
    } else {
      return context.Child("prepend_scheme")
          .Error("expected 'first', 'never' or 'always', got " +
                 common::QuoteForMessage(scheme_name));
    }
    const common::Json* add_prefix_space = FindField(json, "add_prefix_space");
    if (add_prefix_space != nullptr && add_prefix_space->is_bool() && !add_prefix_space->AsBool()) {
      if (scheme != PrependScheme::kNever && FindField(json, "prepend_scheme") != nullptr) {
        return context.Error("add_prefix_space does not match declared prepend_scheme");
      }
      scheme = PrependScheme::kNever;
    }
    GSPO_ASSIGN_OR_RETURN(const bool split, GetBool(json, "split", context, true));
    return std::make_unique<MetaspacePreTokenizer>(replacement, scheme, split);
  }
  if (type == "Digits") {
    GSPO_ASSIGN_OR_RETURN(const bool individual,
                          GetBool(json, "individual_digits", context, false));
    return std::make_unique<SplitPreTokenizer>(
        Pattern::Predicate(&IsNumeric),
        individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false);
  }
  if (type == "WhitespaceSplit") {
    return std::make_unique<SplitPreTokenizer>(Pattern::Predicate(&IsWhitespace),
                                               SplitBehavior::kRemoved, false);
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "Punctuation") {
    GSPO_ASSIGN_OR_RETURN(const std::string behavior_name,
                          GetString(json, "behavior", context, "Isolated"));
    SplitBehavior behavior;
    if (!ParseSplitBehavior(behavior_name, &behavior)) {
      return context.Child("behavior")
          .Error("unknown behavior " + common::QuoteForMessage(behavior_name));
    }
    return std::make_unique<SplitPreTokenizer>(Pattern::Predicate(&IsPunctuation), behavior, false);
  }
  if (type == "CharDelimiterSplit" || type == "Delimiter") {
    GSPO_ASSIGN_OR_RETURN(const char32_t delimiter, GetChar(json, "delimiter", context, U' '));
    return std::make_unique<SplitPreTokenizer>(Pattern::Char(delimiter), SplitBehavior::kRemoved,
                                               false);
  }
  if (type == "Sequence") {
    const common::Json* list = FindField(json, "pretokenizers");
    if (list == nullptr || !list->is_array()) {
      return context.Error("expected a \"pretokenizers\" list");
    }
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    const JsonContext child = context.Child("pretokenizers");
    for (std::size_t i = 0; i < list->size(); ++i) {
      GSPO_ASSIGN_OR_RETURN(auto step, PreTokenizerFromJson(list->elements()[i], child.Index(i)));
      steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "BertPreTokenizer" || type == "UnicodeScripts" || type == "FixedLength") {
    return context.Error("type " + common::QuoteForMessage(type) + " is not supported");
  }
  return context.Error("unknown type " + common::QuoteForMessage(type));
}

}  // namespace gspo::tokenizer
