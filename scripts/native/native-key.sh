#!/usr/bin/env bash
# Prints the cache key of orpo4j's native library: TORCH_VERSION-FLAVOR-<first 12 hex digits of a SHA-256 over every
# file of src/main/native and the build script, names and contents>. Same sources and torch, same key: a cached
# library with this key is the one a build would make.
# Usage: scripts/native/native-key.sh TORCH_VERSION FLAVOR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ $# -eq 2 ]] || { echo "usage: native-key.sh TORCH_VERSION FLAVOR" >&2; exit 2; }
cd "$ROOT"
hash="$( { find src/main/native -type f -print0; printf '%s\0' scripts/native/build-djl-jni.sh; } \
  | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)"
echo "$1-$2-$hash"
