#!/usr/bin/env bash
# Assembles the GPU check kit: everything a GPU machine without a JDK or network needs to build orpo4j's PyTorch JNI
# there and run the GPU tests and the GPU benchmark (docs/gpu.md). Writes .gpu-kit/kit.tar.xz (git-ignored):
#   jre/            a jlink runtime (with include/, for jni.h) of the modules orpo4j and its libraries use
#   lib/            the runtime jars, without the CPU libtorch jar, DJL's CPU JNI jar and DuckDB; tokenizers' natives
#                   for linux-x86_64 only
#   classes/, test-classes/, junit-console.jar   the project, its tests (their resources come with the working tree)
#                   and JUnit's console launcher
#   cuda/include    CUDA 13's crt/ and nv/ headers, for the NCCL translation unit on a device whose torch lacks them
# and checks that it and the working tree together stay under the 64 MiB one device run may carry. The JNI's sources
# (src/main/native, with the JNI header) and its build script travel with the working tree: device-check.sh builds
# the same library mvn package builds, against the device's torch.
# Usage: scripts/gpu/assemble-kit.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIT="$ROOT/.gpu-kit"
LIMIT=$((64 * 1024 * 1024))
JUNIT_CONSOLE=org.junit.platform:junit-platform-console-standalone:1.11.4
CUDA_HEADERS=(nvidia-cuda-crt==13.0.88 nvidia-cuda-cccl==13.0.85)
MODULES=java.base,java.logging,java.management,java.naming,java.sql,java.xml,java.scripting,jdk.unsupported,jdk.zipfs

[[ $# -eq 0 ]] || { echo "assemble-kit: no arguments (the JNI sources are in src/main/native)" >&2; exit 2; }

cd "$ROOT"
echo "assemble-kit: building the project"
mvn -B -q package -DskipTests
mvn -B -q dependency:copy -Dartifact="$JUNIT_CONSOLE" -DoutputDirectory=target/kit-tools -Dmdep.stripVersion=true

STAGE="$KIT/stage"
rm -rf "$KIT"
mkdir -p "$STAGE/lib"
# uncompressed modules: xz packs them to 13 MB where jlink's own zip leaves 20
jlink --add-modules "$MODULES" --strip-debug --no-man-pages --compress=0 --output "$STAGE/jre"
rm -f "$STAGE"/jre/lib/server/classes*.jsa # class-data sharing only speeds up start-up

for jar in target/lib/*.jar; do
  case "$(basename "$jar")" in
    pytorch-native-cpu-*|pytorch-jni-*) ;; # the CPU libtorch and DJL's CPU JNI: the GPU machine brings its own
    pdfbox-*|fontbox-*|graphics2d-*|VectorGraphics2D-*|animated-gif-lib-*) ;; # the demo's PDF/SVG/GIF export
    duckdb_jdbc-*) ;; # parquet reading (80 MB of natives for every platform): no GPU check reads parquet
    mlflow-client-*|protobuf-java-*) ;; # tracking (MLflow, TensorBoard's protobufs): no GPU check reports a run
    *) cp "$jar" "$STAGE/lib/" ;;
  esac
done
tokenizers="$(ls "$STAGE"/lib/tokenizers-*.jar)"
zip -q -d "$tokenizers" 'native/lib/linux-aarch64/*' 'native/lib/win-x86_64/*' 'native/lib/osx-aarch64/*'
cp -r target/classes "$STAGE/classes"
rm -rf "$STAGE/classes/org/orpo4j/native" # the CPU JNI: the device builds its own against its torch
# the test classes without their resources: those travel with the working tree (src/test/resources), which
# device-check.sh puts on the class path
mkdir -p "$STAGE/test-classes" && cp -r target/test-classes/org "$STAGE/test-classes/"
cp target/kit-tools/junit-platform-console-standalone.jar "$STAGE/junit-console.jar"
# crt/host_config.h and nv/target, which ProcessGroupNCCL.hpp needs through cuda_runtime.h and cuda_fp16.h: CUDA 13
# keeps them in nvidia-cuda-crt and nvidia-cuda-cccl, packages torch does not install (device-check.sh points
# CUDA_HOME here when the device lacks them)
CUDA_WHEELS="$(mktemp -d)"
if python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
    -d "$CUDA_WHEELS" "${CUDA_HEADERS[@]}" > /dev/null 2>&1; then
  for whl in "$CUDA_WHEELS"/*.whl; do
    unzip -q -o "$whl" 'nvidia/cu13/include/crt/*' 'nvidia/cu13/include/nv/*' -d "$CUDA_WHEELS/x" > /dev/null 2>&1 \
      || true # each wheel holds one of the two
  done
  mkdir -p "$STAGE/cuda" && mv "$CUDA_WHEELS/x/nvidia/cu13/include" "$STAGE/cuda/include"
else
  echo "assemble-kit: pip could not download ${CUDA_HEADERS[*]}: the device builds NCCL only if it has their headers"
fi
rm -rf "$CUDA_WHEELS"

tar -C "$STAGE" -cf - . | xz -9 -T0 > "$KIT/kit.tar.xz"
rm -rf "$STAGE"

kit_bytes=$(stat -c %s "$KIT/kit.tar.xz")
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
total=$((kit_bytes + tree_bytes))
printf 'assemble-kit: kit %.1f MiB + working tree %.1f MiB = %.1f MiB of the %d MiB a device run carries\n' \
  "$(echo "$kit_bytes / 1048576" | bc -l)" "$(echo "$tree_bytes / 1048576" | bc -l)" \
  "$(echo "$total / 1048576" | bc -l)" $((LIMIT / 1048576))
if (( total > LIMIT )); then
  echo "assemble-kit: too large for one device run" >&2
  exit 1
fi
