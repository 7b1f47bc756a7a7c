#!/usr/bin/env bash
# Runs the demo job (examples/jobs/demo-customer-service.yaml) with `gspo train` for three
# seeds and prints, per seed, the mean reward of the first and last 20 % of its steps as a
# Markdown table (the figures of bench/results/demo-reward.md).
#
#   bench/demo_seeds.sh [SEED...]          (default seeds 1 2 3; GSPO_BIN: the gspo binary,
#                                            default build-demo/bin/gspo, as scripts/demo.sh builds)
set -euo pipefail
cd "$(dirname "$0")/.."
gspo=${GSPO_BIN:-build-demo/bin/gspo}
# As in scripts/demo.sh: spinning OpenMP threads slow training down on a busy machine.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
[[ -x $gspo ]] || { echo "demo_seeds: $gspo not built (run ./scripts/demo.sh or set GSPO_BIN)" >&2; exit 2; }

echo "| seed | steps | mean reward, first 20 % | mean reward, last 20 % | change | job seconds |"
echo "|---|---|---|---|---|---|"
for seed in "${seeds[@]}"; do
  out=outputs/demo-seeds/seed-$seed
  rm -rf "$out"
  mkdir -p outputs/demo-seeds
  start=$SECONDS
  "$gspo" train examples/jobs/demo-customer-service.yaml --no-progress \
    --set training.seed="$seed" --set output.output_dir="$out" >"$out.log" 2>&1 ||
    { echo "demo_seeds: seed $seed failed; see $out.log" >&2; exit 1; }
  read -r _ first _ last _ steps < <(python3 scripts/demo_report.py "$out" --quiet)
  change=$(python3 -c "print(f'{$last - $first:+.4f}')")
  echo "| $seed | $steps | $first | $last | $change | $((SECONDS - start)) |"
done
