#!/usr/bin/env bash
# Compiles orpo4j's PyTorch JNI, libdjl_torch.so: DJL 0.36.0's JNI sources with orpo4j's three edits
# (src/main/native/djl, see its ORIGIN.md: bfloat16 in the dtype maps, a differentiable dtype cast, no bare throw)
# plus orpo4j's own native code (src/main/native/orpo4j), against one torch's C++ headers and linked to that torch's
# libraries. `mvn package` runs it through scripts/native/maven-native.sh against DJL's own libtorch; the GPU kit
# runs it against the device's torch (docs/native.md).
#
# Usage:
#   scripts/native/build-djl-jni.sh [--torch DIR | --torch-include DIR --torch-lib DIR] [--out DIR] [--jobs N]
#       [--flavor cpu|cuXYZ] [--key KEY] [--runtime-dir DIR]
#
#   --torch DIR        a libtorch folder (include/, lib/): a pip torch package or an unzipped libtorch; the default is
#                      python3's torch
#   --torch-include/--torch-lib   the two folders separately (DJL's libtorch has no headers: the wheel's include/
#                      goes with DJL's lib folder)
#   --out DIR          where libdjl_torch.so goes (default build/djl-jni); objects are kept in DIR/obj, so a rebuild
#                      after editing one .cc file compiles that file alone
#   --flavor F         recorded in the library (default: cpu, or cuda when the lib folder has libtorch_cuda.so)
#   --key KEY          recorded in the library (default: scripts/native/native-key.sh's)
#   --runtime-dir DIR  also make DIR a folder DJL can use as PYTORCH_LIBRARY_PATH: links to libtorch's libraries plus
#                      the JNI (for lib folders that hold unrelated libraries)
#
# Failures end in one line starting "build-djl-jni:" that names the cause and the fix; the compiler's output is in
# OUT/build.log.
set -euo pipefail

DJL_VERSION=0.36.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/src/main/native"
# One shared library per entry: its file name, then the folders (under src/main/native) whose .cc files it compiles.
# A new translation unit is a new .cc file in one of the folders; a new library is a new entry.
LIBRARIES=("libdjl_torch.so:djl orpo4j")
TORCH=""
TORCH_INCLUDE=""
TORCH_LIB=""
OUT="$ROOT/build/djl-jni"
JOBS="$(nproc 2>/dev/null || echo 2)"
FLAVOR=""
KEY=""
RUNTIME_DIR=""

die() { echo "build-djl-jni: $*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --torch) TORCH="$2"; shift 2 ;;
    --torch-include) TORCH_INCLUDE="$2"; shift 2 ;;
    --torch-lib) TORCH_LIB="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --flavor) FLAVOR="$2"; shift 2 ;;
    --key) KEY="$2"; shift 2 ;;
    --runtime-dir) RUNTIME_DIR="$2"; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

if [[ -z "$TORCH_INCLUDE" || -z "$TORCH_LIB" ]]; then
  if [[ -z "$TORCH" ]]; then
    TORCH="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)" \
      || die "no --torch given and python3 has no torch package: pass --torch DIR or --torch-include/--torch-lib"
  fi
  TORCH_INCLUDE="${TORCH_INCLUDE:-$TORCH/include}"
  TORCH_LIB="${TORCH_LIB:-$TORCH/lib}"
fi
[[ -f "$TORCH_INCLUDE/torch/script.h" ]] \
  || die "missing torch headers: $TORCH_INCLUDE/torch/script.h not found (pass a torch include folder)"
[[ -e "$TORCH_LIB/libtorch.so" && -e "$TORCH_LIB/libc10.so" ]] \
  || die "$TORCH_LIB has no libtorch.so/libc10.so (pass the lib folder of the same torch)"

VERSION_H="$TORCH_INCLUDE/torch/csrc/api/include/torch/version.h"
# torch >= 2.10 keeps the numbers in a header-only file that version.h includes
if ! grep -q '^#define TORCH_VERSION_MAJOR' "$VERSION_H"; then VERSION_H="$TORCH_INCLUDE/torch/headeronly/version.h"; fi
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

# The C++ ABI of the library linked against: its libc10 exports std::__cxx11 symbols or it does not. A JNI compiled
# with the other ABI would not link (--no-undefined below), so the flag is read, never assumed.
C10="$(readlink -f "$TORCH_LIB/libc10.so")"
command -v nm > /dev/null || die "no nm to read libc10's C++ ABI: install binutils (apt-get install binutils)"
if [[ "$(nm -D --defined-only "$C10" | grep -c '__cxx11' || true)" -gt 0 ]]; then ABI=1; else ABI=0; fi

CUDA_LIBS=()
NCCL_INCLUDES=()
if [[ -e "$TORCH_LIB/libtorch_cuda.so" ]]; then
  CUDA_LIBS=(-ltorch_cuda -lc10_cuda)
  # ProcessGroupNCCL's JNI (orpo4j/nccl) only where this libtorch_cuda has it (USE_C10D_NCCL); nccl.h and the CUDA
  # headers from the pip packages beside a pip torch, else from a CUDA toolkit
  # (grep reads a process substitution: in a pipe, grep -q's early exit would fail nm under pipefail)
  if grep -q 'c10d::ProcessGroupNCCL::ProcessGroupNCCL' < <(nm -DC --defined-only "$(readlink -f "$TORCH_LIB/libtorch_cuda.so")"); then
    for inc in "$TORCH_LIB"/../../nvidia/*/include "${CUDA_HOME:-/usr/local/cuda}/include"; do
      [[ -d "$inc" ]] && NCCL_INCLUDES+=(-I"$inc")
    done
    # torch's pip dependencies bring nccl.h and cuda_runtime.h but not always crt/host_config.h and nv/target (CUDA 13
    # moved them to nvidia-cuda-crt and -cccl, which torch does not install): without every header, no NCCL
    missing=()
    for header in nccl.h cuda_runtime.h crt/host_config.h nv/target; do
      found=""
      for inc in "${NCCL_INCLUDES[@]}"; do [[ -f "${inc#-I}/$header" ]] && found=1; done
      [[ -n "$found" ]] || missing+=("$header")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
      LIBRARIES=("${LIBRARIES[0]} orpo4j/nccl")
    else
      echo "build-djl-jni: no ${missing[*]} under nvidia/*/include or \$CUDA_HOME/include: building without NCCL" >&2
    fi
  fi
fi
if [[ -z "$FLAVOR" ]]; then FLAVOR="$([[ ${#CUDA_LIBS[@]} -gt 0 ]] && echo cuda || echo cpu)"; fi
if [[ -z "$KEY" ]]; then KEY="$(bash "$ROOT/scripts/native/native-key.sh" "$TORCH_VERSION" "$FLAVOR")"; fi

export CXX="${CXX:-c++}"
command -v "$CXX" > /dev/null || die "no C++ compiler ($CXX): install one (apt-get install g++) or set CXX"

JAVA_INCLUDE=""
for home in "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v javac || command -v java || echo /x/y/z)")")")"; do
  if [[ -n "$home" && -f "$home/include/jni.h" ]]; then JAVA_INCLUDE="$home/include"; break; fi
done
[[ -n "$JAVA_INCLUDE" ]] || die "jni.h not found: set JAVA_HOME to a JDK (or a runtime with its include/ folder)"

echo "build-djl-jni: torch $TORCH_VERSION ($FLAVOR), C++ ABI $ABI, $STD, $("$CXX" --version | head -1), key $KEY," \
  "$([[ "${LIBRARIES[0]}" == *orpo4j/nccl* ]] && echo "with ProcessGroupNCCL" || echo "without NCCL")"

mkdir -p "$OUT/obj"
LOG="$OUT/build.log"
: > "$LOG"
# The build record orpo4j_native.cc compiles in (org.orpo4j.runtime.NativeBuild reads it): a generated header, so
# that a new key recompiles the file that includes it and no other.
mkdir -p "$OUT/gen"
printf '#define ORPO4J_NATIVE_KEY "%s"\n#define ORPO4J_DJL_VERSION "%s"\n#define ORPO4J_FLAVOR "%s"\n' \
  "$KEY" "$DJL_VERSION" "$FLAVOR" > "$OUT/gen/orpo4j_build_record.h"
CXXFLAGS=(-std=$STD -O2 -fPIC -w -D_GLIBCXX_USE_CXX11_ABI=$ABI "${DEFINES[@]}" -I"$OUT/gen"
  -I"$SRC/djl/include" -I"$SRC/orpo4j/include" -I"$JAVA_INCLUDE" -I"$JAVA_INCLUDE/linux"
  -I"$TORCH_INCLUDE" -I"$TORCH_INCLUDE/torch/csrc/api/include" "${NCCL_INCLUDES[@]}")
# An object is reused when its source, every header of src/main/native, the flags, the compiler and the torch
# headers' version are unchanged.
SHARED_HASH="$( { find "$SRC" -name '*.h' -print0 | LC_ALL=C sort -z | xargs -0 cat; printf '%s\n' "${CXXFLAGS[@]}";
  "$CXX" --version; cat "$VERSION_H"; } | sha256sum | cut -c1-16)"
printf '%s\n' "${CXXFLAGS[@]}" > "$OUT/obj/cxxflags"

start=$(date +%s)
used=()
for entry in "${LIBRARIES[@]}"; do
  lib="${entry%%:*}"
  objects=()
  todo=()
  for dir in ${entry#*:}; do
    for cc in "$SRC/$dir"/*.cc; do
      obj="$OUT/obj/$(basename "$cc" .cc)-$( { cat "$cc"; echo "$SHARED_HASH";
        if grep -q orpo4j_build_record.h "$cc"; then cat "$OUT/gen/orpo4j_build_record.h"; fi; } \
        | sha256sum | cut -c1-16).o"
      objects+=("$obj")
      [[ -f "$obj" ]] || todo+=("$cc=$obj")
    done
  done
  echo "build-djl-jni: $lib: compiling ${#todo[@]} of ${#objects[@]} translation units with $JOBS job(s)"
  if [[ ${#todo[@]} -gt 0 ]]; then
    printf '%s\n' "${todo[@]}" | xargs -P "$JOBS" -I{} bash -c '
        cc="${1%%=*}"; obj="${1#*=}"
        if xargs -a "$2/obj/cxxflags" -d "\n" "$CXX" -c "$cc" -o "$obj.$$.tmp" >> "$2/build.log" 2>&1; then
          mv "$obj.$$.tmp" "$obj"; echo "build-djl-jni:   $(basename "$cc")"
        else
          rm -f "$obj.$$.tmp"; echo "build-djl-jni: compiling $(basename "$cc") failed" >&2; exit 255
        fi' _ {} "$OUT" \
      || die "compiling failed (the compiler's messages: $LOG); torch $TORCH_VERSION's headers need a C++17 compiler (g++ 9 or later)"
  fi
  # --no-undefined: a symbol the torch libraries do not define (another torch, another C++ ABI) fails here, not at the
  # first call in the JVM. $ORIGIN: next to DJL's libtorch the JNI finds it without a library path.
  if ! "$CXX" -shared -o "$OUT/$lib.$$.tmp" "${objects[@]}" -L"$TORCH_LIB" -Wl,-rpath-link,"$TORCH_LIB" \
      -Wl,--no-undefined -Wl,--no-as-needed -Wl,-soname,"$lib" -Wl,-rpath,'$ORIGIN' -s \
      -ltorch -ltorch_cpu -lc10 "${CUDA_LIBS[@]}" >> "$LOG" 2>&1; then
    rm -f "$OUT/$lib.$$.tmp"
    if grep -q '__cxx11' "$LOG"; then
      die "linking failed on C++ ABI symbols: the headers and $TORCH_LIB come from torches built with different _GLIBCXX_USE_CXX11_ABI; use the headers of the same torch ($LOG)"
    fi
    die "linking failed ($LOG): the headers and $TORCH_LIB must come from the same torch $TORCH_VERSION"
  fi
  mv "$OUT/$lib.$$.tmp" "$OUT/$lib"
  used+=("${objects[@]}")
done
# objects of earlier sources go: the folder holds what the last build used
for obj in "$OUT"/obj/*.o; do
  [[ " ${used[*]} " == *" $obj "* ]] || rm -f "$obj"
done
echo "build-djl-jni: built $OUT/libdjl_torch.so in $(( $(date +%s) - start )) s"

if [[ -n "$RUNTIME_DIR" ]]; then
  mkdir -p "$RUNTIME_DIR"
  for lib in libtorch.so libtorch_cpu.so libc10.so libtorch_cuda.so libc10_cuda.so; do
    if [[ -e "$TORCH_LIB/$lib" ]]; then ln -sfn "$(readlink -f "$TORCH_LIB/$lib")" "$RUNTIME_DIR/$lib"; fi
  done
  cp "$OUT/libdjl_torch.so" "$RUNTIME_DIR/"
  echo "build-djl-jni: $RUNTIME_DIR holds libtorch's libraries and the JNI: PYTORCH_LIBRARY_PATH=$RUNTIME_DIR"
fi
