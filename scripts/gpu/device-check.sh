#!/usr/bin/env bash
# The GPU check, run ON a CUDA machine from the repository root with the kit of scripts/gpu/assemble-kit.sh in
# .gpu-kit/ (docs/gpu.md). It needs python3 with a CUDA torch, a C++ compiler and nvidia-smi; no JDK, no network.
# Stages (STAGES=golden,jni,smoke,nccl,tests,bench by default), run in the order STAGES names them, each under its own
# time limit, each logged to $OUT:
#   golden  PyTorch's own GradScaler on a scripted overflow/clean series -> grad_scaler.json (LossScalerTest's golden)
#   jni     scripts/native/build-djl-jni.sh against that torch (src/main/native: bfloat16, differentiable casts, the
#           same sources mvn package builds against DJL's CPU libtorch) -> jni-build.log
#   smoke   org.orpo4j.bench.GpuSmoke: what DJL loaded and sees; GPU logits against the CPU's -> smoke.log
#   nccl    org.orpo4j.bench.NcclSmoke: one rank through ProcessGroupNCCL, every collective on CUDA tensors (one GPU
#           cannot hold two NCCL ranks) -> nccl.log; needs the jni stage's library built with ProcessGroupNCCL
#   tests   the JUnit tests tagged TEST_TAGS (default gpu,native) -> tests.log, junit/TEST-junit-jupiter.xml
#   bench   org.orpo4j.bench.GpuStepBenchmark, orpo4j and PyTorch eager side by side -> bench.log
# Environment: OUT (default ./gpu-out), STAGES, BENCH_ARGS, TEST_TAGS, PYTHON (default python3), TORCH_INCLUDE/TORCH_LIB to
# build against a libtorch other than python's, PYTORCH_FLAVOR (default cuXYZ from torch.version.cuda, else cpu).
set -uo pipefail

ROOT="$(pwd)"
OUT="${OUT:-$ROOT/gpu-out}"
STAGES="${STAGES:-golden,jni,smoke,nccl,tests,bench}"
BENCH_ARGS="${BENCH_ARGS:---cases g,a --precisions fp32,bf16 --steps 8 --warmup 2}"
TEST_TAGS="${TEST_TAGS:-gpu,native}"
PY="${PYTHON:-python3}"
KIT=/tmp/orpo4j-kit
T0=$(date +%s)
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
say() { echo "== [$(( $(date +%s) - T0 ))s] $*" | tee -a "$SUMMARY"; }

say "unpacking the kit"
rm -rf "$KIT" && mkdir -p "$KIT"
if command -v xz > /dev/null; then
  xz -dc .gpu-kit/kit.tar.xz | tar -C "$KIT" -xf -
else
  "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .gpu-kit/kit.tar.xz "$KIT"
fi || { say "kit missing or broken (.gpu-kit/kit.tar.xz)"; exit 1; }
export JAVA_HOME="$KIT/jre"
export PATH="$JAVA_HOME/bin:$PATH"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$SUMMARY"

TORCH_DIR="$($PY -c 'import os, torch; print(os.path.dirname(torch.__file__))')"
TORCH_VERSION="$($PY -c 'import torch; print(torch.__version__.split("+")[0])')"
CUDA_TAG="$($PY -c 'import torch; print("cu" + torch.version.cuda.replace(".", "") if torch.version.cuda else "cpu")')"
SITE="$(dirname "$TORCH_DIR")"
export PYTORCH_LIBRARY_PATH="${TORCH_LIB:-$TORCH_DIR/lib}"
export PYTORCH_VERSION="$TORCH_VERSION"
export PYTORCH_FLAVOR="${PYTORCH_FLAVOR:-$CUDA_TAG}"
export DJL_CACHE_DIR=/tmp/djl-cache
# DJL counts GPUs through libcudart, which a pip torch keeps beside itself (nvidia/cuda_runtime/lib up to CUDA 12,
# nvidia/cu13/lib from CUDA 13)
export LD_LIBRARY_PATH="$SITE/nvidia/cuda_runtime/lib:$SITE/nvidia/cu13/lib:${LD_LIBRARY_PATH:-}"
say "torch $TORCH_VERSION ($PYTORCH_FLAVOR) at $TORCH_DIR; java $(java -version 2>&1 | head -1)"
CP="$KIT/classes:$KIT/test-classes:$ROOT/src/test/resources:$(ls "$KIT"/lib/*.jar | tr '\n' ':')"
JNI_DIR="$DJL_CACHE_DIR/pytorch/$PYTORCH_VERSION-$PYTORCH_FLAVOR-linux-x86_64"

stage_golden() {
  say "golden: PyTorch's GradScaler"
  timeout 120 "$PY" src/test/python/grad_scaler_golden.py "$OUT/grad_scaler.json" 2>&1 | tail -3 | tee -a "$SUMMARY"
}

stage_jni() {
  say "jni: building libdjl_torch.so"
  for header in crt/host_config.h nv/target; do
    if ! ls "$SITE"/nvidia/*/include/$header /usr/local/cuda/include/$header > /dev/null 2>&1 \
        && [[ -d "$KIT/cuda/include" ]]; then
      export CUDA_HOME="$KIT/cuda" # the kit's CUDA headers (assemble-kit.sh) for the NCCL translation unit
    fi
  done
  if timeout 420 bash scripts/native/build-djl-jni.sh \
      --torch-include "${TORCH_INCLUDE:-$TORCH_DIR/include}" --torch-lib "${TORCH_LIB:-$TORCH_DIR/lib}" \
      --out /tmp/djl-jni --jobs "$(nproc)" --flavor "$PYTORCH_FLAVOR" > "$OUT/jni-build.log" 2>&1; then
    mkdir -p "$JNI_DIR" && cp /tmp/djl-jni/libdjl_torch.so "$JNI_DIR/0.36.0-libdjl_torch.so"
    grep 'build-djl-jni: \(torch\|built\)' "$OUT/jni-build.log" | tee -a "$SUMMARY"
  else
    say "jni: BUILD FAILED (jni-build.log):"
    grep -m 20 -i 'error' "$OUT/jni-build.log" /tmp/djl-jni/build.log 2>/dev/null | tee -a "$SUMMARY"
    exit 1
  fi
}

stage_smoke() {
  say "smoke"
  timeout 180 java -Xmx2g -cp "$CP" org.orpo4j.bench.GpuSmoke > "$OUT/smoke.log" 2>&1
  echo "smoke exit $?" >> "$OUT/smoke.log"
  grep -v '^\[main\] INFO' "$OUT/smoke.log" | tail -8 | tee -a "$SUMMARY"
}

stage_nccl() {
  say "nccl: one rank through ProcessGroupNCCL"
  timeout 180 java -Xmx2g -cp "$CP" org.orpo4j.bench.NcclSmoke > "$OUT/nccl.log" 2>&1
  echo "nccl exit $?" >> "$OUT/nccl.log"
  grep -E '^nccl|Exception|error' "$OUT/nccl.log" | tail -6 | tee -a "$SUMMARY"
}

stage_tests() {
  say "tests tagged $TEST_TAGS"
  tags=()
  for tag in ${TEST_TAGS//,/ }; do tags+=(--include-tag "$tag"); done
  timeout 420 java -Xmx4g -jar "$KIT/junit-console.jar" execute --class-path "$CP" \
    --scan-class-path "$KIT/test-classes" "${tags[@]}" --details=tree --disable-ansi-colors \
    --disable-banner --reports-dir "$OUT/junit" > "$OUT/tests.log" 2>&1
  echo "tests exit $?" >> "$OUT/tests.log"
  grep -E '✔|✘|↷|parity on|GPU .* steps|tests (successful|failed|skipped|aborted)|exit' "$OUT/tests.log" \
    | tail -40 | tee -a "$SUMMARY"
}

stage_bench() {
  say "bench: GpuStepBenchmark $BENCH_ARGS"
  # shellcheck disable=SC2086
  timeout 480 java -Xmx2g -cp "$CP" org.orpo4j.bench.GpuStepBenchmark $BENCH_ARGS --python "$PY" \
    > "$OUT/bench.log" 2>&1
  echo "bench exit $?" >> "$OUT/bench.log"
  sed -n '/^case /,$p' "$OUT/bench.log" | tee -a "$SUMMARY"
}

for stage in ${STAGES//,/ }; do
  declare -F "stage_$stage" > /dev/null || { say "no stage $stage (golden, jni, smoke, nccl, tests, bench)"; exit 2; }
  "stage_$stage"
done
say "done"
