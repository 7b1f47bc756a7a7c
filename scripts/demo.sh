#!/usr/bin/env bash
# First run: one command on a fresh Debian 12 machine installs what is missing, builds the four
# programs, starts a coordinator and one worker on loopback, and runs a real GSPO job through
# them: the tiny customer-service model of examples/models/tiny-cs (a Gemma 2 architecture,
# warm-started on the project's own scripted dialogues) learns with LoRA from simulated
# customers and the guide's customer-service reward on two CPU cores, and the reward rises.
#
#   ./scripts/demo.sh        (from a fresh clone, the build is most of the time on two cores;
#                             bench/results/demo-reward.md has measured times)
#
# Writes outputs/demo/ (metrics.jsonl, samples.jsonl, final/adapter in PEFT layout, curve.svg)
# and keeps the coordinator's and worker's state and logs in outputs/demo-cluster/. Stops
# everything it started when it exits, also on Ctrl-C or an error.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

section() { printf '\n\033[1m== %s\033[0m\n' "$1"; }

section "Setup (Debian packages; nothing to do when they are present)"
./scripts/setup.sh

# Only the four programs the demo runs, in their own build directory: -O1 without debug
# information compiles LibTorch-heavy files about twice as fast as the default RelWithDebInfo
# (worker/engine/model/decoder_model.cc: 9 to 10 s of CPU against 17 to 21 s), while a training
# step spends its time in LibTorch's own prebuilt kernels. ./scripts/test.sh builds everything, tests included, into build/. (At -O1 GCC 12 warns
# that a std::variant member "may be used uninitialized" in code that initialises it: noise.)
section "Build (build-demo/: gspo, gspo-server, gspo-worker, gspoctl)"
build_start=$SECONDS
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG -Wno-maybe-uninitialized" \
  -DGSPO_BUILD_TESTS=OFF >/dev/null
cmake --build build-demo -j "$(nproc)" --target gspo gspo-server gspo-worker gspoctl
echo "build: $((SECONDS - build_start)) s"
bin=$PWD/build-demo/bin

out=outputs/demo
cluster=outputs/demo-cluster
rm -rf "$out" "$cluster"
mkdir -p "$cluster"

pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

# OpenMP threads that spin while they wait take the cores from each other and from anything
# else running: on a busy two-core machine (load 7 to 10) training steps took 15 to 100 s with
# the default and 6 to 36 s with passive waiting. The ranks inherit the setting.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

section "Coordinator and one CPU worker on loopback"
# Two different bearer tokens: one for clients (gspoctl), one for workers.
head -c 32 /dev/urandom | base64 | tr -d '/+=' >"$cluster/client.token"
head -c 32 /dev/urandom | base64 | tr -d '/+=' >"$cluster/worker.token"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/gspo-server" --listen "127.0.0.1:$port" --state-dir "$cluster/state" \
  --client-token-file "$cluster/client.token" --worker-token-file "$cluster/worker.token" \
  >"$cluster/server.log" 2>&1 &
pids+=($!)
"$bin/gspo-worker" --coordinator "127.0.0.1:$port" --token-file "$cluster/worker.token" \
  --devices cpu --work-root "$cluster/work" >"$cluster/worker.log" 2>&1 &
pids+=($!)
export GSPO_SERVER=127.0.0.1:$port GSPO_TOKEN_FILE=$PWD/$cluster/client.token
for _ in $(seq 100); do
  [[ $("$bin/gspoctl" -o json workers 2>/dev/null) == *cpu* ]] && break
  sleep 0.2
done
"$bin/gspoctl" workers

section "GSPO job through the coordinator: examples/jobs/demo-customer-service.yaml"
job_start=$SECONDS
"$bin/gspoctl" submit examples/jobs/demo-customer-service.yaml --watch
job_seconds=$((SECONDS - job_start))

section "What the job learned"
python3 scripts/demo_report.py "$out" --svg "$out/curve.svg"
echo
echo "Adapter (PEFT layout):   $out/final/adapter  ($(ls "$out/final/adapter" | tr '\n' ' '))"
echo "Every step's metrics:    $out/metrics.jsonl; conversations: $out/samples.jsonl"
echo "Coordinator and worker:  $cluster/server.log, $cluster/worker.log"
echo "Job: ${job_seconds} s; whole demo: $((SECONDS - started)) s"

section "The same on a GPU with a real Gemma checkpoint"
cat <<'TXT'
On a host with an NVIDIA GPU and the CUDA build (docs/gpu-host.md, scripts/gpu-build.sh), with
google/gemma-2-2b-it in the local Hugging Face cache or a local directory:

  gspo-server --listen 0.0.0.0:50051 --state-dir state \
      --client-token-file client.token --worker-token-file worker.token &
  gspo-worker --coordinator localhost:50051 --token-file worker.token --devices 0 --work-root work &
  gspoctl submit examples/jobs/gemma2-2b-it-customer-service.yaml --watch

or without the daemon: gspo train examples/jobs/gemma2-2b-it-customer-service.yaml
TXT
