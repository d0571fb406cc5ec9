#!/usr/bin/env bash
# Regenerates accel/train/testdata/adamw_ref.json from the independent PyTorch
# reference (Debian's python3-torch). Deterministic: the same torch gives the same bytes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${REFERENCE_PYTHON:-/usr/bin/python3}"
"$PY" "$root/scripts/train/adamw_ref.py" "$root/accel/train/testdata/adamw_ref.json"
