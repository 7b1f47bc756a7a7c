#!/usr/bin/env bash
# docs/operations.md's bare-metal walk-through, run exactly as written (the block between its
# walkthrough markers), on free loopback ports; then, against what it started:
#   - the tiny job SUCCEEDED and Prometheus stored its metrics (the block's own last query);
#   - every metric the dashboard and the alert rules use has samples in the live /metrics of
#     gspo-server after a real gspo-worker trained a real job (promql_names.py check);
#   - the real Prometheus evaluates every dashboard and rule expression without error, the
#     dashboard's plain selectors return series, and it loaded the four alert rules healthy.
#   walkthrough_test.sh SOURCE_DIR BIN_DIR WORK_DIR
set -euo pipefail
src=$1 bin=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"

# Three distinct ports: all sockets stay bound until every port is chosen (one bind at a time
# can be handed the same ephemeral port twice).
read -r grpc_port metrics_port prom_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
export BIN=$bin SRC=$src DIR=$work/run
export GRPC_PORT=$grpc_port METRICS_PORT=$metrics_port PROM_PORT=$prom_port

stop() {
  for f in "$DIR"/*.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null || true; done
}
dump() {
  for f in "$DIR"/*.log; do echo "==== $f"; tail -n 40 "$f"; done
}
trap 'status=$?; ((status)) && dump; stop; exit $status' EXIT

fail() { echo "FAIL: $*"; exit 1; }

# The block, as the document has it.
sed -n '/<!-- walkthrough:start -->/,/<!-- walkthrough:end -->/p' "$src/docs/operations.md" \
  | sed '1,2d;$d' | sed '$d' >"$work/walkthrough.sh"
grep -q 'submit examples/jobs/tiny-cpu.yaml' "$work/walkthrough.sh" || fail "no walk-through block in docs/operations.md"
bash -euo pipefail "$work/walkthrough.sh" >"$work/walkthrough.out" 2>&1 || {
  cat "$work/walkthrough.out"; exit 1; }
cat "$work/walkthrough.out"

grep -q 'job-000001 SUCCEEDED' "$work/walkthrough.out" || fail "the job did not succeed"
grep -q '"status":"success".*"job_id":"job-000001"' "$work/walkthrough.out" \
  || fail "Prometheus has no gspo_job_reward_mean of the job"

# Live metric names.
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >"$work/metrics.txt"
python3 "$here/promql_names.py" check "$work/metrics.txt" \
  "$src/deploy/grafana/gspo-dashboard.json" "$src/deploy/alerts.yml"

# Every expression through the real Prometheus.
query() { curl -sf --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"; }
n=0
while IFS= read -r expr; do
  answer=$(query "$expr") || fail "Prometheus refused: $expr"
  grep -q '"status":"success"' <<<"$answer" || fail "$expr: $answer"
  # A plain selector (no function, no operator) must find the series the panel draws.
  if [[ $expr =~ ^gspo_[a-z_]+(\{[^}]*\})?$ ]]; then
    grep -q '"metric":' <<<"$answer" || fail "no series for $expr: $answer"
  fi
  n=$((n + 1))
done < <(python3 "$here/promql_names.py" exprs "$src/deploy/grafana/gspo-dashboard.json" "$src/deploy/alerts.yml")
echo "Prometheus evaluated $n expressions"

# The rules are loaded and, once evaluated, healthy.
for i in $(seq 60); do
  rules=$(curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/rules")
  [[ $(grep -o '"health":"ok"' <<<"$rules" | wc -l) -eq 4 ]] && break
  sleep 1
done
for alert in GspoJobFailed GspoWorkerLost GspoRewardServiceErrors GspoJobNoProgress; do
  grep -q "\"name\":\"$alert\"" <<<"$rules" || fail "rule $alert not loaded: $rules"
done
[[ $(grep -o '"health":"ok"' <<<"$rules" | wc -l) -eq 4 ]] || fail "rules not healthy: $rules"
echo "walkthrough_test: passed"
