#!/usr/bin/env bash
# Builds, tests and (with --bench) benchmarks on the GPU host in one call, with no network:
#   LibTorch CUDA and NCCL from the host's PyTorch; gRPC, protobuf, yaml-cpp and GoogleTest from
#   the Debian packages that scripts/fetch-gpu-debs.sh put in .gpu-debs/ (carried with the tree),
#   unpacked under a prefix, never into /.
# Logs go to $OUT when it is set (the device tool brings that folder back), else build-gpu/logs.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=false
[[ ${1:-} == --bench ]] && bench=true
export NCCL_NVLS_ENABLE=0  # never NVLink multicast on shared hosts

logs=${OUT:-$PWD/build-gpu/logs}
mkdir -p "$logs"
prefix=${GSPO_GPU_PREFIX:-/tmp/gspo-prefix}

if ! compgen -G ".gpu-debs/*.deb" >/dev/null; then
  echo "gpu-build: .gpu-debs/ is empty; run scripts/fetch-gpu-debs.sh on a Debian machine first" >&2
  exit 2
fi
mkdir -p "$prefix"
for f in .gpu-debs/*.deb; do dpkg -x "$f" "$prefix"; done
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
# pkg-config files of the unpacked packages say prefix=/usr: resolve them under the prefix.
export PKG_CONFIG_LIBDIR="$prefix/usr/lib/x86_64-linux-gnu/pkgconfig:$prefix/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$prefix"
# The tokenizer tests' real tokenizer files, carried compressed in .gpu-debs/tokenizers/.
export GSPO_TEST_DATA=${GSPO_TEST_DATA:-/tmp/gspo-test-data}
for gz in .gpu-debs/tokenizers/*/tokenizer.json.gz; do
  [[ -e $gz ]] || continue
  name=$(basename "$(dirname "$gz")")
  mkdir -p "$GSPO_TEST_DATA/tokenizers/$name"
  gunzip -c "$gz" > "$GSPO_TEST_DATA/tokenizers/$name/tokenizer.json"
  cp ".gpu-debs/tokenizers/$name/tokenizer_config.json" "$GSPO_TEST_DATA/tokenizers/$name/"
done
export PATH="/opt/torch/.venv/bin:$prefix/usr/bin:$PATH"
[[ -x /opt/gcc/bin/g++ ]] && export CXX=${CXX:-/opt/gcc/bin/g++}
# nvcc for the fused decode kernels (worker/engine/kernels/).
[[ -x /usr/local/cuda/bin/nvcc ]] && export CUDACXX=${CUDACXX:-/usr/local/cuda/bin/nvcc}

torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')

{
  echo "== host"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())'
  echo "== configure"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix/usr;$torch_prefix" \
    -DProtobuf_PROTOC_EXECUTABLE="$prefix/usr/bin/protoc" -DGSPO_DEPLOY_TESTS=OFF
  echo "== build"
  cmake --build build-gpu -j "$(nproc)"
  if [[ -z ${GSPO_GPU_SKIP_TESTS:-} ]]; then
    echo "== unit tests"
    ctest --test-dir build-gpu -j 8 --output-on-failure -LE gpu
    echo "== gpu tests"
    ctest --test-dir build-gpu --output-on-failure -L gpu --no-tests=error
    echo "== gpu: our exports in peft and transformers"
    PYTHONUNBUFFERED=1 python3 tests/gpu/peft_interop.py --gspo build-gpu/bin/gspo --out "$logs"
    echo "== gpu: the rollout's automatic batch size"
    PYTHONUNBUFFERED=1 python3 tests/gpu/rollout_batches.py --gspo build-gpu/bin/gspo --out "$logs"
  fi
  echo "== tools"
  build-gpu/bin/gspo info
  if $bench; then
    echo "== bench: engine vs transformers"
    PYTHONUNBUFFERED=1 python3 bench/model_bench.py --gspo build-gpu/bin/gspo --out "$logs"
    echo "== bench: tokenizers vs Hugging Face tokenizers"
    PYTHONUNBUFFERED=1 python3 bench/tokenizer_bench.py --gspo build-gpu/bin/gspo --out "$logs"
  fi
} 2>&1 | tee "$logs/gpu-build.log"
