#!/usr/bin/env bash
# Per-kernel device time of the fused decode step, from Nsight Compute on the GPU host (run after
# bench/gpu/run.sh built build-gpu/): a short eager rollout on the gemma-2-2b shape (64 rows,
# prompt 128), kernels timed one at a time with the clocks and caches left alone, then summed per
# kernel name over the profiled steps. Writes $OUT/decode-profile.{log,md} (the log is ncu's CSV).
#   bench/gpu/profile_decode.sh [kernels to profile, default 600]
# GSPO_PROFILE_SHAPE=9b profiles the gemma-2-9b shape instead, GSPO_PROFILE_QUANTIZE=nf4 (or int8)
# its quantized base weights, GSPO_PROFILE_CONFIG another bench-rollout configuration (default
# base_eager; e.g. lora_r16_eager), GSPO_PROFILE_KERNELS a kernel-name filter (e.g. 'regex:Nf4')
# and GSPO_PROFILE_SKIP the launches to skip first (default 4000; counted after the filter).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/build-gpu/logs}
count=${1:-600}
prefix=${GSPO_GPU_PREFIX:-/tmp/gspo-prefix}
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PATH="/opt/torch/.venv/bin:/usr/local/cuda/bin:$PATH"
config=$(mktemp --suffix .json)
shape=${GSPO_PROFILE_SHAPE:-2b}
(cd bench/gpu && python3 -c "import json, gspo_vs_hf; json.dump(gspo_vs_hf.GEMMA2_${shape^^}, open('$config', 'w'))")
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu | head -1)
# Skip the warm-up rollout and the prefill: decode kernels of the timed run's middle steps.
GSPO_CUDA_GRAPHS=0 "$ncu" --clock-control none --cache-control none --metrics gpu__time_duration.sum \
  --launch-skip "${GSPO_PROFILE_SKIP:-4000}" --launch-count "$count" \
  ${GSPO_PROFILE_KERNELS:+--kernel-name "$GSPO_PROFILE_KERNELS"} --csv --log-file "$out/decode-profile.log" \
  build-gpu/bin/gspo bench-rollout --random-config "$config" --device cuda --dtype bfloat16 \
  --prompts 8 --samples 8 --prompt-len 128 --new-tokens 64 --reps 1 --configs "${GSPO_PROFILE_CONFIG:-base_eager}" \
  --quantize "${GSPO_PROFILE_QUANTIZE:-none}" > /dev/null || true
python3 - "$out/decode-profile.log" > "$out/decode-profile.md" <<'PY'
import collections, csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]
ni, vi, ui, gi = (head.index(k) for k in ("Kernel Name", "Metric Value", "Metric Unit", "Grid Size"))
scale = {"nsecond": 1.0, "ns": 1.0, "usecond": 1e3, "us": 1e3, "msecond": 1e6, "ms": 1e6}
total, count = collections.defaultdict(float), collections.Counter()
for r in rows[1:]:
    name = r[ni].split("(")[0][-60:] + " " + r[gi]
    total[name] += float(r[vi].replace(",", "")) * scale.get(r[ui], 1.0)
    count[name] += 1
s = sum(total.values())
print("| kernel, grid | calls | mean us | share % |\n|---|---|---|---|")
for name, t in sorted(total.items(), key=lambda kv: -kv[1]):
    print(f"| {name} | {count[name]} | {t / count[name] / 1000:.1f} | {100 * t / s:.1f} |")
print(f"\nsum {s / 1000:.0f} us over {len(rows) - 1} kernels")
PY
cat "$out/decode-profile.md"
