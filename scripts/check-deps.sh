#!/usr/bin/env bash
# The dependency rule (ARCHITECTURE.md): the engine never includes gRPC or protobuf headers, and
# the server, the client, common/, the worker agent (gspo-worker) and bench/ never include
# LibTorch. Run by ctest; exits 1 on a breach.
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
for dir in server client common worker/agent bench tests/integration; do
  if hits=$(grep -rEn '#include [<"](torch|ATen|c10)/|#include "worker/(engine|runner|tools)/' "$root/$dir" 2>/dev/null); then
    breach "$dir/ includes LibTorch headers:"$'\n'"$hits"
  fi
done
# gspo-worker (worker/main.cc) only spawns `gspo`; it must stay torch-free.
if hits=$(grep -En '#include [<"](torch|ATen|c10)/|#include "worker/(engine|runner|tools)/' \
            "$root/worker/main.cc" 2>/dev/null); then
  breach "worker/main.cc (gspo-worker) includes LibTorch or engine headers:"$'\n'"$hits"
fi
# No translation unit sees both LibTorch and protobuf: LibTorch ships its own, older protobuf
# headers, and generated code compiled against them breaks (worker/runner/train_options.h).
while IFS= read -r file; do
  if grep -qE '#include [<"](torch|ATen|c10)/|#include "worker/(engine|runner/gspo_trainer|tools/model_commands)' "$file" &&
     grep -qE '#include [<"](google/protobuf|grpcpp)/|\.pb\.h"|#include "common/config/' "$file"; then
    breach "$file includes both LibTorch and protobuf headers"
  fi
done < <(find "$root/worker" "$root/tests" -name '*.cc' -o -name '*.h' 2>/dev/null)
exit $status
