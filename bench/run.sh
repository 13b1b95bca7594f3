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
"$here/.venv/bin/pip" install -q "duckdb==1.4.*" pytz "lightgbm==4.7.*" "shap==0.51.*" \
  "statsmodels==0.15.*" pandas "bsts-causalimpact==1.7.*"

# The README's test build also builds the binary; building it with the same package set
# reuses that build (a `-p kura` build would unify features differently and rebuild DataFusion).
(cd "$root" && cargo test --release --workspace --all-features --no-run -q)
kura="${CARGO_TARGET_DIR:-$root/target}/release/kura"

"$here/.venv/bin/python" "$here/run.py" --rows "$rows" --kura "$kura" --out "$here/RESULTS.md"
"$here/.venv/bin/python" "$here/ga4.py" --rows 1000000 --kura "$kura" --out "$here/RESULTS.md"
"$here/.venv/bin/python" "$here/ga4_load.py" --events 1000000 --memory-events 5000000 --kura "$kura" --out "$here/RESULTS.md"
"$here/.venv/bin/python" "$here/models_plan.py" --kura "$kura" --out "$here/RESULTS.md"
"$here/.venv/bin/python" "$here/monitors.py" --rows "$rows" --kura "$kura" --out "$here/RESULTS.md"
"$here/.venv/bin/python" "$here/ml.py" --rows 100000 --kura "$kura" --out "$here/RESULTS.md"
"$here/.venv/bin/python" "$here/experiments.py" --kura "$kura" --out "$here/RESULTS.md"
