#!/usr/bin/env bash
# Prints the exports a JAX CUDA install needs for w2st's XLA backend:
#   W2ST_BACKEND / W2ST_PJRT_PLUGIN   the absolute path of jax_plugins/xla_cuda*/xla_cuda_plugin.so
#   LD_LIBRARY_PATH                   the nvidia/*/lib folders of the same site-packages
#   XLA_FLAGS                         --xla_gpu_cuda_data_dir=<the nvidia CUDA dir with ptxas/libdevice>
#   GOPJRT_CUDA_CHECKS=0              skips go-xla's check that writes a hard-coded path into XLA_FLAGS
#   GOMLX_NO_AUTO_INSTALL=1           never download plugins
#
# Usage:  eval "$(scripts/gpu/env.sh [SITE_PACKAGES])"
# Without an argument the site-packages of the active Python (python3 on PATH,
# or $PYTHON) is used. Exits 1 with a message on stderr when no plugin is found.
set -euo pipefail
sp="${1:-}"
if [ -z "$sp" ]; then
	py="${PYTHON:-python3}"
	if ! command -v "$py" >/dev/null 2>&1; then
		echo "env.sh: no site-packages given and no $py on PATH" >&2
		exit 1
	fi
	sp=$("$py" - <<'PY'
import importlib.util, os, site, sys
spec = importlib.util.find_spec("jax_plugins")
if spec and spec.submodule_search_locations:
    print(os.path.dirname(list(spec.submodule_search_locations)[0]))
else:
    paths = getattr(site, "getsitepackages", lambda: [])()
    print(paths[0] if paths else "")
PY
)
fi
if [ -z "$sp" ] || [ ! -d "$sp" ]; then
	echo "env.sh: site-packages folder not found: '$sp'" >&2
	exit 1
fi
plugin=$(ls -1d "$sp"/jax_plugins/xla_cuda*/xla_cuda_plugin.so 2>/dev/null | sort -r | head -n 1 || true)
if [ -z "$plugin" ]; then
	echo "env.sh: no jax_plugins/xla_cuda*/xla_cuda_plugin.so under $sp (install jax[cuda13] there, or pass another site-packages)" >&2
	exit 1
fi
libs=""
for d in "$sp"/nvidia/*/lib; do
	[ -d "$d" ] && libs="${libs:+$libs:}$d"
done
datadir=""
for c in cu13 cu12 cuda_nvcc; do
	if [ -d "$sp/nvidia/$c/bin" ] || [ -d "$sp/nvidia/$c/nvvm" ]; then datadir="$sp/nvidia/$c"; break; fi
done
[ -z "$datadir" ] && [ -d /usr/local/cuda ] && datadir=/usr/local/cuda
echo "export W2ST_BACKEND=cuda"
echo "export W2ST_PJRT_PLUGIN='$plugin'"
echo "export LD_LIBRARY_PATH='$libs'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
[ -n "$datadir" ] && echo "export XLA_FLAGS='--xla_gpu_cuda_data_dir=$datadir'"
echo "export GOPJRT_CUDA_CHECKS=0"
echo "export GOMLX_NO_AUTO_INSTALL=1"
