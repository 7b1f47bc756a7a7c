#!/usr/bin/env bash
# One GPU-host call comparing the settings of one kernel switch in one binary (same host, same
# run: only same-call figures compare). Builds, runs the one-GPU tests with the defaults and the
# given gtest filter under each setting, then two rounds of the rollout bench (gemma-2-2b shape,
# the peer's setting, base and LoRA r16, CUDA graphs) and of the per-piece bench per setting.
# GSPO_AB_ROUNDS sets the rounds (default 2); GSPO_AB_PEER=1 then runs the peer's rollout (HF static
# cache + torch.compile and eager, bench/gpu/hf_gspo_baseline.py) in the same call, for ratios.
# GSPO_AB_BENCH=learner times the learner instead (the peer's learner setting: 64 x (128 + 256)
# tokens, micro-batch 8, LoRA r16 on q/k/v/o, with operator counts; the peer: HF + peft, eager
# and sdpa attention, with and without checkpointing).
# GSPO_AB_LEARNER_ARGS adds arguments to every learner run (e.g. '--micro-batch 32 --trace /tmp/t.json');
# GSPO_AB_SKIP_TESTS=1 skips the GPU tests (a second call on a host that ran them);
# GSPO_AB_MICRO_BATCH sets the learner's micro-batch (default 8, the peer's). With the learner,
# GSPO_AB_STEP=1 then times whole GSPO steps (`gspo bench-step`, the same micro-batch) and
# GSPO_AB_9B=1 the 9b shape (LoRA r64 on all 7 modules, checkpointing, optimizer offload,
# micro-batch 4), both with the defaults, to $OUT/step.jsonl and $OUT/learner-9b.jsonl.
# Without GSPO_AB_BENCH=learner, GSPO_AB_STEP=1 times whole steps (micro-batch 16) under each
# setting, to $OUT/step-ab.jsonl.
# GSPO_AB_PEER_PARTS picks the peer's sections (default learner2b; 'rollout2b,learner2b,compiled'
# adds its rollouts, and then its whole step, best and eager, is printed) and GSPO_AB_PEER_BUDGET
# their time budget in seconds (default 300). The learner issue's figures in one call:
#   GSPO_AB_BENCH=learner GSPO_AB_MICRO_BATCH=16 GSPO_AB_ROUNDS=1 GSPO_AB_STEP=1 GSPO_AB_PEER=1 \
#   GSPO_AB_PEER_PARTS=rollout2b,learner2b,compiled bench/gpu/switch_ab.sh GSPO_PROMPT_SHARING '1 0'
# Logs and raw JSON lines to $OUT.
#   bench/gpu/switch_ab.sh VARIABLE 'VALUE VALUE...' [GTEST_FILTER]
#   e.g. bench/gpu/switch_ab.sh GSPO_ATTENTION_MMA '1 0' 'FusedDecodeHeadDims.*'
#        bench/gpu/switch_ab.sh GSPO_SAMPLER_REJECTION_ROUNDS '4 0' 'FusedSampler.*'
#        GSPO_AB_BENCH=learner bench/gpu/switch_ab.sh GSPO_TRAINING_NODES '1 0'
set -u
variable=$1 values=$2 filter=${3:-}
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/build-gpu/logs}
mkdir -p "$out"
GSPO_GPU_SKIP_TESTS=1 ./scripts/gpu-build.sh > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
export PATH=/opt/torch/.venv/bin:$PATH LD_LIBRARY_PATH=/tmp/gspo-prefix/usr/lib/x86_64-linux-gnu
if [ "${GSPO_AB_SKIP_TESTS:-0}" != 1 ]; then
  ctest --test-dir build-gpu -L gpu -R 'runtime|rollout|fused|dequant|adamw|training_nodes' --output-on-failure > "$out/gpu-tests.log" 2>&1
  grep -E "tests passed|Failed|FAILED" "$out/gpu-tests.log" | head
fi
if [ -n "$filter" ]; then
  t=$(ls build-gpu/bin/*fused_decode* build-gpu/tests/*fused_decode* 2>/dev/null | head -1)
  for v in $values; do
    env "$variable=$v" "$t" --gtest_filter="$filter" > "$out/tests-$variable-$v.log" 2>&1
    echo "$variable=$v tests: $(grep -E 'PASSED|FAILED' "$out/tests-$variable-$v.log" | head -3 | tr '\n' ' ')"
  done
fi
# Whole GSPO steps on the peer's setting at learner micro-batch $1 (median of 3).
bench_step() {
  build-gpu/bin/gspo bench-step --random-config "$cfg" --device cuda --dtype bfloat16 --prompts 8 --samples 8 \
    --prompt-len 128 --new-tokens 256 --temperature 0.7 --top-p 0.9 --lora-r 16 --micro-batch "$1" --reps 3
}
cfg=$(mktemp --suffix .json)
python3 -c "import sys, json; sys.path.insert(0, 'bench'); import model_bench; json.dump(dict(model_bench.GEMMA2_2B, torch_dtype='bfloat16'), open('$cfg', 'w'))"
if [ "${GSPO_AB_BENCH:-rollout}" = learner ]; then
  for round in $(seq "${GSPO_AB_ROUNDS:-2}"); do
    for v in $values; do
      r=$(env "$variable=$v" build-gpu/bin/gspo bench-learner --random-config "$cfg" --device cuda --dtype bfloat16 \
            --sequences 64 --prompt-len 128 --completion-len 256 --micro-batch "${GSPO_AB_MICRO_BATCH:-8}" --lora-r 16 \
            --lora-targets q_proj,k_proj,v_proj,o_proj --reps 3 --op-counts ${GSPO_AB_LEARNER_ARGS:-} | tee -a "$out/ab-learner.jsonl" |
          python3 -c "import sys, json
for r in map(json.loads, (l for l in sys.stdin if l.startswith('{'))):
    print(f\"{r['tokens_per_s']:.0f} tok/s, phases {r['seconds']}, peak {r['peak_GiB']:.2f} GiB, {r['op_counts']['operators']} operators\")")
      echo "round $round $variable=$v micro-batch ${GSPO_AB_MICRO_BATCH:-8}: learner $r"
    done
  done
  if [ "${GSPO_AB_STEP:-0}" = 1 ]; then
    bench_step "${GSPO_AB_MICRO_BATCH:-8}" | tee "$out/step.jsonl" | cut -c1-400
  fi
  if [ "${GSPO_AB_9B:-0}" = 1 ]; then
    cfg9=$(mktemp --suffix .json)
    (cd bench/gpu && python3 -c "import json, gspo_vs_hf; json.dump(gspo_vs_hf.GEMMA2_9B, open('$cfg9', 'w'))")
    build-gpu/bin/gspo bench-learner --random-config "$cfg9" --device cuda --dtype bfloat16 --sequences 64 \
      --prompt-len 128 --completion-len 256 --micro-batch 4 --lora-r 64 \
      --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --gradient-checkpointing \
      --optimizer-offload --reps 3 | tee "$out/learner-9b.jsonl" | cut -c1-400
  fi
  if [ "${GSPO_AB_PEER:-0}" = 1 ]; then
    (cd bench/gpu && HF_PARTS=${GSPO_AB_PEER_PARTS:-learner2b} BUDGET_S=${GSPO_AB_PEER_BUDGET:-300} HF_BASELINE_OUT="$out" \
      python3 hf_gspo_baseline.py > "$out/peer.log" 2>&1)
    python3 -c "import json, sys
r = json.load(open(sys.argv[1]))
learn = {k: v for k, v in r.items() if k.startswith('learner_') and isinstance(v, dict)}
roll = {k: v for k, v in r.items() if k.startswith('rollout_2b') and 'lora' not in k and isinstance(v, dict)}
print('peer:', ', '.join(f\"{k} {v['tok_s']:.0f} tok/s {v['peak_GiB']:.1f} GiB\" for k, v in learn.items()))
print('peer rollouts:', ', '.join(f\"{k} {v['gen_tok_s']:.0f} tok/s {v['time_s']:.2f} s\" for k, v in roll.items()))
# The peer's whole step: a rollout plus a learning phase of the same 64 x 384 tokens.
if roll and learn:
    best = min(v['time_s'] for v in roll.values()) + min(v['time_s'] for v in learn.values())
    print(f'peer step, best rollout + best learner: {64 * 384 / best:.0f} tok/s ({best:.2f} s)')
    eager = [roll.get('rollout_2b_eager_base'), learn.get('learner_2b_eager_nogc')]
    if all(eager):
        s = eager[0]['time_s'] + eager[1]['time_s']
        print(f'peer step, eager rollout + eager learner: {64 * 384 / s:.0f} tok/s ({s:.2f} s)')" "$out/hf_results.json"
  fi
  exit 0
fi
for round in $(seq "${GSPO_AB_ROUNDS:-2}"); do
  for v in $values; do
    r=$(env "$variable=$v" build-gpu/bin/gspo bench-rollout --random-config "$cfg" --device cuda --dtype bfloat16 \
          --prompts 8 --samples 8 --prompt-len 128 --new-tokens 256 --temperature 0.7 --top-p 0.9 --lora-r 16 \
          --reps 3 --configs base_graphs,lora_r16_graphs | tee -a "$out/ab.jsonl" | python3 -c "import sys, json
print(' '.join(f\"{r['config']} {r['generated_tokens_per_s']:.0f} tok/s {r['decode_step_ms_median']:.3f} ms\" for r in map(json.loads, (l for l in sys.stdin if l.startswith('{')))))")
    env "$variable=$v" build-gpu/bin/gspo bench-decode-step > "$out/pieces-$variable-$v-$round.json"
    echo "round $round $variable=$v: $r; pieces $(tr -d '\n' < "$out/pieces-$variable-$v-$round.json" | head -c 400)"
  done
done
if [ "${GSPO_AB_STEP:-0}" = 1 ]; then  # whole steps under each setting (micro-batch 16)
  for v in $values; do
    (export "$variable=$v"; bench_step 16) |
      sed "s/^{/{\"$variable\": \"$v\", /" | tee -a "$out/step-ab.jsonl" | cut -c1-400
  done
fi
if [ "${GSPO_AB_PEER:-0}" = 1 ]; then
  (cd bench/gpu && HF_PARTS=rollout2b,compiled BUDGET_S=300 HF_BASELINE_OUT="$out" python3 hf_gspo_baseline.py > "$out/peer.log" 2>&1)
  python3 -c "import json, sys
r = json.load(open(sys.argv[1]))
print('peer:', ', '.join(f\"{k} {v['gen_tok_s']:.0f} tok/s {v['ms_per_step']:.2f} ms\" for k, v in r.items() if k.startswith('rollout_') and isinstance(v, dict)))" "$out/hf_results.json"
fi
