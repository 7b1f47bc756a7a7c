#!/usr/bin/env bash
# The one test command (README, CI): installs what is missing, configures, builds into build/
# with every core, runs ctest; then builds and tests the configuration without LibTorch
# (GSPO_BUILD_ENGINE=OFF, in build-notorch/) so that the dependency rule cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
# Real tokenizer files for the tokenizer tests (fetched once into a cache, never committed).
export GSPO_TEST_DATA=${GSPO_TEST_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/gspo/test-data}
./scripts/fetch-test-tokenizers.sh >/dev/null
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build -j "$jobs" --output-on-failure --no-tests=error

cmake -S . -B build-notorch -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGSPO_BUILD_ENGINE=OFF
cmake --build build-notorch -j "$jobs"
ctest --test-dir build-notorch -j "$jobs" --output-on-failure --no-tests=error

echo "test.sh: all tests passed"
