#!/usr/bin/env bash
# Foundation benchmark: load throughput and 8 analytical queries, kura vs DuckDB, same data,
# same run. Usage: bench/run.sh [ROWS]   (default 10000000)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
rows="${1:-10000000}"

if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install -q "duckdb==1.4.*"

(cd "$root" && cargo build --release -q -p kura)
kura="${CARGO_TARGET_DIR:-$root/target}/release/kura"

"$here/.venv/bin/python" "$here/run.py" --rows "$rows" --kura "$kura" --out "$here/RESULTS.md"
