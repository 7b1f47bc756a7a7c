#!/usr/bin/env bash
# Downloads (does not install) the Debian packages the GPU host lacks into .gpu-debs/ (git-ignored),
# so that a device run can carry them: gRPC and protobuf, yaml-cpp, GoogleTest, PCRE2, utf8proc,
# and the test tokenizer files. Run on the
# development machine; scripts/gpu-build.sh unpacks them under a prefix on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-debs
cd .gpu-debs
packages=(
  libgrpc++-dev libgrpc-dev libgrpc++1.51 libgrpc29 libprotobuf-dev libprotobuf32
  libprotobuf-lite32 libprotoc32 protobuf-compiler protobuf-compiler-grpc libabsl-dev
  libabsl20220623 libre2-9 libre2-dev libc-ares2 libc-ares-dev libssl-dev libssl3 zlib1g-dev
  libyaml-cpp-dev libyaml-cpp0.7 libgtest-dev libgmock-dev libpcre2-dev libpcre2-8-0
  libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libutf8proc-dev libutf8proc2 libsentencepiece-dev
  libsentencepiece0
  # the coordinator: its job store and the /metrics HTTP server (Boost.Asio headers)
  libsqlite3-dev libsqlite3-0 libboost1.74-dev
)
missing=()
for p in "${packages[@]}"; do
  compgen -G "${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get download "${missing[@]}"
fi
# The real tokenizer files the tokenizer tests compare against, compressed (about 8 MB).
data=$(../scripts/fetch-test-tokenizers.sh)
for name in gemma3 qwen3; do
  mkdir -p "tokenizers/$name"
  [[ -s tokenizers/$name/tokenizer.json.gz ]] || gzip -9c "$data/$name/tokenizer.json" > "tokenizers/$name/tokenizer.json.gz"
  cp "$data/$name/tokenizer_config.json" "tokenizers/$name/"
done
du -sh .
