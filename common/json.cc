// Json values and the JSON writer (the parser is in json_parse.cc).
#include "common/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

namespace gspo::common {
namespace {

constexpr std::uint32_t kNoMember = 0;
// Characters written as a backslash and a letter, and their letters.
constexpr std::string_view kNamedEscapes = "\"\\\b\f\n\r\t";
constexpr std::string_view kEscapeNames = "\"\\bfnrt";
// Doubles below this magnitude that are integral convert to int64 without doubt.
constexpr double kTwoPow53 = 9007199254740992.0;

std::size_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

// Slots of an object's index: a power of two at least twice the member count, so probe
// sequences stay short.
std::size_t IndexCapacity(std::size_t members) {
  std::size_t capacity = 64;
  while (capacity < 2 * members) capacity *= 2;
  return capacity;
}

}  // namespace

static_assert(std::is_nothrow_move_constructible_v<Json>,
              "vectors of Json must move, not copy, their elements when they grow");

Json::ObjectStorage::ObjectStorage(const ObjectStorage& other) : members(other.members) {
  if (other.index != nullptr) {
    const std::size_t capacity = IndexCapacity(members.size());
    index = std::make_unique<std::uint32_t[]>(capacity);
    std::copy(other.index.get(), other.index.get() + capacity, index.get());
  }
}

Json::ObjectStorage& Json::ObjectStorage::operator=(const ObjectStorage& other) {
  if (this != &other) *this = ObjectStorage(other);
  return *this;
}

std::size_t Json::ObjectStorage::BuildIndex() {
  index.reset();
  const std::size_t count = members.size();
  if (count <= kIndexThreshold) {
    // Small objects: a pairwise scan is cheaper than hashing.
    for (std::size_t i = 1; i < count; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (members[j].first == members[i].first) return i;
      }
    }
    return count;
  }
  // Positions are stored as uint32; an object that large is not indexed (Find scans instead).
  if (count >= std::numeric_limits<std::uint32_t>::max() / 2) return count;
  const std::size_t capacity = IndexCapacity(count);
  index = std::make_unique<std::uint32_t[]>(capacity);  // zeroed: every slot empty
  const std::size_t mask = capacity - 1;
  std::size_t first_duplicate = count;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string& key = members[i].first;
    std::size_t slot = HashKey(key) & mask;
    bool duplicate = false;
    for (; index[slot] != kNoMember; slot = (slot + 1) & mask) {
      if (members[index[slot] - 1].first == key) {
        duplicate = true;
        break;
      }
    }
    if (duplicate) {
      // Keep the first occurrence findable; report the first repeat.
      if (first_duplicate == count) first_duplicate = i;
      continue;
    }
    index[slot] = static_cast<std::uint32_t>(i + 1);
  }
  return first_duplicate;
}

const Json* Json::ObjectStorage::Find(std::string_view key) const {
  if (index == nullptr) {
    for (const Member& member : members) {
      if (member.first == key) return &member.second;
    }
    return nullptr;
  }
  const std::size_t mask = IndexCapacity(members.size()) - 1;
  for (std::size_t slot = HashKey(key) & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t entry = index[slot];
    if (entry == kNoMember) return nullptr;
    const Member& member = members[entry - 1];
    if (member.first == key) return &member.second;
  }
}

Json Json::Bool(bool value) {
  Json json;
  json.value_ = value;
  return json;
}

Json Json::Number(double value) {
  Json json;
  json.value_ = value;
  return json;
}

Json Json::Integer(std::int64_t value) {
  Json json;
  json.value_ = value;
  return json;
}

Json Json::String(std::string value) {
  Json json;
  json.value_ = std::move(value);
  return json;
}

Json Json::Array(std::vector<Json> elements) {
  Json json;
  json.value_ = std::move(elements);
  return json;
}

Json Json::Object(std::vector<Member> members) {
  ObjectStorage object(std::move(members));
  object.BuildIndex();
  Json json;
  json.value_ = std::move(object);
  return json;
}

Json::Type Json::type() const {
  switch (value_.index()) {
    case kBoolIndex:
      return Type::kBool;
    case kDoubleIndex:
    case kIntegerIndex:
      return Type::kNumber;
    case kStringIndex:
      return Type::kString;
    case kArrayIndex:
      return Type::kArray;
    case kObjectIndex:
      return Type::kObject;
    default:
      return Type::kNull;
  }
}

bool Json::AsBool() const {
  const bool* value = std::get_if<bool>(&value_);
  return value != nullptr && *value;
}

double Json::AsDouble() const {
  if (const auto* integer = std::get_if<std::int64_t>(&value_)) {
    return static_cast<double>(*integer);
  }
  const double* value = std::get_if<double>(&value_);
  return value != nullptr ? *value : 0.0;
}

std::optional<std::int64_t> Json::AsInt64() const {
  if (const auto* integer = std::get_if<std::int64_t>(&value_)) return *integer;
  const double* value = std::get_if<double>(&value_);
  if (value != nullptr && std::abs(*value) < kTwoPow53 && std::trunc(*value) == *value) {
    return static_cast<std::int64_t>(*value);
  }
  return std::nullopt;
}

const std::string& Json::AsString() const {
  static const std::string kEmpty;
  const std::string* value = std::get_if<std::string>(&value_);
  return value != nullptr ? *value : kEmpty;
}

const std::vector<Json>& Json::elements() const {
  static const std::vector<Json> kEmpty;
  const auto* value = std::get_if<std::vector<Json>>(&value_);
  return value != nullptr ? *value : kEmpty;
}

const std::vector<Json::Member>& Json::members() const {
  static const std::vector<Member> kEmpty;
  const auto* object = std::get_if<ObjectStorage>(&value_);
  return object != nullptr ? object->members : kEmpty;
}

const Json* Json::Find(std::string_view key) const {
  const auto* object = std::get_if<ObjectStorage>(&value_);
  return object != nullptr ? object->Find(key) : nullptr;
}

std::size_t Json::size() const {
  if (const auto* elements = std::get_if<std::vector<Json>>(&value_)) return elements->size();
  if (const auto* object = std::get_if<ObjectStorage>(&value_)) return object->members.size();
  return 0;
}

namespace {

void AppendQuoted(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(text.data() + plain, i - plain);
    plain = i + 1;
    const std::size_t named = kNamedEscapes.find(static_cast<char>(c));
    if (named != std::string_view::npos) {
      out->push_back('\\');
      out->push_back(kEscapeNames[named]);
    } else {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    }
  }
  out->append(text.data() + plain, text.size() - plain);
  out->push_back('"');
}

void AppendNumber(const Json& value, std::string* out) {
  const double number = value.AsDouble();
  if (!std::isfinite(number)) {
    out->append("null");
    return;
  }
  char buf[32];
  std::to_chars_result result{};
  // Integers print from their exact int64 (a double may have lost digits); -0 keeps its sign.
  if (const std::optional<std::int64_t> exact = value.AsInt64();
      exact && !(number == 0.0 && std::signbit(number))) {
    result = std::to_chars(buf, buf + sizeof(buf), *exact);
  } else {
    result = std::to_chars(buf, buf + sizeof(buf), number);
  }
  out->append(buf, result.ptr);
}

// Recursion depth is the value's nesting depth, which ParseJson bounds.
void AppendValue(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::Type::kNull:
      out->append("null");
      break;
    case Json::Type::kBool:
      out->append(value.AsBool() ? "true" : "false");
      break;
    case Json::Type::kNumber:
      AppendNumber(value, out);
      break;
    case Json::Type::kString:
      AppendQuoted(value.AsString(), out);
      break;
    case Json::Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Json& element : value.elements()) {
        if (!first) out->push_back(',');
        first = false;
        AppendValue(element, out);
      }
      out->push_back(']');
      break;
    }
    case Json::Type::kObject: {
      out->push_back('{');
      bool first = true;
      for (const Json::Member& member : value.members()) {
        if (!first) out->push_back(',');
        first = false;
        AppendQuoted(member.first, out);
        out->push_back(':');
        AppendValue(member.second, out);
      }
      out->push_back('}');
      break;
    }
  }
}

}  // namespace

std::string WriteJson(const Json& value) {
  std::string out;
  AppendValue(value, &out);
  return out;
}

std::string QuoteJsonString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendQuoted(text, &out);
  return out;
}

}  // namespace gspo::common
