#!/usr/bin/env bash
# Compiles src/main/native/orpo4j/nccl/orpo4j_c10d_nccl.cc (ProcessGroupNCCL's JNI) against torch 2.7.1's headers,
# without linking: where no CUDA libtorch is at hand, this is the check that the NCCL unit still compiles against
# the torch DJL 0.36 ships. The CUDA headers that torch's ProcessGroupNCCL.hpp pulls in come from the pip packages
# torch 2.7.1's wheel depends on (their include/ folders only, kept in the cache; about 1.1 GB downloaded once, 21 MB kept, so
# mvn verify does not run this). The link against libtorch_cuda.so happens on a GPU machine: device-check.sh.
# Usage: scripts/native/check-nccl-compile.sh   (ORPO4J_TORCH_INCLUDE: torch 2.7.1's include/, default the cache's)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${ORPO4J_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orpo4j}"
TORCH_INCLUDE="${ORPO4J_TORCH_INCLUDE:-$CACHE/torch-2.7.1/include}"
CUDA_INCLUDE="$CACHE/cuda12-headers"
PY="${ORPO4J_PYTHON:-python3}"
# torch 2.7.1's pins (its wheel's Requires-Dist) for the packages whose headers ProcessGroupNCCL.hpp includes, and
# CUDA 12.6's nvcc and cccl packages for crt/host_defines.h and nv/target, which the runtime's headers include
PACKAGES=(nvidia-cuda-runtime-cu12==12.6.77 nvidia-nccl-cu12==2.26.2 nvidia-cublas-cu12==12.6.4.1
  nvidia-cusparse-cu12==12.5.4.2 nvidia-cusolver-cu12==11.7.1.2 nvidia-cuda-nvcc-cu12==12.6.85
  nvidia-cuda-cccl-cu12==12.6.77)
die() { echo "check-nccl-compile: $*" >&2; exit 1; }

[[ -f "$TORCH_INCLUDE/torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp" ]] \
  || die "no torch 2.7.1 headers in $TORCH_INCLUDE: run mvn package once (it fetches them) or set ORPO4J_TORCH_INCLUDE"
if [[ ! -f "$CUDA_INCLUDE/nccl.h" ]]; then
  wheels="$(mktemp -d)"
  trap 'rm -rf "$wheels"' EXIT
  echo "check-nccl-compile: fetching the CUDA 12 headers (${PACKAGES[*]})"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 -d "$wheels" "${PACKAGES[@]}" \
    || die "pip could not download the CUDA 12 header packages"
  mkdir -p "$CUDA_INCLUDE.tmp"
  for whl in "$wheels"/*.whl; do # each package's nvidia/<name>/include/ into one folder
    "$PY" - "$whl" "$CUDA_INCLUDE.tmp" <<'PYEOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        parts = n.split("/")
        if len(parts) > 3 and parts[0] == "nvidia" and parts[2] == "include" and not n.endswith("/"):
            dest = sys.argv[2] + "/" + "/".join(parts[3:])
            import os; os.makedirs(os.path.dirname(dest), exist_ok=True)
            open(dest, "wb").write(z.read(n))
PYEOF
  done
  rm -rf "$CUDA_INCLUDE" && mv "$CUDA_INCLUDE.tmp" "$CUDA_INCLUDE"
fi

JAVA_INCLUDE="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")/include"
OBJ="$(mktemp --suffix=.o)"
start=$(date +%s)
"${CXX:-c++}" -std=c++17 -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=1 -c "$ROOT/src/main/native/orpo4j/nccl/orpo4j_c10d_nccl.cc" \
  -o "$OBJ" -I"$ROOT/src/main/native/orpo4j/include" -I"$JAVA_INCLUDE" -I"$JAVA_INCLUDE/linux" -I"$TORCH_INCLUDE" \
  -I"$TORCH_INCLUDE/torch/csrc/api/include" -I"$CUDA_INCLUDE"
V="$TORCH_INCLUDE/torch/csrc/api/include/torch/version.h"
torch="$(for part in MAJOR MINOR PATCH; do sed -n "s/^#define TORCH_VERSION_$part \\([0-9]*\\)$/\\1/p" "$V"; done | paste -sd.)"
echo "check-nccl-compile: orpo4j_c10d_nccl.cc compiles against torch $torch and NCCL $(grep -o \
  'NCCL_VERSION_CODE [0-9]*' "$CUDA_INCLUDE/nccl.h" | cut -d' ' -f2) in $(( $(date +%s) - start )) s; it calls" \
  "$(nm -C --undefined-only "$OBJ" | grep -c 'c10d::ProcessGroupNCCL') functions of ProcessGroupNCCL (libtorch_cuda.so)"
rm -f "$OBJ"
