// How Tokenizer::FromDirectory reaches SentencePiece for checkpoints that ship only a
// tokenizer.model. libsentencepiece carries its own copy of protobuf, which crashes a process
// that also links libprotobuf (the gspo tool and the daemons do, for gRPC and job specs), so the
// adapter lives in its own library (gspo_tokenizer_sentencepiece) that a program opts into with
// EnableSentencePiece(); without it, FromDirectory explains that tokenizer.json is needed.
// Setting the loader is not thread-safe: do it once at start-up.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "worker/tokenizer/tokenizer.h"

namespace gspo::tokenizer {

using SentencePieceLoader = common::StatusOr<std::unique_ptr<Tokenizer>> (*)(const std::string& path);

void SetSentencePieceLoader(SentencePieceLoader loader);

// Defined in gspo_tokenizer_sentencepiece: makes FromDirectory read tokenizer.model files.
void EnableSentencePiece();

}  // namespace gspo::tokenizer
