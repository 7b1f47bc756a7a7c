#!/bin/sh
# Step time of the tiny CPU job: colocated (1 and 2 ranks) against disaggregated (1 rollout +
# 1 learner, with and without the overlap), one intra-op thread per rank. Prints one Markdown
# row per setting: the mean and the range of seconds_step over steps 2..N (step 1 warms up).
#   bench/disaggregated_cpu.sh [build-dir] [steps]        (from the repository root)
set -eu
build=${1:-build}
steps=${2:-8}
out=$(mktemp -d "${TMPDIR:-/tmp}/gspo-disagg-bench-XXXXXX")
trap 'rm -rf "$out"' EXIT
job="examples/jobs/tiny-cpu.yaml --no-progress --threads 1 --set training.num_outer_iterations=$steps
     --set output.save_steps=0 --set output.export=[adapter]"

run() {  # name, extra arguments
  name=$1
  shift
  # shellcheck disable=SC2086
  CUDA_VISIBLE_DEVICES= "$build/bin/gspo" train $job --set output.output_dir="$out/$name" "$@" \
    > "$out/$name.log" 2>&1 || { cat "$out/$name.log"; exit 1; }
  python3 - "$out/$name/metrics.jsonl" "$name" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])][1:]
s = [r["seconds_step"] for r in rows]
extra = ""
if "policy_staleness_mean" in rows[0]:
    extra = "staleness %.2f, learner waits %.2f s, rollout waits %.2f s" % (
        sum(r["policy_staleness_mean"] for r in rows) / len(rows),
        sum(r["seconds_wait_rollout"] for r in rows) / len(rows),
        sum(r["seconds_wait_policy"] for r in rows) / len(rows))
print("| %s | %.2f | %.2f to %.2f | %s |" % (sys.argv[2], sum(s) / len(s), min(s), max(s), extra))
EOF
}

echo "| setting | seconds_step (mean) | range | |"
echo "|---|---|---|---|"
run colocated-1
run colocated-2 --nproc 2
run disaggregated-1+1-staleness-0 --nproc 2 --set resources.mode=disaggregated \
  --set resources.max_staleness=0
run disaggregated-1+1-staleness-1 --nproc 2 --set resources.mode=disaggregated
