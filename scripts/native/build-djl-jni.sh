#!/usr/bin/env bash
# Builds DJL's PyTorch JNI (libdjl_torch.so) against a PyTorch of your choice, with two additions orpo4j needs:
#   1. bfloat16 in the JNI's dtype maps (DJL's DataType.BFLOAT16, ordinal 11), so bf16 tensors exist at all;
#      DJL's own JNI ends its map in a bare `throw;`, which terminates the JVM on the first bf16 array;
#   2. a differentiable dtype cast: DJL's torchTo runs under NoGradGuard, so `toType` cuts the autograd graph;
#      here it records history like torch's Tensor.to, and orpo4j's mixed precision casts through it.
# Both are applied to DJL's own sources (the tag matching orpo4j's DJL) by anchored edits that fail loudly when
# the sources differ. See docs/gpu.md for how DJL then loads the library.
#
# Usage:
#   scripts/native/build-djl-jni.sh --djl-src DIR [--torch DIR | --torch-include DIR --torch-lib DIR]
#       [--jni-header DIR] [--out DIR] [--runtime-dir DIR] [--jobs N]
#
#   --djl-src DIR      a DJL checkout or source tree at tag v0.36.0 (engines/pytorch/pytorch-native, api/src/main/native)
#   --torch DIR        a libtorch folder (include/, lib/): an unzipped libtorch download or a pip torch package
#                      (python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))'); the default
#   --torch-include/--torch-lib   the two folders separately (a distribution's libtorch-dev)
#   --jni-header DIR   a folder holding ai_djl_pytorch_jni_PyTorchLibrary.h; without it the header is generated with
#                      javac -h from the DJL jars in target/lib or ~/.m2 (needs a JDK)
#   --out DIR          where libdjl_torch.so goes (default build/djl-jni)
#   --runtime-dir DIR  also make DIR a folder DJL can use as PYTORCH_LIBRARY_PATH: links to libtorch's own libraries
#                      plus the JNI (for system-wide installs whose lib folder holds unrelated libraries)
set -euo pipefail

DJL_VERSION=0.36.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DJL_SRC=""
TORCH=""
TORCH_INCLUDE=""
TORCH_LIB=""
JNI_HEADER=""
OUT="$ROOT/build/djl-jni"
RUNTIME_DIR=""
JOBS="$(nproc 2>/dev/null || echo 2)"

die() { echo "build-djl-jni: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --djl-src) DJL_SRC="$2"; shift 2 ;;
    --torch) TORCH="$2"; shift 2 ;;
    --torch-include) TORCH_INCLUDE="$2"; shift 2 ;;
    --torch-lib) TORCH_LIB="$2"; shift 2 ;;
    --jni-header) JNI_HEADER="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --runtime-dir) RUNTIME_DIR="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

[[ -n "$DJL_SRC" ]] || die "--djl-src is required: a DJL source tree at tag v$DJL_VERSION
  (git clone --depth 1 --branch v$DJL_VERSION https://github.com/deepjavalibrary/djl)"
NATIVE="$DJL_SRC/engines/pytorch/pytorch-native/src/main/native"
UTILS="$DJL_SRC/api/src/main/native"
[[ -f "$NATIVE/djl_pytorch_utils.h" ]] || die "$NATIVE/djl_pytorch_utils.h not found: --djl-src is not a DJL tree"
[[ -f "$UTILS/djl/utils.h" ]] || die "$UTILS/djl/utils.h not found: --djl-src is not a DJL tree"

if [[ -z "$TORCH_INCLUDE" ]]; then
  if [[ -z "$TORCH" ]]; then
    TORCH="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)" \
      || die "no --torch given and python3 has no torch package"
  fi
  TORCH_INCLUDE="$TORCH/include"
  TORCH_LIB="$TORCH/lib"
fi
[[ -f "$TORCH_INCLUDE/torch/script.h" ]] || die "$TORCH_INCLUDE/torch/script.h not found: not a libtorch include folder"
[[ -f "$TORCH_LIB/libtorch.so" || -L "$TORCH_LIB/libtorch.so" ]] || die "$TORCH_LIB/libtorch.so not found"

VERSION_H="$TORCH_INCLUDE/torch/csrc/api/include/torch/version.h"
MAJOR="$(sed -n 's/^#define TORCH_VERSION_MAJOR \([0-9]*\).*/\1/p' "$VERSION_H")"
MINOR="$(sed -n 's/^#define TORCH_VERSION_MINOR \([0-9]*\).*/\1/p' "$VERSION_H")"
PATCH="$(sed -n 's/^#define TORCH_VERSION_PATCH \([0-9]*\).*/\1/p' "$VERSION_H")"
TORCH_VERSION="$MAJOR.$MINOR.$PATCH"
DEFINES=()
# DJL's own switch for the 1.13-2.1 headers (c10::variant instead of std::variant)
if [[ "$MAJOR.$MINOR" == 1.13 || "$MAJOR.$MINOR" == 2.0 || "$MAJOR.$MINOR" == 2.1 ]]; then
  DEFINES+=(-DV1_13_X)
fi
# torch >= 2.10 headers refuse anything older than C++20; DJL's sources compile as either
STD=c++17
if grep -q 'C++20 or later' "$TORCH_INCLUDE/ATen/ATen.h"; then STD=c++20; fi
# the C++ ABI libtorch was built with: its libc10 exports std::__cxx11 symbols or it does not
C10="$(readlink -f "$TORCH_LIB/libc10.so")"
if ! command -v nm > /dev/null; then
  ABI=1 # every libtorch since 2.7 (pip wheels included); nm (binutils) would tell
  echo "build-djl-jni: no nm to read libc10's C++ ABI; assuming the new (cxx11) ABI" >&2
elif [[ "$(nm -D --defined-only "$C10" | grep -c '__cxx11')" -gt 0 ]]; then ABI=1; else ABI=0; fi
CUDA_LIBS=()
if [[ -e "$TORCH_LIB/libtorch_cuda.so" ]]; then
  CUDA_LIBS=(-ltorch_cuda -lc10_cuda)
fi
echo "build-djl-jni: torch $TORCH_VERSION (${CUDA_LIBS[*]:-cpu only}), C++ ABI $ABI, $STD, DJL sources $DJL_SRC"

JAVA_INCLUDE=""
for home in "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v java || echo /nonexistent)")")")"; do
  if [[ -n "$home" && -f "$home/include/jni.h" ]]; then JAVA_INCLUDE="$home/include"; break; fi
done
[[ -n "$JAVA_INCLUDE" ]] || die "jni.h not found: set JAVA_HOME to a JDK (or a runtime with its include/ folder)"

WORK="$OUT/work"
rm -rf "$WORK"
mkdir -p "$WORK/src" "$WORK/include" "$WORK/obj"
cp "$NATIVE"/*.cc "$NATIVE"/*.h "$WORK/src/"

# ---- the JNI header javac writes for PyTorchLibrary
if [[ -n "$JNI_HEADER" ]]; then
  cp "$JNI_HEADER/ai_djl_pytorch_jni_PyTorchLibrary.h" "$WORK/include/"
else
  JAVA_FILE="$DJL_SRC/engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java"
  CP=""
  for jar in api pytorch-engine; do
    found="$(ls "$ROOT"/target/lib/$jar-$DJL_VERSION.jar 2>/dev/null \
      || ls ~/.m2/repository/ai/djl/*/$jar/$DJL_VERSION/$jar-$DJL_VERSION.jar \
            ~/.m2/repository/ai/djl/$jar/$DJL_VERSION/$jar-$DJL_VERSION.jar 2>/dev/null | head -1)"
    [[ -n "$found" ]] || die "DJL's $jar-$DJL_VERSION.jar not found (mvn package first) and no --jni-header given"
    CP="$CP:$found"
  done
  javac -cp "${CP#:}" -h "$WORK/include" -d "$WORK/classes" "$JAVA_FILE"
fi

# ---- orpo4j's two edits, each checked
UTILS_H="$WORK/src/djl_pytorch_utils.h"
sed -i 's/^  } else if (torch::kComplexFloat == type) {$/  } else if (torch::kBFloat16 == type) {\n    return 11;\n&/' "$UTILS_H"
sed -i 's/^      return torch::kComplexFloat;$/&\n    case 11:\n      return torch::kBFloat16;/' "$UTILS_H"
[[ "$(grep -c 'kBFloat16' "$UTILS_H")" == 2 ]] || die "could not add bfloat16 to $UTILS_H (DJL sources differ from v$DJL_VERSION)"
TENSOR_CC="$WORK/src/ai_djl_pytorch_jni_PyTorchLibrary_tensor.cc"
sed -i '/PyTorchLibrary_torchTo(/,/API_END_RETURN/ s|^  torch::NoGradGuard NoGradGuard;$|  // orpo4j: no NoGradGuard, so a dtype cast records autograd history as torch.Tensor.to does|' "$TENSOR_CC"
grep -q 'orpo4j: no NoGradGuard' "$TENSOR_CC" || die "could not make torchTo differentiable in $TENSOR_CC"

# ---- compile every translation unit in parallel, then link
CXXFLAGS=(-std=$STD -O2 -fPIC -w -D_GLIBCXX_USE_CXX11_ABI=$ABI "${DEFINES[@]}"
  -I"$WORK/include" -I"$UTILS" -I"$JAVA_INCLUDE" -I"$JAVA_INCLUDE/linux"
  -I"$TORCH_INCLUDE" -I"$TORCH_INCLUDE/torch/csrc/api/include")
export CXX="${CXX:-g++}"
printf '%s\n' "${CXXFLAGS[@]}" > "$WORK/cxxflags"
start=$(date +%s)
ls "$WORK"/src/*.cc | xargs -P "$JOBS" -I{} sh -c \
  'f="{}"; o="'"$WORK"'/obj/$(basename "$f" .cc).o"; xargs -a "'"$WORK"'/cxxflags" -d "\n" $CXX -c "$f" -o "$o" \
     || { echo "build-djl-jni: compiling $f failed" >&2; exit 255; }'
mkdir -p "$OUT"
$CXX -shared -o "$OUT/libdjl_torch.so" "$WORK"/obj/*.o -L"$TORCH_LIB" -Wl,--no-undefined -Wl,--no-as-needed \
  -ltorch -ltorch_cpu -lc10 "${CUDA_LIBS[@]}" -Wl,-rpath,'$ORIGIN'
echo "build-djl-jni: built $OUT/libdjl_torch.so in $(( $(date +%s) - start )) s"

if [[ -n "$RUNTIME_DIR" ]]; then
  mkdir -p "$RUNTIME_DIR"
  for lib in libtorch.so libtorch_cpu.so libc10.so libtorch_cuda.so libc10_cuda.so; do
    if [[ -e "$TORCH_LIB/$lib" ]]; then ln -sfn "$(readlink -f "$TORCH_LIB/$lib")" "$RUNTIME_DIR/$lib"; fi
  done
  cp "$OUT/libdjl_torch.so" "$RUNTIME_DIR/"
  LIBDIR="$RUNTIME_DIR"
else
  LIBDIR="$TORCH_LIB"
fi
cat <<EOF
build-djl-jni: to train with it, DJL needs (docs/gpu.md):
  export PYTORCH_LIBRARY_PATH=$LIBDIR
  export PYTORCH_VERSION=$TORCH_VERSION
  export PYTORCH_FLAVOR=$( [[ ${#CUDA_LIBS[@]} -gt 0 ]] && echo "cuXYZ   # your CUDA version, e.g. cu130" || echo cpu)
  and libdjl_torch.so next to libtorch.so in PYTORCH_LIBRARY_PATH$( [[ -n "$RUNTIME_DIR" ]] && echo " (done)" ),
  or at \$DJL_CACHE_DIR/pytorch/\$PYTORCH_VERSION-\$PYTORCH_FLAVOR-linux-x86_64/$DJL_VERSION-libdjl_torch.so
EOF
