#include "worker/tokenizer/decoders.h"

#include <utility>

#include "common/strings.h"
#include "worker/tokenizer/pattern.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

class ByteLevelDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::string bytes;
    for (const std::string& token : *tokens) {
      const std::size_t before = bytes.size();
      std::size_t pos = 0;
      bool all_mapped = true;
      while (pos < token.size()) {
        const int byte = UnicodeToByte(NextChar(token, &pos));
        if (byte < 0) {
          all_mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(byte));
      }
      if (!all_mapped) {  // A token outside the byte alphabet stands for itself.
        bytes.resize(before);
        bytes.append(token);
      }
    }
    tokens->assign(1, Utf8Lossy(bytes));
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool drop_first)
      : replacement_(replacement), drop_first_(drop_first) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      const std::string& token = (*tokens)[i];
      std::string out;
      out.reserve(token.size());
      std::size_t pos = 0;
      while (pos < token.size()) {
        const std::size_t start = pos;
        if (NextChar(token, &pos) != replacement_) {
          out.append(token, start, pos - start);
        } else if (i != 0 || !drop_first_) {
          out.push_back(' ');
        }
      }
      (*tokens)[i] = std::move(out);
    }
  }

 private:
  char32_t replacement_;
  bool drop_first_;  // every replacement in the first token is dropped (prepend_scheme != never)
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::vector<Span> spans;
    for (std::string& token : *tokens) {
      pattern_.FindMatches(token, &spans);
      std::string out;
      for (const Span& span : spans) {
        if (span.is_match) {
          out.append(content_);
        } else {
          out.append(token, span.start, span.end - span.start);
        }
      }
      token = std::move(out);
    }
  }

 private:
  Pattern pattern_;
  std::string content_;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte of a "<0xNN>" token as Rust's u8::from_str_radix(NN, 16) reads it, or -1.
int ByteTokenValue(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  const int low = HexValue(token[4]);
  if (low < 0) return -1;
  if (token[3] == '+') return low;
  const int high = HexValue(token[3]);
  return high < 0 ? -1 : high * 16 + low;
}

class ByteFallbackDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens->size());
    std::string run;
    std::size_t run_tokens = 0;
    const auto flush = [&]() {
      if (run_tokens == 0) return;
      if (IsValidUtf8(run)) {
        out.push_back(run);
      } else {
        for (std::size_t i = 0; i < run_tokens; ++i) out.emplace_back(kReplacementChar);
      }
      run.clear();
      run_tokens = 0;
    };
    for (std::string& token : *tokens) {
      const int byte = ByteTokenValue(token);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
        ++run_tokens;
      } else {
        flush();
        out.push_back(std::move(token));
      }
    }
    flush();
    *tokens = std::move(out);
  }
};

class FuseDecoder : public Decoder {
 public:
  void DecodeChain(std::vector<std::string>* tokens) const override {
    std::string joined;
    for (const std::string& token : *tokens) joined.append(token);
    tokens->clear();
    tokens->push_back(std::move(joined));
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, std::size_t start, std::size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& token : *tokens) {
      std::vector<std::size_t> offsets;  // byte offset of each character, then the end
      std::vector<char32_t> chars;
      std::size_t pos = 0;
      while (pos < token.size()) {
        offsets.push_back(pos);
        chars.push_back(NextChar(token, &pos));
      }
      offsets.push_back(token.size());
      std::size_t start_cut = 0;
      for (std::size_t i = 0; i < start_ && i < chars.size() && chars[i] == content_; ++i) {
        start_cut = i + 1;
      }
      std::size_t stop_cut = chars.size();
      for (std::size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        const std::size_t index = chars.size() - i - 1;
        if (chars[index] != content_) break;
        stop_cut = index;
      }
      token = start_cut < stop_cut
                  ? token.substr(offsets[start_cut], offsets[stop_cut] - offsets[start_cut])
                  : std::string();
    }
  }

 private:
  char32_t content_;
  std::size_t start_;
  std::size_t stop_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    if (suffix_.empty()) return;
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      const std::string replacement = i + 1 == tokens->size() ? "" : " ";
      std::string& token = (*tokens)[i];
      std::string out;
      std::size_t pos = 0, found;
      while ((found = token.find(suffix_, pos)) != std::string::npos) {
        out.append(token, pos, found - pos).append(replacement);
        pos = found + suffix_.size();
      }
      out.append(token, pos, std::string::npos);
      token = std::move(out);
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void DecodeChain(std::vector<std::string>* tokens) const override {
    for (const auto& step : steps_) step->DecodeChain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

common::StatusOr<std::unique_ptr<Decoder>> DecoderFromJson(const common::Json& json,
                                                           const JsonContext& context) {
  GSPO_ASSIGN_OR_RETURN(const std::string type, GetType(json, context));
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Metaspace") {
    GSPO_ASSIGN_OR_RETURN(const char32_t replacement,
                          GetChar(json, "replacement", context, U'\u2581'));
    GSPO_ASSIGN_OR_RETURN(std::string scheme, GetString(json, "prepend_scheme", context, "always"));
    GSPO_ASSIGN_OR_RETURN(const bool prefix, GetBool(json, "add_prefix_space", context, true));
    if (!prefix) scheme = "never";
    if (scheme != "first" && scheme != "never" && scheme != "always") {
      return context.Child("prepend_scheme")
          .Error("expected 'first', 'never' or 'always', got " + common::QuoteForMessage(scheme));
    }
    return std::make_unique<MetaspaceDecoder>(replacement, scheme != "never");
  }
  if (type == "Replace") {
    GSPO_ASSIGN_OR_RETURN(Pattern pattern, GetPattern(json, context));
    GSPO_ASSIGN_OR_RETURN(std::string content, GetString(json, "content", context));
    return std::make_unique<ReplaceDecoder>(std::move(pattern), std::move(content));
  }
  if (type == "Strip") {
    GSPO_ASSIGN_OR_RETURN(const char32_t content, GetChar(json, "content", context, U' '));
    GSPO_ASSIGN_OR_RETURN(const std::int64_t start, GetInt(json, "start", context, 0));
    GSPO_ASSIGN_OR_RETURN(const std::int64_t stop, GetInt(json, "stop", context, 0));
    if (start < 0 || stop < 0) return context.Error("start and stop must not be negative");
    return std::make_unique<StripDecoder>(content, static_cast<std::size_t>(start),
                                          static_cast<std::size_t>(stop));
  }
  if (type == "BPEDecoder") {
    GSPO_ASSIGN_OR_RETURN(std::string suffix, GetString(json, "suffix", context, "</w>"));
    return std::make_unique<BpeDecoder>(std::move(suffix));
  }
  if (type == "Sequence") {
    const common::Json* list = FindField(json, "decoders");
    if (list == nullptr || !list->is_array()) return context.Error("expected a \"decoders\" list");
    std::vector<std::unique_ptr<Decoder>> steps;
    const JsonContext child = context.Child("decoders");
    for (std::size_t i = 0; i < list->size(); ++i) {
      GSPO_ASSIGN_OR_RETURN(auto step, DecoderFromJson(list->elements()[i], child.Index(i)));
      steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  if (type == "WordPiece" || type == "CTC") {
    return context.Error("type " + common::QuoteForMessage(type) + " is not supported");
  }
  return context.Error("unknown type " + common::QuoteForMessage(type));
}

}  // namespace gspo::tokenizer
