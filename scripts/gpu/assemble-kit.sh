#!/usr/bin/env bash
# Assembles the GPU check kit: everything a GPU machine without a JDK or network needs to build orpo4j's PyTorch JNI
# there and run the GPU tests and the GPU benchmark (docs/gpu.md). Writes .gpu-kit/kit.tar.xz (git-ignored):
#   jre/            a jlink runtime (with include/, for jni.h) of the modules orpo4j and its libraries use
#   lib/            the runtime jars, without the CPU libtorch jar, DJL's CPU JNI jar and DuckDB; tokenizers' natives
#                   for linux-x86_64 only
#   classes/, test-classes/, junit-console.jar   the project, its tests and JUnit's console launcher
# and checks that it and the working tree together stay under the 64 MiB one device run may carry. The JNI's sources
# (src/main/native, with the JNI header) and its build script travel with the working tree: device-check.sh builds
# the same library mvn package builds, against the device's torch.
# Usage: scripts/gpu/assemble-kit.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIT="$ROOT/.gpu-kit"
LIMIT=$((64 * 1024 * 1024))
JUNIT_CONSOLE=org.junit.platform:junit-platform-console-standalone:1.11.4
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
    *) cp "$jar" "$STAGE/lib/" ;;
  esac
done
tokenizers="$(ls "$STAGE"/lib/tokenizers-*.jar)"
zip -q -d "$tokenizers" 'native/lib/linux-aarch64/*' 'native/lib/win-x86_64/*' 'native/lib/osx-aarch64/*'
cp -r target/classes "$STAGE/classes"
rm -rf "$STAGE/classes/org/orpo4j/native" # the CPU JNI: the device builds its own against its torch
cp -r target/test-classes "$STAGE/test-classes"
cp target/kit-tools/junit-platform-console-standalone.jar "$STAGE/junit-console.jar"


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
