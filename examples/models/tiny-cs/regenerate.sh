#!/usr/bin/env bash
# Rebuilds examples/models/tiny-cs from the project's own material and tools, from the
# repository root:  examples/models/tiny-cs/regenerate.sh [build/bin]
#   1. scripted customer-service conversations from the demo job's scenarios (make-sft-data)
#   2. a byte-level BPE tokenizer learned from them (train-tokenizer)
#   3. random weights for config.json (init-model)
#   4. supervised warm start of every weight on the conversations (train, algorithm: sft)
#   5. the warm-started weights and the tokenizer copied here
# Work files go to outputs/tiny-cs-build/. Deterministic for the same LibTorch build.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin=${1:-build-demo/bin}
work=outputs/tiny-cs-build
model=examples/models/tiny-cs
rm -rf "$work"
mkdir -p "$work/init"

"$bin/gspo" make-sft-data --job examples/jobs/demo-customer-service.yaml --per-scenario 16 --seed 0 \
  --out "$work/conversations.jsonl"
"$bin/gspo" train-tokenizer --data "$work/conversations.jsonl" --vocab-size 1024 --out "$work/init"
"$bin/gspo" init-model --config "$model/config.json" --out "$work/init" --seed 0
cp "$model/generation_config.json" "$work/init/"
"$bin/gspo" train examples/jobs/tiny-cs-sft.yaml --no-progress
for f in model.safetensors tokenizer.json tokenizer_config.json; do
  cp "$work/sft/final/merged/$f" "$model/$f"
done
echo "regenerate: $model rebuilt from $work"
