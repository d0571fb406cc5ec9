#!/usr/bin/env bash
# The one script to run on a GPU machine with a carried w2st binary and no Go.
# It prints everything needed to diagnose a failure and finishes in a few minutes.
#
# Usage:  scripts/gpu/smoke.sh [path/to/w2st]     (default bin/w2st)
# Build first on a Go machine (cgo, linux/amd64):  make gpu-bundle   (bin/w2st + bin/neox.test)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-bin/w2st}"
export PYTHON="${PYTHON:-/opt/torch/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
step() { echo; echo "=== $* ($(date +%T))"; }
fails=0
run() { echo "+ $*"; timeout "${STEP_TIMEOUT:-170}" "$@"; rc=$?; [ $rc -eq 0 ] || { echo "!! exit $rc"; fails=$((fails+1)); }; return 0; }

step "machine"
uname -a; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | head -5
"$PYTHON" -c 'import jax, jaxlib; print("jax", jax.__version__)' 2>&1 | tail -1
"$bin" --version

step "environment (scripts/gpu/env.sh)"
if envs=$(bash "$here/env.sh"); then echo "$envs"; eval "$envs"; else echo "!! env.sh failed"; fails=$((fails+1)); fi

step "w2st devices (plugin load, client, devices)"
run "$bin" devices --backend cuda
step "w2st devices --check (compile AND execute: a PJRT ABI mismatch shows here)"
run "$bin" devices --backend cuda --check --json

# issue 3: GPT-NeoX classifier: transformers parity, export loads in HF, pythia-410m fwd/bwd + fwd on CUDA
# shellcheck source=neox_smoke.sh
source "$here/neox_smoke.sh"

step "done: $fails failed step(s)"
[ "$fails" -eq 0 ]
