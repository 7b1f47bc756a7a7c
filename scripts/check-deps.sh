#!/usr/bin/env bash
# The dependency rule (ARCHITECTURE.md): the engine never includes gRPC or protobuf headers, and
# the server, the client and common/ never include LibTorch. Run by ctest; exits 1 on a breach.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
status=0

breach() {
  echo "dependency rule: $1" >&2
  status=1
}

if hits=$(grep -rEn '#include [<"](grpc|grpcpp|google/protobuf)/|\.pb\.h[">]' \
            "$root/worker/engine" 2>/dev/null); then
  breach "worker/engine includes gRPC/protobuf headers:"$'\n'"$hits"
fi
for dir in server client common; do
  if hits=$(grep -rEn '#include [<"](torch|ATen|c10)/' "$root/$dir" 2>/dev/null); then
    breach "$dir/ includes LibTorch headers:"$'\n'"$hits"
  fi
done
exit $status
