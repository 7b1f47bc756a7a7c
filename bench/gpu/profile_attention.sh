#!/usr/bin/env bash
# Nsight Compute's view of the decode attention kernels on the gemma-2-2b piece of
# `gspo bench-decode-step` (64 rows, 4 kv heads, 256 of 384 slots filled), once per setting of
# a switch (GSPO_ATTENTION_MMA unless named): throughput against the device's peaks, occupancy, warp stall reasons and
# the memory traffic, clocks and caches left alone. Builds first when build-gpu/ is missing.
# Writes $OUT/attention-profile-<setting>.txt.
#   bench/gpu/profile_attention.sh ['1 0' [VARIABLE]]
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/build-gpu/logs}
mkdir -p "$out"
[ -x build-gpu/bin/gspo ] || GSPO_GPU_SKIP_TESTS=1 ./scripts/gpu-build.sh > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
export LD_LIBRARY_PATH="${GSPO_GPU_PREFIX:-/tmp/gspo-prefix}/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PATH="/opt/torch/.venv/bin:/usr/local/cuda/bin:$PATH"
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu | head -1)
variable=${2:-GSPO_ATTENTION_MMA}
for setting in ${1:-1 0}; do
  env "$variable=$setting" "$ncu" --clock-control none --cache-control none -k regex:DecodeAttention \
    --launch-skip 12 --launch-count 1 --section SpeedOfLight --section Occupancy --section LaunchStats \
    --section WarpStateStats --section MemoryWorkloadAnalysis --section SchedulerStats --section SourceCounters \
    build-gpu/bin/gspo bench-decode-step > "$out/attention-profile-$setting.txt" 2>&1
  echo "== $variable=$setting"
  grep -E "Duration|DRAM Throughput|Memory Throughput|L2 Hit|L1/TEX Hit|Achieved Occupancy|Registers Per|Eligible Warps|Issued Warp|No Eligible|Stall|Waves Per SM|Block Limit" \
    "$out/attention-profile-$setting.txt" | head -40
done
