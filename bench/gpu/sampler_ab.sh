#!/usr/bin/env bash
# One GPU-host call comparing the fused sampler's variants in one binary: each cluster block's
# part of the row staged in shared memory or read on every pass (GSPO_SAMPLER_STAGED). Builds,
# runs the GPU tests once with the defaults and the sampler cases under each variant, then two
# rounds of the rollout bench and the sampler piece per variant. Logs to $OUT.
#   bench/gpu/sampler_ab.sh
cd "$(dirname "$0")/../.."
set -u
export OUT
GSPO_GPU_SKIP_TESTS=1 ./scripts/gpu-build.sh > $OUT/build.log 2>&1 || { tail -30 $OUT/build.log; exit 1; }
export PATH=/opt/torch/.venv/bin:$PATH LD_LIBRARY_PATH=/tmp/gspo-prefix/usr/lib/x86_64-linux-gnu
ctest --test-dir build-gpu -L gpu -R 'runtime|rollout|fused|dequant' --output-on-failure > $OUT/gpu-tests.log 2>&1
grep -E "tests passed|Failed|FAILED" $OUT/gpu-tests.log | head
t=$(ls build-gpu/bin/*fused_decode* build-gpu/tests/*fused_decode* 2>/dev/null | head -1)
for st in 1 0; do
  GSPO_SAMPLER_STAGED=$st $t --gtest_filter='FusedSampler.*' > $OUT/sampler-$st.log 2>&1; echo "staged=$st tests: $(grep -E 'PASSED|FAILED' $OUT/sampler-$st.log | head -3 | tr '\n' ' ')"
done
cfg=$(mktemp --suffix .json); python3 -c "import sys, json; sys.path.insert(0, 'bench'); import model_bench; json.dump(dict(model_bench.GEMMA2_2B, torch_dtype='bfloat16'), open('$cfg', 'w'))"
for round in 1 2; do for st in 1 0; do
  r=$(GSPO_SAMPLER_STAGED=$st build-gpu/bin/gspo bench-rollout --random-config $cfg --device cuda --dtype bfloat16 --prompts 8 --samples 8 --prompt-len 128 --new-tokens 256 --temperature 0.7 --top-p 0.9 --lora-r 16 --reps 3 --configs base_graphs,lora_r16_graphs | tee -a $OUT/ab.jsonl | python3 -c "import sys, json
print(' '.join(f\"{r['config']} {r['generated_tokens_per_s']:.0f} tok/s {r['decode_step_ms_median']:.3f} ms\" for r in map(json.loads, (l for l in sys.stdin if l.startswith('{')))))")
  p=$(GSPO_SAMPLER_STAGED=$st build-gpu/bin/gspo bench-decode-step | tee -a $OUT/pieces.jsonl | python3 -c "import sys, json; print(json.loads(sys.stdin.read())['sample_top_p_us'])")
  echo "round $round staged=$st: $r; sampler piece $p us"
done; done
