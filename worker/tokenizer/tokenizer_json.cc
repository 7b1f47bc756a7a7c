// Loading: tokenizer.json -> HfTokenizer, and the Tokenizer factory functions.
#include <cstdlib>
#include <utility>
#if defined(__GLIBC__)
#include <malloc.h>  // malloc_trim
#endif

#include "common/files.h"
#include "common/json.h"
#include "common/strings.h"
#include "worker/tokenizer/hf_tokenizer.h"
#include "worker/tokenizer/sentencepiece_loader.h"

namespace gspo::tokenizer {
namespace {

constexpr std::size_t kMaxTokenizerFileBytes = std::size_t{1} << 30;

common::StatusOr<AddedToken> ParseAddedToken(const common::Json& json, const JsonContext& context) {
  if (!json.is_object()) return context.Error("expected an object");
  AddedToken token;
  const common::Json* content = FindField(json, "content");
  if (content == nullptr || !content->is_string()) {
    return context.Error("missing \"content\" string");
  }
  token.content = content->AsString();
  GSPO_ASSIGN_OR_RETURN(const std::int64_t id, GetInt(json, "id", context, -1));
  if (id < 0 || id > INT32_MAX) return context.Error("missing or bad \"id\"");
  token.id = static_cast<std::int32_t>(id);
  GSPO_ASSIGN_OR_RETURN(token.special, GetBool(json, "special", context, false));
  GSPO_ASSIGN_OR_RETURN(token.single_word, GetBool(json, "single_word", context, false));
  GSPO_ASSIGN_OR_RETURN(token.lstrip, GetBool(json, "lstrip", context, false));
  GSPO_ASSIGN_OR_RETURN(token.rstrip, GetBool(json, "rstrip", context, false));
  GSPO_ASSIGN_OR_RETURN(token.normalized, GetBool(json, "normalized", context, true));
  return token;
}

}  // namespace

common::StatusOr<std::unique_ptr<HfTokenizer>> HfTokenizer::FromDocument(
    const common::Json& document, const std::string& source) {
  const JsonContext root{source, ""};
  if (!document.is_object()) return root.Error("expected a JSON object");
  GSPO_ASSIGN_OR_RETURN(const std::string version, GetString(document, "version", root, "1.0"));
  if (version != "1.0") {
    return root.Child("version").Error("unknown tokenizer.json version " +
                                       common::QuoteForMessage(version) + "; expected '1.0'");
  }
  std::unique_ptr<HfTokenizer> tokenizer(new HfTokenizer());

  const common::Json* model = FindField(document, "model");
  const JsonContext model_context = root.Child("model");
  if (model == nullptr) return root.Error("missing \"model\"");
  if (!model->is_object()) return model_context.Error("expected an object");
  std::string type = "BPE";  // Old files leave out the type of their BPE model.
  if (FindField(*model, "type") != nullptr || FindField(*model, "merges") == nullptr) {
    GSPO_ASSIGN_OR_RETURN(type, GetType(*model, model_context));
  }
  if (type == "WordPiece" || type == "Unigram" || type == "WordLevel") {
    return model_context.Error("type " + common::QuoteForMessage(type) +
                               " is not supported (only BPE)");
  }
  if (type != "BPE") return model_context.Error("unknown type " + common::QuoteForMessage(type));
  GSPO_ASSIGN_OR_RETURN(tokenizer->model_, BpeModel::FromJson(*model, model_context));

  if (const common::Json* json = FindField(document, "normalizer"); json != nullptr) {
    GSPO_ASSIGN_OR_RETURN(tokenizer->normalizer_,
                          NormalizerFromJson(*json, root.Child("normalizer")));
  }
  if (const common::Json* json = FindField(document, "pre_tokenizer"); json != nullptr) {
    GSPO_ASSIGN_OR_RETURN(tokenizer->pre_tokenizer_,
                          PreTokenizerFromJson(*json, root.Child("pre_tokenizer")));
  }
  if (const common::Json* json = FindField(document, "post_processor"); json != nullptr) {
    GSPO_ASSIGN_OR_RETURN(tokenizer->post_processor_,
                          PostProcessorFromJson(*json, root.Child("post_processor")));
  }
  if (const common::Json* json = FindField(document, "decoder"); json != nullptr) {
    GSPO_ASSIGN_OR_RETURN(tokenizer->decoder_, DecoderFromJson(*json, root.Child("decoder")));
  }

  if (const common::Json* list = FindField(document, "added_tokens"); list != nullptr) {
    const JsonContext list_context = root.Child("added_tokens");
    if (!list->is_array()) return list_context.Error("expected a list");
    for (std::size_t i = 0; i < list->size(); ++i) {
      const JsonContext context = list_context.Index(i);
      GSPO_ASSIGN_OR_RETURN(const AddedToken token, ParseAddedToken(list->elements()[i], context));
      GSPO_RETURN_IF_ERROR(
          tokenizer->added_.Add(token, *tokenizer->model_, tokenizer->normalizer_.get(), context));
    }
  }
  tokenizer->added_.Finalize();
  return tokenizer;
}

common::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view json,
                                                                 const std::string& source) {
  auto tokenizer = [&]() -> common::StatusOr<std::unique_ptr<HfTokenizer>> {
    GSPO_ASSIGN_OR_RETURN(const common::Json document, common::ParseJson(json, source));
    return HfTokenizer::FromDocument(document, source);
  }();
#if defined(__GLIBC__)
  // The document of a large tokenizer.json takes about twice the memory the tokenizer keeps;
  // hand what it freed back to the system instead of leaving it in every process's heap.
  malloc_trim(0);
#endif
  if (!tokenizer.ok()) return tokenizer.status();
  return std::unique_ptr<Tokenizer>(*std::move(tokenizer));
}

common::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  GSPO_ASSIGN_OR_RETURN(const std::string text,
                        common::ReadFileToString(path, kMaxTokenizerFileBytes));
  return FromJson(text, path);
}

namespace {

// Set by EnableSentencePiece() in programs that link gspo_tokenizer_sentencepiece.
SentencePieceLoader& Loader() {
  static SentencePieceLoader loader = nullptr;
  return loader;
}

}  // namespace

void SetSentencePieceLoader(SentencePieceLoader loader) { Loader() = loader; }

common::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromDirectory(const std::string& dir) {
  const std::string json_path = common::JoinPath(dir, "tokenizer.json");
  if (common::PathExists(json_path)) return FromFile(json_path);
  const std::string model_path = common::JoinPath(dir, "tokenizer.model");
  if (common::PathExists(model_path)) {
    if (Loader() != nullptr) return Loader()(model_path);
    return common::InvalidArgumentError(
        model_path +
        ": only a SentencePiece tokenizer.model, and this program reads "
        "tokenizer.json (libsentencepiece bundles its own protobuf and cannot share a process "
        "with the gRPC services); add the checkpoint's tokenizer.json");
  }
  if (!common::IsDirectory(dir)) return common::NotFoundError(dir + ": no such directory");
  return common::NotFoundError(dir + ": has neither tokenizer.json nor tokenizer.model");
}

}  // namespace gspo::tokenizer
