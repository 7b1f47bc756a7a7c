#!/usr/bin/env bash
# The GPU host's one call: build and test (scripts/gpu-build.sh), then the benchmarks against the
# peer in the same run. Results and logs go to $OUT (the device tool brings it back).
#   bench/gpu/run.sh [--skip-peer] [--no-tests] [--parts rollout,learner,step,qlora,offload,trace,dist,scale9b,scale27b,presets2b,presets9b]
# Copy $OUT/h200.{json,md} to bench/results/ to check them in.
# dist (a host with 2 GPUs): the NCCL tests on their own, then one GPU against two on whole
# GSPO steps (bench/gpu/dist_bench.py, $OUT/h200-x2-dist.{json,md}); alone, `--parts dist` runs
# no peer comparison.
# presets2b, presets9b: the guide's customer-service job of that size through `gspo train`, as a
# user runs it (bench/gpu/preset_jobs.py, $OUT/preset-jobs.json); one size per call fits the limit.
# trace: one learning phase of the 2b learner setting under LibTorch's profiler, with and without
# gradient checkpointing; $OUT/learner-trace*.md sum the kernels (bench/gpu/trace_summary.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/build-gpu/logs}
peer_flag=""
parts=rollout,learner,step
tests=true
while (($#)); do
  case $1 in
    --skip-peer) peer_flag=--skip-peer ;;
    --no-tests) tests=false ;;
    --parts) parts=$2; shift ;;
    *) echo "bench/gpu/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if $tests; then
  ./scripts/gpu-build.sh
else
  GSPO_GPU_SKIP_TESTS=1 ./scripts/gpu-build.sh
fi
prefix=${GSPO_GPU_PREFIX:-/tmp/gspo-prefix}  # where gpu-build.sh unpacked the carried packages
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PATH="/opt/torch/.venv/bin:$PATH"
export NCCL_NVLS_ENABLE=0
if [[ ,$parts, == *,rollout,* ]]; then
  echo "== the fused decode step's pieces" | tee "$out/decode-step.log"
  build-gpu/bin/gspo bench-decode-step | tee -a "$out/decode-step.log"
fi
if [[ ,$parts, == *,dist,* ]]; then
  echo "== NCCL: the two-GPU tests" | tee "$out/dist-tests.log"
  nvidia-smi -L | tee -a "$out/dist-tests.log" || true
  ctest --test-dir build-gpu --output-on-failure -L gpu -R 'gspo_gpu_nccl' --no-tests=error \
    2>&1 | tee -a "$out/dist-tests.log" || echo "dist tests failed" | tee -a "$out/dist-tests.log"
  echo "== NCCL: one GPU against two, whole GSPO steps" | tee "$out/dist-bench.log"
  PYTHONUNBUFFERED=1 python3 bench/gpu/dist_bench.py --gspo build-gpu/bin/gspo --out "$out" 2>&1 | tee -a "$out/dist-bench.log"
fi
if [[ ,$parts, == *,scale9b,* || ,$parts, == *,scale27b,* ]]; then
  # A host with 4 or 8 GPUs: the 9b shape on 1, 2, 4, 8 of them, the 27b shape on 8 (issue:
  # scale-out); one part per call keeps each within the command limit.
  shapes=$(echo ",$parts," | grep -o 'scale[0-9]*b' | sed 's/scale//' | paste -sd, -)
  echo "== NCCL: scale-out, shapes $shapes" | tee "$out/scale-out.log"
  PYTHONUNBUFFERED=1 python3 bench/gpu/scale_out.py --gspo build-gpu/bin/gspo --out "$out" --shapes "$shapes" \
    2>&1 | tee -a "$out/scale-out.log"
fi
if [[ ,$parts, == *,presets* ]]; then
  sizes=$(echo ",$parts," | grep -o 'presets[0-9]*b' | sed 's/presets//' | paste -sd, -)
  echo "== the guide's jobs, sizes $sizes" | tee "$out/preset-jobs.log"
  PYTHONUNBUFFERED=1 python3 bench/gpu/preset_jobs.py --gspo build-gpu/bin/gspo --out "$out" --sizes "$sizes" \
    2>&1 | tee -a "$out/preset-jobs.log"
fi
if [[ ,$parts, == *,trace,* ]]; then
  config=/tmp/gemma-2-2b-shape.json
  (cd bench/gpu && python3 -c "import json, gspo_vs_hf; json.dump(gspo_vs_hf.GEMMA2_2B, open('$config', 'w'))")
  for variant in "" --gradient-checkpointing; do
    name=learner-trace${variant:+-gc}
    echo "== the learner under the profiler ${variant:-(no checkpointing)}" | tee "$out/$name.log"
    build-gpu/bin/gspo bench-learner --random-config $config --device cuda --dtype bfloat16 --reps 1 \
      $variant --trace /tmp/$name.json 2>&1 | tee -a "$out/$name.log"
    python3 bench/gpu/trace_summary.py /tmp/$name.json --json "$out/$name.json" > "$out/$name.md" || true
  done
fi
others=$(echo "$parts" | tr , '\n' | grep -vxE 'dist|scale9b|scale27b|presets[0-9]+b|trace' | paste -sd, - || true)
if [[ -n $others ]]; then
  PYTHONUNBUFFERED=1 python3 bench/gpu/gspo_vs_hf.py --gspo build-gpu/bin/gspo --out "$out" --parts "$others" $peer_flag 2>&1 | tee "$out/gspo-vs-hf.log"
fi
