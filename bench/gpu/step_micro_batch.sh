#!/usr/bin/env bash
# One GPU-host call: whole GSPO steps (`gspo bench-step`, the peer baseline's setting: gemma-2-2b
# shape, 8 prompts x 8 samples, 128 + 256 tokens, LoRA r16 on q/k/v/o) at each learner
# micro-batch, the learner alone at the larger ones (peak memory), then the peer's rollouts and
# learner (HF + peft, bench/gpu/hf_gspo_baseline.py) in the same call. No tests (a build that
# ran them). Logs and JSON lines to $OUT.
#   bench/gpu/step_micro_batch.sh ['16 32 64']
set -u
sizes=${1:-16 32 64}
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/build-gpu/logs}
mkdir -p "$out"
GSPO_GPU_SKIP_TESTS=1 ./scripts/gpu-build.sh > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
export PATH=/opt/torch/.venv/bin:$PATH LD_LIBRARY_PATH=/tmp/gspo-prefix/usr/lib/x86_64-linux-gnu
cfg=$(mktemp --suffix .json)
python3 -c "import sys, json; sys.path.insert(0, 'bench'); import model_bench; json.dump(dict(model_bench.GEMMA2_2B, torch_dtype='bfloat16'), open('$cfg', 'w'))"
common=(--random-config "$cfg" --device cuda --dtype bfloat16 --lora-r 16)
# The first size again at the end: the order's effect shows as the two runs' difference.
for mb in $sizes ${sizes%% *}; do
  build-gpu/bin/gspo bench-step "${common[@]}" --prompts 8 --samples 8 --prompt-len 128 --new-tokens 256 \
    --temperature 0.7 --top-p 0.9 --micro-batch "$mb" --reps 5 |
    sed "s/^{/{\"micro_batch\": $mb, /" | tee -a "$out/step-micro-batch.jsonl" | cut -c1-400
done
for mb in ${sizes#* }; do
  build-gpu/bin/gspo bench-learner "${common[@]}" --sequences 64 --prompt-len 128 --completion-len 256 \
    --micro-batch "$mb" --lora-targets q_proj,k_proj,v_proj,o_proj --reps 3 |
    grep '^{' | tee -a "$out/learner-micro-batch.jsonl" | cut -c1-300
done
(cd bench/gpu && HF_PARTS=rollout2b,learner2b,compiled BUDGET_S=300 HF_BASELINE_OUT="$out" \
  python3 hf_gspo_baseline.py > "$out/peer.log" 2>&1)
grep -E "ROLLOUT|LEARNER" "$out/peer.log" | cut -c1-160
