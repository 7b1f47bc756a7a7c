#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: installs, builds, and runs the most complete
# pipeline this version has: every example job resolved and checked offline, the reference
# guide's command line turned into a job file, a typo caught, then a real GSPO run on two CPU
# cores with `gspo train` (tiny random model, customer-service scenarios, multi-turn simulated
# users, multi-objective reward, LoRA, checkpoints, PEFT and merged exports). The run goes
# through the coordinator (gspoctl submit) once the control plane lands.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
bin=build/bin
out=outputs/demo
mkdir -p "$out"

section() { printf '\n\033[1m== %s\033[0m\n' "$1"; }

section "Example jobs (one per model size and task of the guide)"
for job in examples/jobs/*.yaml; do
  "$bin/gspoctl" validate "$job"
done

section "The guide's command line, as a job file"
echo "\$ gspoctl validate --model google/gemma-2-9b-it --task customer_service --use-lora --use-4bit -o yaml"
"$bin/gspoctl" validate --model google/gemma-2-9b-it --task customer_service --use-lora --use-4bit \
  -o yaml | tee "$out/gemma-2-9b-it-customer-service.yaml" | sed -n '1,40p'
echo "... (written in full to $out/gemma-2-9b-it-customer-service.yaml)"

section "A typo is caught with its place and a suggestion (exit code 2)"
printf 'apiVersion: gspo/v1\nmodel:\n  name_or_path: google/gemma-2-2b-it\ngpso:\n  num_generations: 1\n' \
  > "$out/typo.yaml"
set +e
"$bin/gspoctl" validate "$out/typo.yaml"
echo "exit code: $?"
set -e

section "Engine runtime on this machine"
"$bin/gspo" info

section "A GSPO run on this machine: examples/jobs/tiny-cpu.yaml"
rm -rf "$out/tiny-cpu"
"$bin/gspo" train examples/jobs/tiny-cpu.yaml --set output.output_dir="$out/tiny-cpu"
python3 - "$out/tiny-cpu/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"steps: {len(rows)}")
for r in rows:
    parts = ", ".join(f"{k.split('/')[1]} {v:.2f}" for k, v in r.items() if k.startswith("reward/"))
    print(f"  step {r['step']}: reward {r['reward_mean']:.3f} ({parts}); loss {r['loss']:+.5f}; "
          f"clip {r['clip_fraction']:.2f}; {r['tokens_per_second']:.0f} tok/s")
PY
echo "Adapter (PEFT layout):  $out/tiny-cpu/final/adapter"
echo "Merged model:           $out/tiny-cpu/final/merged"
echo "The tiny model is random, so the reward is noise; the same command trains a real model:"
echo "  gspo train examples/jobs/gemma2-2b-it-customer-service.yaml   (a local or cached checkpoint)"

section "Next"
echo "Run the tests:         ./scripts/test.sh"
echo "Job fields:            docs/job-spec.md"
echo "On a GPU host:         scripts/gpu-build.sh (see docs/gpu-host.md)"
