"""Load and query benchmark: kura (embedded DataFusion + Delta) against DuckDB.

Generates a deterministic orders fact table (ROWS rows) and a customers dimension with DuckDB,
writes them as Parquet, CSV and NDJSON, loads them with `kura load`, and runs the same eight
queries with kura and with DuckDB (on the same Parquet files), in the same run. kura's query
times are the durations kura records in _kura.query_log (planning + execution, no process
start); DuckDB's are wall time around execute+fetch. Each query runs three times; the best time
counts.
"""
import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import duckdb

from results import replace_section

QUERIES = [
    ("filter", "SELECT count(*) AS n, sum(amount) AS total FROM {orders} "
               "WHERE status = 'returned' AND amount > 500"),
    ("group-by", "SELECT status, channel, count(*) AS n, avg(amount) AS avg_amount FROM {orders} "
                 "GROUP BY status, channel ORDER BY status, channel"),
    ("join-dimension", "SELECT c.country, count(*) AS n, sum(o.amount) AS revenue FROM {orders} o "
                       "JOIN {customers} c ON o.customer_id = c.customer_id "
                       "GROUP BY c.country ORDER BY revenue DESC"),
    ("window", "SELECT customer_id, order_id, amount FROM (SELECT customer_id, order_id, amount, "
               "row_number() OVER (PARTITION BY customer_id ORDER BY amount DESC, order_id) AS rn "
               "FROM {orders}) t WHERE rn = 1 ORDER BY amount DESC, order_id LIMIT 10"),
    ("distinct-count", "SELECT count(DISTINCT customer_id) AS customers FROM {orders}"),
    ("top-k", "SELECT order_id, amount FROM {orders} ORDER BY amount DESC, order_id LIMIT 10"),
    # kura takes GoogleSQL; DuckDB spells the same truncation its own way.
    ("date-bucketing", ("SELECT TIMESTAMP_TRUNC(ordered_at, MONTH) AS month, count(*) AS n, "
                        "sum(amount) AS revenue FROM {orders} GROUP BY 1 ORDER BY 1",
                        "SELECT date_trunc('month', ordered_at) AS month, count(*) AS n, "
                        "sum(amount) AS revenue FROM {orders} GROUP BY 1 ORDER BY 1")),
    ("point-lookup", "SELECT * FROM {orders} WHERE order_id = 4242424"),
]
RUNS = 3


def generate(data: Path, rows: int) -> None:
    data.mkdir(parents=True, exist_ok=True)
    marker = data / f"rows-{rows}"
    if marker.exists():
        return
    con = duckdb.connect()
    customers = max(rows // 100, 1000)
    con.execute(f"""
        CREATE TABLE customers AS
        SELECT i AS customer_id,
               ['JP','US','DE','GB','FR','KR','BR','IN'][1 + (hash(i) % 8)::INT] AS country,
               ['consumer','small_business','enterprise'][1 + (hash(i * 7) % 3)::INT] AS segment,
               DATE '2020-01-01' + (hash(i * 13) % 1500)::INT AS signed_up_on
        FROM range(1, {customers} + 1) t(i)""")
    con.execute(f"""
        CREATE TABLE orders AS
        SELECT i AS order_id,
               1 + (hash(i) % {customers})::BIGINT AS customer_id,
               TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds((hash(i * 3) % 63072000)::BIGINT) AS ordered_at,
               ['delivered','delivered','delivered','shipped','cancelled','returned'][1 + (hash(i * 5) % 6)::INT] AS status,
               ['web','app','store','phone'][1 + (hash(i * 11) % 4)::INT] AS channel,
               round(((hash(i * 17) % 100000) / 100.0)::DOUBLE, 2) AS amount,
               1 + (hash(i * 19) % 5)::INT AS quantity
        FROM range(1, {rows} + 1) t(i)""")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"COPY customers TO '{data}/customers.parquet' (FORMAT parquet)")
    con.execute(f"COPY orders TO '{data}/orders.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
    con.execute(f"COPY orders TO '{data}/orders.csv' (FORMAT csv, HEADER, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ')")
    json_rows = min(rows, 2_000_000)
    con.execute(f"COPY (SELECT * FROM orders WHERE order_id <= {json_rows}) TO '{data}/orders.ndjson' "
                f"(FORMAT json, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ')")
    marker.write_text("ok")


def kura(bin_path, project, *args, capture=False):
    cmd = [bin_path, "--project", str(project), "--quiet", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"kura {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout if capture else None


def timed_load(bin_path, project, path, table, rows):
    t0 = time.perf_counter()
    kura(bin_path, project, "load", str(path), "--into", table, "--force")
    secs = time.perf_counter() - t0
    print(f"load {path.name:16} {rows:,} rows in {secs:.2f} s: {rows / secs:,.0f} rows/s", flush=True)
    return secs, rows / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--kura", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    here = Path(__file__).resolve().parent
    data = here / "data"
    work = here / "work"
    generate(data, args.rows)

    if work.exists():
        shutil.rmtree(work)
    subprocess.run([args.kura, "--quiet", "init", str(work), "--name", "bench"], check=True)
    json_rows = min(args.rows, 2_000_000)

    loads = []
    secs, rate = timed_load(args.kura, work, data / "orders.parquet", "raw.orders", args.rows)
    loads.append(("Parquet", args.rows, secs, rate, 1_000_000))
    kura(args.kura, work, "load", str(data / "customers.parquet"), "--into", "raw.customers")
    secs, rate = timed_load(args.kura, work, data / "orders.csv", "raw.orders_csv", args.rows)
    loads.append(("CSV", args.rows, secs, rate, 300_000))
    secs, rate = timed_load(args.kura, work, data / "orders.ndjson", "raw.orders_json", json_rows)
    loads.append(("NDJSON", json_rows, secs, rate, 300_000))

    # DuckDB loading the same Parquet file into its own table, for reference.
    duck = duckdb.connect()
    duck.execute("SET threads = 2")
    duck.execute("SET TimeZone = 'UTC'")
    t0 = time.perf_counter()
    duck.execute(f"CREATE TABLE orders_loaded AS SELECT * FROM read_parquet('{data}/orders.parquet')")
    duck_load = time.perf_counter() - t0
    duck.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{data}/orders.parquet')")
    duck.execute(f"CREATE VIEW customers AS SELECT * FROM read_parquet('{data}/customers.parquet')")

    results = []
    for name, template in QUERIES:
        kura_sql, duck_sql = template if isinstance(template, tuple) else (template, template)
        label = f"bench={name}"
        for _ in range(RUNS):
            kura(args.kura, work, "sql", "--format", "csv", "-o", os.devnull, "--label", label,
                 kura_sql.format(orders="raw.orders", customers="raw.customers"))
        out = kura(args.kura, work, "sql", "--format", "json", "--dialect", "datafusion",
                   "SELECT min(duration_ms) AS ms FROM _kura.query_log q "
                   f"WHERE statement_type = 'QUERY' AND array_length(labels) > 0 "
                   f"AND labels[1]['value'] = '{name}'", capture=True)
        kura_ms = json.loads(out)[0]["ms"]
        best = math.inf
        for _ in range(RUNS):
            t0 = time.perf_counter()
            duck.execute(duck_sql.format(orders="orders", customers="customers")).fetchall()
            best = min(best, time.perf_counter() - t0)
        duck_ms = best * 1000
        results.append((name, kura_ms, duck_ms, kura_ms / max(duck_ms, 0.01)))
        print(flush=True)
        print(f"{name:16} kura {kura_ms:8.1f} ms   duckdb {duck_ms:8.1f} ms   ratio {kura_ms / max(duck_ms, 0.01):6.2f}")

    geo = math.exp(sum(math.log(max(r[3], 1e-9)) for r in results) / len(results))
    lines = [
        f"Command: `bench/run.sh {args.rows}` (machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"DuckDB {duckdb.__version__}, run {time.strftime('%Y-%m-%d')}).",
        "",
        "### Loads (`kura load`, whole process wall time, one commit per load)",
        "",
        "| format | rows | seconds | rows/s | target |",
        "|---|---:|---:|---:|---:|",
    ]
    for fmt, n, secs, rate, target in loads:
        ok = "met" if rate >= target else "MISSED"
        lines.append(f"| {fmt} | {n:,} | {secs:.2f} | {rate:,.0f} | {target:,} ({ok}) |")
    lines += [
        "",
        f"DuckDB `CREATE TABLE AS SELECT * FROM read_parquet(...)` of the same file: {duck_load:.2f} s "
        f"({args.rows / duck_load:,.0f} rows/s; into its in-memory table, not a Delta table on disk).",
        "",
        "### Queries (best of 3; kura on its Delta tables, DuckDB on the Parquet files)",
        "",
        "| query | kura ms | DuckDB ms | kura/DuckDB |",
        "|---|---:|---:|---:|",
    ]
    for name, k, d, r in results:
        lines.append(f"| {name} | {k:.1f} | {d:.1f} | {r:.2f} |")
    lines += ["", f"Geometric mean of the ratios: **{geo:.2f}** (target: at most 1.5).", ""]
    replace_section(Path(args.out), "Foundation: loads and queries (issue 2)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
