#!/usr/bin/env bash
# What `mvn package` (and so `mvn verify`) runs to put orpo4j's PyTorch JNI into the jar (docs/native.md):
#   1. the cache: ~/.cache/orpo4j/native/<key>/libdjl_torch.so, key = torch version + a hash of the native sources
#      (scripts/native/native-key.sh); a hit is copied and nothing else happens;
#   2. torch's C++ headers: $ORPO4J_TORCH_INCLUDE, else include/ of the torch wheel from PyPI (`pip download`, once;
#      kept in ~/.cache/orpo4j/torch-<version>/, the wheel itself is deleted);
#   3. DJL's own libtorch, out of the pytorch-native-cpu jar Maven resolved: the JNI links against the very libraries
#      DJL loads, so the JVM holds one libtorch; the headers' C++ ABI must be theirs;
#   4. scripts/native/build-djl-jni.sh, into the cache, then into the jar's classes.
# Modes (-Dorpo4j.native.build=...): auto (default) says in one line why it could not build and lets the build go on without
# the library (bf16 unavailable, everything else works); required fails the build instead (CI); off skips it.
# Usage: maven-native.sh --mode M --torch-version V --djl-version V --djl-native-jar JAR --out DIR --work DIR
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODE=auto
TORCH_VERSION=""
DJL_VERSION=""
DJL_JAR=""
OUT=""
WORK=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) MODE="$2"; shift 2 ;;
    --torch-version) TORCH_VERSION="$2"; shift 2 ;;
    --djl-version) DJL_VERSION="$2"; shift 2 ;;
    --djl-native-jar) DJL_JAR="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    *) echo "orpo4j native: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$TORCH_VERSION" && -n "$DJL_VERSION" && -n "$OUT" && -n "$WORK" ]] || { echo "orpo4j native: missing arguments" >&2; exit 2; }
LIB="$OUT/libdjl_torch.so"
CACHE="${ORPO4J_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orpo4j}"

# The one line a build without the library prints; `required` turns it into a failure.
unavailable() {
  rm -f "$LIB"
  if [[ "$MODE" == required ]]; then
    echo "orpo4j native: FAILED: $* (-Dorpo4j.native.build=required)" >&2
    exit 1
  fi
  echo "orpo4j native: not built, bf16 unavailable: $*"
  exit 0
}

case "$MODE" in
  off) rm -f "$LIB"; echo "orpo4j native: off (-Dorpo4j.native.build=off): DJL's own JNI, no bf16"; exit 0 ;;
  auto|required) ;;
  *) echo "orpo4j native: -Dorpo4j.native must be auto, required or off, not '$MODE'" >&2; exit 2 ;;
esac
[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] \
  || unavailable "only built on Linux x86-64 (DJL's pytorch-native-cpu classifier linux-x86_64), not $(uname -s)-$(uname -m)"

KEY="$(bash "$ROOT/scripts/native/native-key.sh" "$TORCH_VERSION" cpu)" || unavailable "could not hash src/main/native"
CACHED="$CACHE/native/$KEY/libdjl_torch.so"
mkdir -p "$OUT"
if [[ -f "$CACHED" ]]; then
  cp "$CACHED" "$LIB.tmp" && mv "$LIB.tmp" "$LIB"
  echo "orpo4j native: libdjl_torch.so for torch $TORCH_VERSION from the cache ($CACHED)"
  exit 0
fi

# ---- prerequisites, each missing one named with its fix
CXX="${CXX:-c++}"
command -v "$CXX" > /dev/null \
  || unavailable "no C++ compiler ($CXX not on PATH): install one (apt-get install g++) or set CXX, then rerun mvn package"
command -v nm > /dev/null || unavailable "no nm to read libtorch's C++ ABI: install binutils (apt-get install binutils)"
[[ -f "$DJL_JAR" ]] || unavailable "DJL's pytorch-native-cpu jar not found at $DJL_JAR"

HEADERS="$CACHE/torch-$TORCH_VERSION"
INCLUDE="${ORPO4J_TORCH_INCLUDE:-$HEADERS/include}"
HEADER_ABI=""
if [[ -n "${ORPO4J_TORCH_INCLUDE:-}" ]]; then
  [[ -f "$INCLUDE/torch/script.h" ]] \
    || unavailable "missing headers: ORPO4J_TORCH_INCLUDE=$INCLUDE has no torch/script.h (point it at a torch $TORCH_VERSION include folder)"
elif [[ ! -f "$HEADERS/include/torch/script.h" ]]; then
  PY=""
  for p in ${ORPO4J_PYTHON:-python3 python}; do
    if command -v "$p" > /dev/null && "$p" -m pip --version > /dev/null 2>&1; then PY="$p"; break; fi
  done
  [[ -n "$PY" ]] || unavailable "missing headers: no pip (${ORPO4J_PYTHON:-python3 -m pip}) to fetch torch $TORCH_VERSION's C++ headers from PyPI: install python3-pip, or set ORPO4J_TORCH_INCLUDE to a torch $TORCH_VERSION include folder"
  echo "orpo4j native: fetching torch $TORCH_VERSION's C++ headers: pip download of its wheel (about 820 MB, once; only include/ is kept)"
  rm -rf "$WORK/wheel" && mkdir -p "$WORK/wheel"
  start=$(date +%s)
  # one wheel whatever the local Python: the headers are the same in every wheel of a version
  if ! "$PY" -m pip download "torch==$TORCH_VERSION" --no-deps --only-binary=:all: --implementation cp \
      --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$WORK/wheel" > "$WORK/pip.log" 2>&1; then
    unavailable "missing headers: pip could not download torch==$TORCH_VERSION ($(tail -1 "$WORK/pip.log")); set ORPO4J_TORCH_INCLUDE to a torch $TORCH_VERSION include folder"
  fi
  grep -E 'MB/s|Saved|Downloading' "$WORK/pip.log" | tail -2 | sed 's/^ */orpo4j native:   /'
  wheel="$(ls "$WORK"/wheel/torch-*.whl)"
  rm -rf "$HEADERS.tmp" && mkdir -p "$HEADERS.tmp"
  "$PY" - "$wheel" "$HEADERS.tmp" <<'PY' || unavailable "missing headers: could not unpack include/ from the torch wheel"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.startswith("torch/include/") or name == "torch/share/cmake/Torch/TorchConfig.cmake":
            z.extract(name, sys.argv[2])
PY
  mv "$HEADERS.tmp/torch/include" "$HEADERS.tmp/include"
  mv "$HEADERS.tmp/torch/share/cmake/Torch/TorchConfig.cmake" "$HEADERS.tmp/TorchConfig.cmake"
  rm -rf "$HEADERS.tmp/torch" "$WORK/wheel" "$HEADERS" && mv "$HEADERS.tmp" "$HEADERS"
  echo "orpo4j native: headers in $HEADERS ($(( $(date +%s) - start )) s)"
fi
if [[ -z "${ORPO4J_TORCH_INCLUDE:-}" && -f "$HEADERS/TorchConfig.cmake" ]]; then
  HEADER_ABI="$(sed -n 's/.*-D_GLIBCXX_USE_CXX11_ABI=\([01]\).*/\1/p' "$HEADERS/TorchConfig.cmake" | head -1)"
fi
VERSION_H="$INCLUDE/torch/csrc/api/include/torch/version.h"
HEADER_VERSION="$(sed -n 's/^ *"\([0-9.]*\)".*/\1/p' "$VERSION_H" 2>/dev/null | head -1)"
[[ "$HEADER_VERSION" == "$TORCH_VERSION" ]] \
  || unavailable "missing headers: $INCLUDE holds torch ${HEADER_VERSION:-?} headers, DJL loads libtorch $TORCH_VERSION (use that version's include folder)"

# ---- DJL's libtorch, from the jar DJL extracts it from at run time: libc10 first, for its C++ ABI
TORCH_LIB="$WORK/djl-libtorch"
unpack() { # the jar's pytorch/cpu/linux-x86_64/$1 into $TORCH_LIB
  [[ -f "$TORCH_LIB/$1" ]] && return 0
  rm -rf "$WORK/unpack" && mkdir -p "$WORK/unpack" "$TORCH_LIB" \
    && (cd "$WORK/unpack" && jar xf "$DJL_JAR" "pytorch/cpu/linux-x86_64/$1") \
    && mv "$WORK/unpack/pytorch/cpu/linux-x86_64/$1" "$TORCH_LIB/$1" && rm -rf "$WORK/unpack" \
    || unavailable "could not unpack $1 of DJL's libtorch from $DJL_JAR"
}
unpack libc10.so
LIB_ABI=0
if [[ "$(nm -D --defined-only "$TORCH_LIB/libc10.so" | grep -c '__cxx11' || true)" -gt 0 ]]; then LIB_ABI=1; fi
if [[ -n "$HEADER_ABI" && "$HEADER_ABI" != "$LIB_ABI" ]]; then
  unavailable "ABI mismatch: torch $TORCH_VERSION's headers were built with _GLIBCXX_USE_CXX11_ABI=$HEADER_ABI, DJL's libtorch with $LIB_ABI: use headers of a torch built like DJL's (ORPO4J_TORCH_INCLUDE)"
fi
for lib in $(jar tf "$DJL_JAR" | sed -n 's|^pytorch/cpu/linux-x86_64/\(lib[^/]*\)$|\1|p'); do unpack "$lib"; done

# ---- build into the cache (atomically: concurrent builds of one key each finish with a whole library)
echo "orpo4j native: building libdjl_torch.so for torch $TORCH_VERSION (key $KEY; a few minutes, once)"
# objects stay in the cache's build folder across `mvn clean`: after editing one .cc file, one file compiles
BUILD="$CACHE/native/build"
if ! bash "$ROOT/scripts/native/build-djl-jni.sh" --torch-include "$INCLUDE" --torch-lib "$TORCH_LIB" \
    --out "$BUILD" --jobs "${ORPO4J_NATIVE_JOBS:-$(nproc)}" --flavor cpu --key "$KEY" 2>&1 | sed 's/^/  /'; then
  unavailable "the build failed (see above and $BUILD/build.log)"
fi
rm -rf "$TORCH_LIB" # 450 MB that DJL's jar still holds
mkdir -p "$(dirname "$CACHED")"
cp "$BUILD/libdjl_torch.so" "$CACHED.tmp.$$" && mv "$CACHED.tmp.$$" "$CACHED"
cp "$CACHED" "$LIB.tmp" && mv "$LIB.tmp" "$LIB"
echo "orpo4j native: built $CACHED"
