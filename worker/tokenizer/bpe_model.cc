#include "worker/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/strings.h"
#include "worker/tokenizer/unicode.h"

namespace gspo::tokenizer {
namespace {

// Words shorter than this are merged whole: cutting them would cost more than it saves.
constexpr std::size_t kChunkMinBytes = 48;
constexpr char32_t kCharTableSize = 0x10000;
// Ids are array indexes; anything this large is a broken file, not a real vocabulary.
constexpr std::int64_t kMaxId = std::int64_t{1} << 26;

// One merge rule as written in the file: "a b" or ["a", "b"]. `*skip` for "#version" lines.
common::Status ParseMerge(const common::Json& merge, const JsonContext& context,
                          std::string_view* a, std::string_view* b, bool* skip) {
  *skip = false;
  if (merge.is_string()) {
    const std::string_view line = merge.AsString();
    if (common::StartsWith(line, "#version")) {
      *skip = true;
      return common::Status::Ok();
    }
    const std::size_t space = line.find(' ');
    if (space != std::string::npos && line.find(' ', space + 1) == std::string::npos) {
      *a = line.substr(0, space);
      *b = line.substr(space + 1);
      return common::Status::Ok();
    }
  } else if (merge.is_array() && merge.size() == 2 && merge.elements()[0].is_string() &&
             merge.elements()[1].is_string()) {
    *a = merge.elements()[0].AsString();
    *b = merge.elements()[1].AsString();
    return common::Status::Ok();
  }
  return context.Error(R"(expected "a b" or ["a", "b"])");
}

}  // namespace

common::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const common::Json& json,
                                                               const JsonContext& context) {
  std::unique_ptr<BpeModel> model(new BpeModel());
  const common::Json* dropout = FindField(json, "dropout");
  if (dropout != nullptr && !(dropout->is_number() && dropout->AsDouble() == 0.0)) {
    return context.Child("dropout").Error("BPE dropout is not supported; it must be null");
  }
  GSPO_ASSIGN_OR_RETURN(model->prefix_, GetString(json, "continuing_subword_prefix", context));
  GSPO_ASSIGN_OR_RETURN(model->suffix_, GetString(json, "end_of_word_suffix", context));
  GSPO_ASSIGN_OR_RETURN(model->fuse_unk_, GetBool(json, "fuse_unk", context, false));
  GSPO_ASSIGN_OR_RETURN(model->byte_fallback_, GetBool(json, "byte_fallback", context, false));
  GSPO_ASSIGN_OR_RETURN(model->ignore_merges_, GetBool(json, "ignore_merges", context, false));

  const common::Json* vocab = FindField(json, "vocab");
  if (vocab == nullptr || !vocab->is_object()) return context.Error("missing \"vocab\" object");
  const JsonContext vocab_context = context.Child("vocab");
  model->vocab_ = StringIdMap(vocab->size());
  std::int64_t id_end = 0;
  for (const auto& [token, value] : vocab->members()) {
    const std::optional<std::int64_t> id = value.is_number() ? value.AsInt64() : std::nullopt;
    if (!id.has_value() || *id < 0 || *id >= kMaxId) {
      return vocab_context.Error(common::QuoteForMessage(token) +
                                 ": expected a non-negative integer id");
    }
    id_end = std::max(id_end, *id + 1);
  }
  model->id_to_token_.resize(id_end);
  model->has_id_.assign(id_end, false);
  for (const auto& [token, value] : vocab->members()) {
    const std::optional<std::int64_t> id = value.AsInt64();
    if (model->has_id_[*id]) {
      return vocab_context.Error("id " + std::to_string(*id) + " is given to both " +
                                 common::QuoteForMessage(model->id_to_token_[*id]) + " and " +
                                 common::QuoteForMessage(token));
    }
    model->has_id_[*id] = true;
    model->id_to_token_[*id] = token;
    model->vocab_.Insert(token, static_cast<std::int32_t>(*id));
  }

  const common::Json* merges = FindField(json, "merges");
  if (merges == nullptr || !merges->is_array()) return context.Error("missing \"merges\" list");
  const JsonContext merges_context = context.Child("merges");
  model->merges_ = PairMap(merges->size());
  std::uint32_t rank = 0;
  std::string_view a, b;
  std::string merged;
  for (std::size_t i = 0; i < merges->size(); ++i) {
    const JsonContext merge_context = merges_context.Index(i);
    bool skip;
    GSPO_RETURN_IF_ERROR(ParseMerge(merges->elements()[i], merge_context, &a, &b, &skip));
    if (skip) continue;
    const std::int32_t a_id = model->vocab_.Find(a);
    const std::int32_t b_id = model->vocab_.Find(b);
    if (a_id < 0 || b_id < 0) {
      return merge_context.Error(common::QuoteForMessage(a_id < 0 ? a : b) +
                                 " is not in the vocabulary");
    }
    if (b.size() < model->prefix_.size()) {
      return merge_context.Error(common::QuoteForMessage(b) +
                                 " is shorter than the continuing_subword_prefix");
    }
    merged.assign(a);
    merged.append(b.substr(model->prefix_.size()));
    const std::int32_t merged_id = model->vocab_.Find(merged);
    if (merged_id < 0) {
      return merge_context.Error("the merged token " + common::QuoteForMessage(merged) +
                                 " is not in the vocabulary");
    }
    // Like Hugging Face's map built from the list, a repeated pair keeps its last rank.
    model->merges_.Set(PairMap::Key(a_id, b_id), rank++, merged_id);
  }

  GSPO_ASSIGN_OR_RETURN(const std::string unk, GetString(json, "unk_token", context));
  if (FindField(json, "unk_token") != nullptr) {
    model->unk_id_ = model->vocab_.Find(unk);
    if (model->unk_id_ < 0) {
      return context.Child("unk_token")
          .Error(common::QuoteForMessage(unk) + " is not in the vocabulary");
    }
  }
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    model->byte_ids_[byte] = model->vocab_.Find(name);
  }
  GSPO_RETURN_IF_ERROR(model->BuildChunkTable());
  return model;
}

common::Status BpeModel::BuildChunkTable() {
  char_ids_.assign(kCharTableSize, -1);
  const bool affixes = !prefix_.empty() || !suffix_.empty();
  chunking_ = !affixes;
  if (chunking_) adjacent_pairs_ = PairMap(1 << 16);
  for (std::size_t id = 0; id < id_to_token_.size(); ++id) {
    if (!has_id_[id]) continue;
    const std::string& token = id_to_token_[id];
    std::size_t pos = 0;
    char32_t previous = NextChar(token, &pos);
    if (pos == token.size()) {
      if (previous < kCharTableSize) char_ids_[previous] = static_cast<std::int32_t>(id);
      continue;
    }
    if (!chunking_) continue;
    while (pos < token.size()) {
      const char32_t cp = NextChar(token, &pos);
      adjacent_pairs_.Set(PairMap::Key(previous, cp), 0, 0);
      previous = cp;
    }
  }
  return common::Status::Ok();
}

const std::string* BpeModel::IdToToken(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= id_to_token_.size() || !has_id_[id]) {
    return nullptr;
  }
  return &id_to_token_[id];
}

std::int32_t BpeModel::CharId(char32_t cp, std::string_view text) const {
  return cp < kCharTableSize ? char_ids_[cp] : vocab_.Find(text);
}

void BpeModel::Tokenize(std::string_view word, std::vector<std::int32_t>* ids) const {
  if (ignore_merges_) {
    const std::int32_t id = vocab_.Find(word);
    if (id >= 0) {
      ids->push_back(id);
      return;
    }
  }
  if (!chunking_ || word.size() < kChunkMinBytes) {
    TokenizeChunk(word, ids);
    return;
  }
  // Cut between two characters that are tokens themselves and never adjacent inside any
  // token: no merge can join them, so both sides merge exactly as they would together.
  std::size_t chunk_start = 0;
  std::size_t pos = 0;
  char32_t previous = 0;
  std::int32_t previous_id = -1;
  while (pos < word.size()) {
    const std::size_t start = pos;
    const char32_t cp = NextChar(word, &pos);
    const std::int32_t id = CharId(cp, word.substr(start, pos - start));
    if (id >= 0 && previous_id >= 0 && start > chunk_start &&
        adjacent_pairs_.Find(PairMap::Key(previous, cp)) == nullptr) {
      TokenizeChunk(word.substr(chunk_start, start - chunk_start), ids);
      chunk_start = start;
    }
    previous = cp;
    previous_id = id;
  }
  TokenizeChunk(word.substr(chunk_start), ids);
}

void BpeModel::TokenizeChunk(std::string_view chunk, std::vector<std::int32_t>* ids) const {
  if (cache_.Find(chunk, ids)) return;
  const std::size_t before = ids->size();
  MergeWord(chunk, ids);
  cache_.Insert(chunk, ids->data() + before, ids->size() - before);
}

}  // namespace gspo::tokenizer
