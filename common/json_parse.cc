// The JSON parser of common/json.h: one pass, an explicit stack instead of recursion.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/utf8.h"
#include "common/strings.h"

namespace gspo::common {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
// The single-letter escapes and what each one stands for.
constexpr std::string_view kEscapeLetters = "\"\\/bfnrt";
constexpr std::string_view kEscapedChars = "\"\\/\b\f\n\r\t";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}


// How an unexpected byte is shown: 'x' when printable ASCII, else its value.
std::string DescribeByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xF];
}

}  // namespace

// One pass over the text with an explicit stack of open containers, so hostile nesting can
// never exhaust the call stack.
class JsonParser {
 public:
  JsonParser(std::string_view text, std::string_view source, const JsonLimits& limits)
      : text_(text), source_(source), limits_(limits) {}

  StatusOr<Json> Parse();

 private:
  // An open array or object; its children move into the value when it closes.
  struct Frame {
    bool is_object = false;
    std::vector<Json> elements;            // arrays
    std::vector<Json::Member> members;     // objects; the last one's value is pending
    std::vector<std::size_t> key_offsets;  // objects: where each member's key starts
  };

  // Turns the finished top frame into its value; fails on a duplicate key.
  Status Close(Json* out);

  Status Error(std::size_t offset, std::string_view what) const;
  void SkipWhitespace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
      ++pos_;
    }
  }
  bool At(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  Status ParseScalar(Json* out);
  Status ParseString(std::string* out);
  Status ParseEscape(std::string* out);
  Status ParseNumber(Json* out);
  Status ParseLiteral(std::string_view word, Json value, Json* out);
  // After '{' or ',': the member's key and its ':'.
  Status ParseKey();

  std::string_view text_;
  std::string_view source_;
  JsonLimits limits_;
  std::size_t start_ = 0;  // after the byte order mark: where line 1, column 1 is
  std::size_t pos_ = 0;
  std::vector<Frame> frames_;
};

Status JsonParser::Error(std::size_t offset, std::string_view what) const {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = start_; i < offset && i < text_.size(); ++i) {
    const auto c = static_cast<unsigned char>(text_[i]);
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0) != 0x80) {  // UTF-8 continuation bytes do not start a character
      ++column;
    }
  }
  std::string message(source_);
  if (!message.empty()) message.push_back(':');
  message += std::to_string(line) + ":" + std::to_string(column) + ": ";
  message += what;
  return InvalidArgumentError(std::move(message));
}

StatusOr<Json> JsonParser::Parse() {
  if (text_.substr(0, kByteOrderMark.size()) == kByteOrderMark) start_ = kByteOrderMark.size();
  pos_ = start_;
  SkipWhitespace();
  if (pos_ == text_.size()) return Error(pos_, "empty input");

  const auto max_depth = static_cast<std::size_t>(std::max(limits_.max_depth, 0));
  Json value;
  while (true) {
    // A value starts at pos_ (whitespace already skipped).
    const char c = pos_ < text_.size() ? text_[pos_] : '\0';
    if (c == '[' || c == '{') {
      if (frames_.size() >= max_depth) {
        return Error(pos_, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
      }
      const bool is_object = c == '{';
      frames_.emplace_back().is_object = is_object;
      ++pos_;
      SkipWhitespace();
      if (!At(is_object ? '}' : ']')) {
        if (is_object) GSPO_RETURN_IF_ERROR(ParseKey());
        continue;  // parse the first element or member value
      }
      ++pos_;
      GSPO_RETURN_IF_ERROR(Close(&value));
    } else {
      GSPO_RETURN_IF_ERROR(ParseScalar(&value));
    }

    // Attach the finished value to its container; close every container that ends here.
    while (true) {
      SkipWhitespace();
      if (frames_.empty()) {
        if (pos_ != text_.size()) return Error(pos_, "trailing characters after the JSON value");
        return value;
      }
      Frame& top = frames_.back();
      if (!top.is_object) {
        top.elements.push_back(std::move(value));
        if (At(',')) {
          ++pos_;
          SkipWhitespace();
          break;
        }
        if (!At(']')) return Error(pos_, "expected ',' or ']' after an array element");
      } else {
        top.members.back().second = std::move(value);
        if (At(',')) {
          ++pos_;
          SkipWhitespace();
          GSPO_RETURN_IF_ERROR(ParseKey());
          break;
        }
        if (!At('}')) return Error(pos_, "expected ',' or '}' after an object member");
      }
      ++pos_;  // the closing bracket
      GSPO_RETURN_IF_ERROR(Close(&value));
    }
  }
}

Status JsonParser::Close(Json* out) {
  Frame& frame = frames_.back();
  if (!frame.is_object) {
    out->value_ = std::move(frame.elements);
  } else {
    Json::ObjectStorage object(std::move(frame.members));
    const std::size_t duplicate = object.BuildIndex();
    if (duplicate != object.members.size()) {
      return Error(frame.key_offsets[duplicate],
                   "duplicate key " + QuoteForMessage(object.members[duplicate].first));
    }
    out->value_ = std::move(object);
  }
  frames_.pop_back();
  return Status::Ok();
}

Status JsonParser::ParseKey() {
  if (!At('"')) return Error(pos_, "expected a string key in double quotes");
  Frame& frame = frames_.back();
  frame.key_offsets.push_back(pos_);
  GSPO_RETURN_IF_ERROR(ParseString(&frame.members.emplace_back().first));
  SkipWhitespace();
  if (!At(':')) return Error(pos_, "expected ':' after an object key");
  ++pos_;
  SkipWhitespace();
  return Status::Ok();
}

Status JsonParser::ParseScalar(Json* out) {
  if (pos_ >= text_.size()) return Error(pos_, "expected a JSON value, found the end of the input");
  const char c = text_[pos_];
  switch (c) {
    case '"': {
      std::string text;
      GSPO_RETURN_IF_ERROR(ParseString(&text));
      out->value_ = std::move(text);
      return Status::Ok();
    }
    case 't':
      return ParseLiteral("true", Json::Bool(true), out);
    case 'f':
      return ParseLiteral("false", Json::Bool(false), out);
    case 'n':
      return ParseLiteral("null", Json::Null(), out);
    default:
      if (c == '-' || IsDigit(c)) return ParseNumber(out);
      return Error(pos_, "expected a JSON value, found " + DescribeByte(c));
  }
}

Status JsonParser::ParseLiteral(std::string_view word, Json value, Json* out) {
  if (text_.substr(pos_, word.size()) != word) {
    return Error(pos_, "invalid literal, expected '" + std::string(word) + "'");
  }
  pos_ += word.size();
  *out = std::move(value);
  return Status::Ok();
}

Status JsonParser::ParseString(std::string* out) {
  const std::size_t open = pos_;
  ++pos_;
  out->clear();
  const std::size_t size = text_.size();
  while (true) {
    // Copy the longest run of plain ASCII in one go: most strings are nothing else.
    std::size_t run = pos_;
    while (run < size) {
      const auto c = static_cast<unsigned char>(text_[run]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++run;
    }
    out->append(text_.data() + pos_, run - pos_);
    pos_ = run;
    if (pos_ >= size) return Error(open, "unterminated string");
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      ++pos_;
      return Status::Ok();
    }
    if (c == '\\') {
      if (pos_ + 1 >= size) return Error(open, "unterminated string");
      GSPO_RETURN_IF_ERROR(ParseEscape(out));
    } else if (c < 0x20) {
      return Error(pos_, "control character in string");
    } else {
      const std::size_t length = Utf8SequenceLength(text_, pos_);
      if (length == 0) return Error(pos_, "invalid UTF-8 in string");
      out->append(text_.data() + pos_, length);
      pos_ += length;
    }
  }
}

// pos_ is at a backslash that has at least one byte after it.
Status JsonParser::ParseEscape(std::string* out) {
  const std::size_t backslash = pos_;
  const char e = text_[pos_ + 1];
  if (e != 'u') {
    const std::size_t known = kEscapeLetters.find(e);
    if (known == std::string_view::npos) {
      const auto u = static_cast<unsigned char>(e);
      if (u >= 0x20 && u < 0x7F) {
        return Error(backslash, std::string("invalid escape '\\") + e + "'");
      }
      return Error(backslash, "invalid escape: '\\' followed by " + DescribeByte(e));
    }
    out->push_back(kEscapedChars[known]);
    pos_ += 2;
    return Status::Ok();
  }
  // \uXXXX, possibly the first half of a surrogate pair.
  const auto read_hex4 = [this](std::size_t at, std::uint32_t* cp) {
    if (text_.size() - at < 4) return false;
    std::uint32_t value = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int digit = HexValue(text_[at + k]);
      if (digit < 0) return false;
      value = value * 16 + static_cast<std::uint32_t>(digit);
    }
    *cp = value;
    return true;
  };
  std::uint32_t cp = 0;
  if (!read_hex4(pos_ + 2, &cp)) return Error(backslash, "invalid \\u escape");
  pos_ += 6;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return Error(backslash, "unpaired surrogate");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    std::uint32_t low = 0;
    if (text_.substr(pos_, 2) != "\\u") return Error(backslash, "unpaired surrogate");
    if (!read_hex4(pos_ + 2, &low)) return Error(pos_, "invalid \\u escape");
    if (low < 0xDC00 || low > 0xDFFF) return Error(backslash, "unpaired surrogate");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    pos_ += 6;
  }
  AppendUtf8(cp, out);
  return Status::Ok();
}

Status JsonParser::ParseNumber(Json* out) {
  const std::size_t start = pos_;
  const std::size_t size = text_.size();
  const auto digits = [&] {
    while (pos_ < size && IsDigit(text_[pos_])) ++pos_;
  };
  const bool negative = At('-');
  if (negative) ++pos_;
  if (pos_ >= size || !IsDigit(text_[pos_])) {
    return Error(pos_, "invalid number: expected a digit after '-'");
  }
  if (text_[pos_] == '0') {
    ++pos_;
    if (pos_ < size && IsDigit(text_[pos_])) return Error(pos_ - 1, "invalid number: leading zero");
  } else {
    digits();
  }
  bool integral = true;
  if (At('.')) {
    ++pos_;
    if (pos_ >= size || !IsDigit(text_[pos_])) {
      return Error(pos_, "invalid number: expected a digit after '.'");
    }
    digits();
    integral = false;
  }
  if (At('e') || At('E')) {
    ++pos_;
    if (At('+') || At('-')) ++pos_;
    if (pos_ >= size || !IsDigit(text_[pos_])) {
      return Error(pos_, "invalid number: expected a digit in the exponent");
    }
    digits();
    integral = false;
  }
  const char* first = text_.data() + start;
  const char* last = text_.data() + pos_;

  if (integral) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(first, last, value);
    // "-0" stays a double so that writing it back keeps the sign.
    if (ec == std::errc() && end == last && !(negative && value == 0)) {
      out->value_ = value;
      return Status::Ok();
    }
  }
  double value = 0.0;
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow too; strtod tells it apart (tiny numbers become 0).
    const std::string copy(first, last);
    value = std::strtod(copy.c_str(), nullptr);
  } else if (ec != std::errc() || end != last) {
    return Error(start, "invalid number");
  }
  if (!std::isfinite(value)) return Error(start, "number out of range");
  out->value_ = value;
  return Status::Ok();
}

StatusOr<Json> ParseJson(std::string_view text, std::string_view source_name,
                         const JsonLimits& limits) {
  return JsonParser(text, source_name, limits).Parse();
}

}  // namespace gspo::common
