#!/usr/bin/env bash
# Installs the system and npm packages the tests need (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
# The independent PyTorch reference (scripts/reference) that reads our HF exports in tests.
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need_apt+=(python3-torch libopenblas0-pthread)
if [ ${#need_apt[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# DuckDB for the Parquet interop test (data/parquetio TestDuckDB); quick when present.
if [ ! -d scripts/data/node_modules/@duckdb/node-api ]; then
	(cd scripts/data && npm ci --no-audit --no-fund --silent)
fi
