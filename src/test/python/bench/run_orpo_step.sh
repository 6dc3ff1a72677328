#!/usr/bin/env bash
# One command for the ORPO step benchmark (docs/benchmarks.md): builds the test classes offline, then runs
# org.orpo4j.bench.OrpoStepBenchmark from the repository root; arguments pass through, e.g.
#   bash src/test/python/bench/run_orpo_step.sh --cases a --steps 5
#   bash src/test/python/bench/run_orpo_step.sh --cases b,b2 --steps 1
set -euo pipefail
cd "$(dirname "$0")/../../../.."
mvn -B -o -q test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-classpath.txt
exec java -cp "target/test-classes:target/classes:$(cat target/bench-classpath.txt)" \
    org.orpo4j.bench.OrpoStepBenchmark "$@"
