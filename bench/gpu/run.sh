#!/usr/bin/env bash
# The GPU host's one call: build and test (scripts/gpu-build.sh), then the benchmarks against the
# peer in the same run. Results and logs go to $OUT (the device tool brings it back).
#   bench/gpu/run.sh [--skip-peer] [--no-tests] [--parts rollout,learner,step,qlora]
# Copy $OUT/h200.{json,md} to bench/results/ to check them in.
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
PYTHONUNBUFFERED=1 python3 bench/gpu/gspo_vs_hf.py --gspo build-gpu/bin/gspo --out "$out" --parts "$parts" $peer_flag 2>&1 | tee "$out/gspo-vs-hf.log"
