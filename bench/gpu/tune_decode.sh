#!/usr/bin/env bash
# One GPU-host call for work on the decode kernels: build, the GPU tests, the rollout bench with
# each kernel switch flipped (same binary, same run), the per-piece bench and the Nsight Compute
# profile. Logs to $OUT. GSPO_TUNE_CHUNKS: the split-K sizes to try (default "0 32 128").
#   bench/gpu/tune_decode.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/build-gpu/logs}
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0
GSPO_GPU_SKIP_TESTS=1 ./scripts/gpu-build.sh > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
prefix=${GSPO_GPU_PREFIX:-/tmp/gspo-prefix}
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PATH="/opt/torch/.venv/bin:$PATH"
# GSPO_TUNE_TESTS: a ctest -R filter (a one-GPU host cannot run the NCCL tests).
ctest --test-dir build-gpu -L gpu -R "${GSPO_TUNE_TESTS:-.}" --output-on-failure > "$out/gpu-tests.log" 2>&1
grep -E "tests passed|FAILED|Failed|\*\*\*" "$out/gpu-tests.log" | tail -15
config=$(mktemp --suffix .json)
python3 -c "import sys, json; sys.path.insert(0, 'bench'); import model_bench; json.dump(dict(model_bench.GEMMA2_2B, torch_dtype='bfloat16'), open('$config', 'w'))"
bench() {
  build-gpu/bin/gspo bench-rollout --random-config "$config" --device cuda --dtype bfloat16 --prompts 8 --samples 8 \
    --prompt-len 128 --new-tokens 256 --temperature 0.7 --top-p 0.9 --reps 3 "$@" |
    python3 -c "import sys, json
for l in sys.stdin:
    if l.startswith('{'): r = json.loads(l); print(r['config'], round(r['generated_tokens_per_s']), 'tok/s', round(r['decode_step_ms_median'], 3), 'ms/step')"
}
{
  echo "== defaults"; bench --configs base_graphs,lora_r16_graphs
  for chunk in ${GSPO_TUNE_CHUNKS-0 32 128}; do echo "== GSPO_ATTENTION_CHUNK=$chunk"; GSPO_ATTENTION_CHUNK=$chunk bench --configs base_graphs; done
  for keys in 2 8; do echo "== GSPO_ATTENTION_KEYS=$keys"; GSPO_ATTENTION_KEYS=$keys bench --configs base_graphs; done
  echo "== GSPO_SAMPLER_CLUSTERS=0"; GSPO_SAMPLER_CLUSTERS=0 bench --configs base_graphs
  echo "== pieces"; build-gpu/bin/gspo bench-decode-step
} 2>&1 | tee "$out/tune.log"
bench/gpu/profile_decode.sh 800 2>&1 | tail -25
