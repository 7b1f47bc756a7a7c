// A strict JSON (RFC 8259) document model, parser and writer for the JSON files a model directory
// holds: config.json, safetensors headers, tokenizer.json (tens of MB, so the parser is a single
// iterative pass without recursion).
//
// The parser treats its input as hostile: it rejects anything outside the grammar (comments,
// trailing commas, NaN, leading zeros, invalid UTF-8, unpaired surrogates), duplicate keys and
// nesting past a limit, and reports each problem as "<source>:<line>:<column>: <what>".
//
// Json is a value type: it owns its whole tree, copies deeply and moves cheaply. A const Json may
// be read from any number of threads at once (lookup indexes are built eagerly, never lazily);
// anything else needs external synchronisation. ParseJson and the writers are pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/status.h"

namespace gspo::common {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, Json>;

  // Null.
  Json() = default;

  static Json Null() { return Json(); }
  static Json Bool(bool value);
  static Json Number(double value);
  // Kept exactly: AsInt64() returns it and WriteJson prints every digit.
  static Json Integer(std::int64_t value);
  static Json String(std::string value);
  static Json Array(std::vector<Json> elements);
  // Members stay in the given order. Duplicate keys are the caller's responsibility: Find returns
  // the first of them.
  static Json Object(std::vector<Member> members);

  Type type() const;
  bool is_null() const { return value_.index() == kNullIndex; }
  bool is_bool() const { return value_.index() == kBoolIndex; }
  bool is_number() const {
    return value_.index() == kDoubleIndex || value_.index() == kIntegerIndex;
  }
  bool is_string() const { return value_.index() == kStringIndex; }
  bool is_array() const { return value_.index() == kArrayIndex; }
  bool is_object() const { return value_.index() == kObjectIndex; }

  // The accessors of the wrong type return false, 0, an empty string or an empty list, so
  // callers check the type first when the input may be of any shape.
  bool AsBool() const;
  double AsDouble() const;
  // The number as an integer when it is one exactly: an integer literal within the int64 range
  // (so 9007199254740993 stays exact although a double cannot hold it), or another number whose
  // value is integral and below 2^53 in magnitude (1e3, 2.0). nullopt otherwise.
  std::optional<std::int64_t> AsInt64() const;
  const std::string& AsString() const;
  const std::vector<Json>& elements() const;
  // In document order.
  const std::vector<Member>& members() const;

  // The value of `key`, or nullptr when it is absent or this is not an object. Objects of more
  // than kIndexThreshold members carry a hash index, so lookups stay O(1) for big ones.
  const Json* Find(std::string_view key) const;
  static constexpr std::size_t kIndexThreshold = 16;

  // Elements of an array, members of an object, 0 for everything else.
  std::size_t size() const;

 private:
  friend class JsonParser;

  // An object's members and, past kIndexThreshold members, an open-addressing table of member
  // positions + 1 (0 = empty) whose size follows from the member count. Positions rather than
  // pointers, so copies and moves keep it valid.
  struct ObjectStorage {
    ObjectStorage() = default;
    explicit ObjectStorage(std::vector<Member> members_in) : members(std::move(members_in)) {}
    ObjectStorage(const ObjectStorage& other);
    ObjectStorage& operator=(const ObjectStorage& other);
    ObjectStorage(ObjectStorage&&) = default;
    ObjectStorage& operator=(ObjectStorage&&) = default;
    ~ObjectStorage() = default;

    // Builds the index when the object is big enough; returns the position of the first member
    // whose key repeats an earlier one, or members.size() when all keys are distinct.
    std::size_t BuildIndex();
    const Json* Find(std::string_view key) const;

    std::vector<Member> members;
    std::unique_ptr<std::uint32_t[]> index;
  };

  // Compact on purpose (40 bytes): tokenizer.json holds millions of values.
  enum : std::size_t {
    kNullIndex,
    kBoolIndex,
    kDoubleIndex,
    kIntegerIndex,  // a number held exactly as int64
    kStringIndex,
    kArrayIndex,
    kObjectIndex,
  };
  using Value = std::variant<std::monostate, bool, double, std::int64_t, std::string,
                             std::vector<Json>, ObjectStorage>;
  Value value_;
};

struct JsonLimits {
  // Arrays and objects nested deeper than this are an error (the input is not trusted).
  int max_depth = 256;
};

// Parses one JSON value (a leading UTF-8 byte order mark is skipped). Errors are kInvalidArgument
// "<source_name>:<line>:<column>: <what>", with 1-based line and column (the column counts
// characters, not bytes), or "<line>:<column>: <what>" when source_name is empty, e.g.
//   config.json:3:14: expected ',' or '}' after an object member
StatusOr<Json> ParseJson(std::string_view text, std::string_view source_name,
                         const JsonLimits& limits = {});

// Compact JSON without whitespace. Integers print exactly, other numbers in the shortest form
// that reads back to the same double; non-finite numbers (which JSON cannot express) as null.
std::string WriteJson(const Json& value);

// `text` as a JSON string literal with its quotes: escapes '"', '\\' and control characters
// (\n, \t etc. by name, the rest as \u00XX) and keeps every other byte, UTF-8 included, as is.
std::string QuoteJsonString(std::string_view text);

}  // namespace gspo::common
