#!/usr/bin/env bash
# Regenerates data/parquetio/testdata/duckdb.parquet: a w2st-schema file
# written by DuckDB (npm @duckdb/node-api, pinned in package.json), which the
# reader's tests read back. Needs node + npm (the registry is only reached
# when node_modules is missing). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
if [ ! -d node_modules/@duckdb/node-api ]; then
  npm ci --no-audit --no-fund
fi
mkdir -p "$root/data/parquetio/testdata"
node duckdb_check.mjs write "$root/data/parquetio/testdata/duckdb.parquet" >/dev/null
