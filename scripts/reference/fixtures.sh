#!/usr/bin/env bash
# Regenerates accel/neox/testdata/parity from the independent PyTorch reference
# (Debian's python3-torch). Deterministic: the same torch gives the same bytes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${REFERENCE_PYTHON:-/usr/bin/python3}"
"$PY" "$root/scripts/reference/neox_ref.py" fixtures "$root/accel/neox/testdata/parity"
