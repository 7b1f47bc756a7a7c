#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: installs, builds, and runs the most complete
# pipeline this version has. Today that is the job-spec pipeline: every example job resolved
# and checked offline, the reference guide's command line turned into a job file, a typo
# caught, and the engine's runtime on this machine. The end-to-end GSPO run replaces it when the
# engine, the rollout and the control plane land.
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
"$bin/gspo-worker" --list-devices

section "Next"
echo "Run the tests:         ./scripts/test.sh"
echo "Job fields:            docs/job-spec.md"
echo "On a GPU host:         scripts/gpu-build.sh (see docs/gpu-host.md)"
