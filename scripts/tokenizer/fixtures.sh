#!/usr/bin/env bash
# Regenerates data/tokenizer/testdata/{gpt2,neox}_expected.jsonl from the shared data
# folder with the two JavaScript reference tokenizers pinned in package.json.
# Needs node + npm (the registry is only reached when node_modules is missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${W2ST_DATA_DIR:-$root/../shared/data}"
cd "$here"
if [ ! -d node_modules/gpt-3-encoder ] || [ ! -d node_modules/@huggingface/tokenizers ]; then
  npm ci --no-audit --no-fund
fi
node gen_expected.js "$data" "$root/data/tokenizer/testdata"
