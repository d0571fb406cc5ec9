#!/usr/bin/env bash
# Regenerates every committed test fixture (make fixtures). Each line calls one
# package's generator; each generator is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/reference/fixtures.sh
bash scripts/tokenizer/fixtures.sh
bash scripts/train/fixtures.sh
bash scripts/data/fixtures.sh
