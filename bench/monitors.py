"""Monitors: every metric of a table's monitor in one scan, kura against the same metrics in one
DuckDB query.

Generates (deterministically, from --seed) a ROWS-row event table with DuckDB into
bench/work-monitors/events.parquet: `event_id`, `happened_at` (TIMESTAMP, UTC instants spread
uniformly over the 16 whole days before today in Asia/Tokyo, so every row falls in the monitor's
default window of 14 training + 2 detection day buckets) and ten monitored columns: five numeric
(BIGINT and DOUBLE, three with 1-5 % NULLs) and five strings (3 to about 3 M distinct values,
three with NULLs). The file is reused while its row count, seed and window are unchanged.

kura side: a fresh project (`kura init`), the file loaded with `kura load --into bench.events`,
and `models/bench/checks.toml` declaring `monitor = { time_column = "happened_at", columns =
[...10 columns...] }`. Timed, one warm-up run then RUNS: `kura monitor -s bench.events` as a whole
process (start to exit: open the warehouse, the one scan, anomaly detection, the append to
`_kura.monitor_metrics`), and the engine's own duration of the scan query as recorded in
`_kura.query_log` (the query labelled `monitor`).

DuckDB side: the same aggregates in one query on the same Parquet file (read_parquet), same
window filter, bucket = date_trunc('day', happened_at AT TIME ZONE 'Asia/Tokyo'); one warm-up
then RUNS, wall time around execute + fetch, default threads.

Checks (the script fails if any differ): the buckets and their row counts in kura's latest run
in `_kura.monitor_metrics` equal DuckDB's; null counts (null_rate x row_count) of every monitored
column; min and max (exact) and mean (relative 1e-9) of the numeric columns. Approximate distinct
counts are compared and reported, not required to match (different sketches).

--skip-kura runs the generator and the DuckDB side only (no RESULTS.md section). --no-float
generates the two DOUBLE columns as BIGINT instead, so that their distinct counts are computed
(kura's monitor counts distinct values of integer and discrete columns, not of FLOAT64 ones; with
DOUBLE columns neither side counts them).
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from results import replace_section

HERE = Path(__file__).resolve().parent
WORK = HERE / "work-monitors"
HEADING = "Monitors (issue 6)"
ZONE = "Asia/Tokyo"
TABLE = "bench.events"
TIME_COLUMN = "happened_at"
WINDOW_DAYS = 16  # 14 training + 2 detection buckets, kura's defaults
TARGET_ROWS_PER_SEC = 20_000_000
RUNS = 5

# (name, kind, SQL over i and h(k) = a per-row hash with salt k). Numeric columns get mean/min/max.
COLUMNS = [
    ("user_id", "numeric", "1 + (h(11) % 500000)::BIGINT"),
    ("amount", "numeric", "CASE WHEN h(12) % 100 < 2 THEN NULL ELSE round((h(13) % 1000000) / 100.0, 2)::DOUBLE END"),
    ("quantity", "numeric", "CASE WHEN h(14) % 100 < 1 THEN NULL ELSE 1 + (h(15) % 10)::BIGINT END"),
    ("latency_ms", "numeric", "CASE WHEN h(16) % 100 < 5 THEN NULL ELSE ((h(17) % 250000) / 100.0 + (h(18) % 1000) / 1000.0)::DOUBLE END"),
    ("score", "numeric", "CASE WHEN h(19) % 100 < 3 THEN NULL ELSE (h(20) % 1001)::BIGINT END"),
    ("country", "string", "CASE WHEN h(21) % 100 < 1 THEN NULL ELSE ['JP','US','DE','GB','FR','KR','BR','IN'][1 + (h(22) % 8)::INT] END"),
    ("event_name", "string", "['page_view','click','scroll','search','add_to_cart','remove_from_cart',"
                             "'begin_checkout','purchase','login','logout','share','video_start'][1 + (h(23) % 12)::INT]"),
    ("device", "string", "CASE WHEN h(24) % 100 < 2 THEN NULL ELSE ['desktop','mobile','tablet'][1 + (h(25) % 3)::INT] END"),
    ("page_path", "string", "CASE WHEN h(26) % 100 < 3 THEN NULL ELSE '/p/' || (h(27) % 20000)::VARCHAR END"),
    ("session_id", "string", "'s-' || (h(28) % 3000000)::VARCHAR"),
]


# --no-float: the two DOUBLE columns as BIGINT (amount in cents, latency in microseconds).
# kura's monitor counts distinct values of integer and discrete columns only, not of FLOAT64
# ones (a continuous value is nearly always distinct); with DOUBLE columns neither side counts them.
FLOAT_COLUMNS = ("amount", "latency_ms")
NO_DISTINCT: set = set()
NO_FLOAT = {
    "amount": "CASE WHEN h(12) % 100 < 2 THEN NULL ELSE (h(13) % 1000000)::BIGINT END",
    "latency_ms": "CASE WHEN h(16) % 100 < 5 THEN NULL ELSE ((h(17) % 250000) * 1000 + h(18) % 1000)::BIGINT END",
}


def window(now_utc: datetime):
    """The monitor's window for a run at now_utc: (first local day, start as a UTC datetime)."""
    today = now_utc.astimezone(ZoneInfo(ZONE)).date()
    first = today - timedelta(days=WINDOW_DAYS)
    start = datetime(first.year, first.month, first.day, tzinfo=ZoneInfo(ZONE)).astimezone(timezone.utc)
    return first, start


def generate(rows: int, seed: int, first_day: date, start_utc: datetime, no_float: bool) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "events.parquet"
    variant = "-nofloat" if no_float else ""
    marker = WORK / f"events-rows{rows}-seed{seed}-from{first_day.isoformat()}{variant}.ok"
    if marker.exists() and path.exists():
        print(f"reusing {path}", flush=True)
        return path
    for old in WORK.glob("events-*.ok"):
        old.unlink()
    span_us = WINDOW_DAYS * 86_400 * 1_000_000
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    h = lambda sql: re.sub(r"\bh\((\d+)\)", rf"hash(i, {seed}, \1)", sql)
    exprs = [(name, NO_FLOAT.get(name, expr) if no_float else expr) for name, _, expr in COLUMNS]
    cols = ",\n               ".join(f"{h(expr)} AS {name}" for name, expr in exprs)
    start = start_utc.strftime("%Y-%m-%d %H:%M:%S")
    con.execute(f"""
        COPY (
        SELECT i AS event_id,
               TIMESTAMPTZ '{start}+00' + to_microseconds((hash(i, {seed}, 1) % {span_us})::BIGINT) AS {TIME_COLUMN},
               {cols}
        FROM range(1, {rows} + 1) t(i)
        ) TO '{path}' (FORMAT parquet)""")
    marker.write_text("ok")
    print(f"generated {rows:,} rows into {path} in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


# The bucket as the brief has it (the zone's rules, through DuckDB's ICU extension), and the same
# day computed by integer arithmetic on the epoch with Tokyo's fixed +09:00 offset (Japan has no
# daylight saving time), to show what the zone conversion costs DuckDB.
BUCKET_ZONE = f"date_trunc('day', {TIME_COLUMN} AT TIME ZONE '{ZONE}')"
BUCKET_OFFSET = f"DATE '1970-01-01' + ((epoch_us({TIME_COLUMN}) + 32400000000) // 86400000000)::INT"


def duckdb_query(path: Path, start_utc: datetime, bucket: str = BUCKET_ZONE) -> str:
    selects = [f"{bucket} AS bucket",
               "count(*) AS row_count", f"max({TIME_COLUMN}) AS newest"]
    for i, (name, kind, _) in enumerate(COLUMNS):
        selects += [f"count_if({name} IS NULL) AS c{i}_nulls"]
        if name not in NO_DISTINCT:
            selects += [f"approx_count_distinct({name}) AS c{i}_distinct"]
        if kind == "numeric":
            selects += [f"avg(CAST({name} AS DOUBLE)) AS c{i}_mean",
                        f"min(CAST({name} AS DOUBLE)) AS c{i}_min",
                        f"max(CAST({name} AS DOUBLE)) AS c{i}_max"]
    start = start_utc.strftime("%Y-%m-%d %H:%M:%S")
    return (f"SELECT {', '.join(selects)} FROM read_parquet('{path}') "
            f"WHERE {TIME_COLUMN} >= TIMESTAMPTZ '{start}+00:00' GROUP BY bucket")


def exact_distinct(path: Path, start_utc: datetime):
    """Exact distinct counts per bucket and column (untimed), to judge both engines' estimates."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    counts = ", ".join(f"count(DISTINCT {n}) AS {n}" for n, _, _ in COLUMNS)
    start = start_utc.strftime("%Y-%m-%d %H:%M:%S")
    cur = con.execute(f"SELECT {BUCKET_ZONE} AS bucket, {counts} FROM read_parquet('{path}') "
                      f"WHERE {TIME_COLUMN} >= TIMESTAMPTZ '{start}+00:00' GROUP BY bucket")
    names = [d[0] for d in cur.description]
    return {as_date(r[0]): dict(zip(names, r)) for r in cur.fetchall()}


def as_date(v) -> date:
    return v.date() if isinstance(v, datetime) else v


def run_duckdb(path: Path, start_utc: datetime, bucket: str, label: str):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    sql = duckdb_query(path, start_utc, bucket)
    times = []
    for run in range(RUNS + 1):
        t0 = time.perf_counter()
        cur = con.execute(sql)
        rows = cur.fetchall()
        secs = time.perf_counter() - t0
        if run > 0:
            times.append(secs)
        print(f"duckdb ({label}) run {run}{' (warm-up)' if run == 0 else ''}: {secs:.3f} s", flush=True)
    names = [d[0] for d in cur.description]
    by_bucket = {as_date(r[0]): dict(zip(names, r)) for r in rows}
    return statistics.median(times), times, by_bucket, threads


def kura(bin_path, project, *args, capture=True):
    cmd = [bin_path, "--project", str(project), "--quiet", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAILED ({r.returncode}): {' '.join(cmd)}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r.stdout


def kura_json(bin_path, project, sql):
    return json.loads(kura(bin_path, project, "sql", "--format", "json", sql) or "[]")


def setup_kura(bin_path, path: Path) -> Path:
    project = WORK / "project"
    if project.exists():
        shutil.rmtree(project)
    r = subprocess.run([bin_path, "--quiet", "init", str(project), "--name", "bench_monitors"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"kura init failed:\n{r.stdout}\n{r.stderr}")
    toml = (project / "kura.toml").read_text()
    if f'timezone = "{ZONE}"' not in toml:
        raise SystemExit(f"kura init no longer defaults the project's timezone to {ZONE}; "
                         f"the window and buckets below assume it")
    t0 = time.perf_counter()
    kura(bin_path, project, "load", str(path), "--into", TABLE)
    print(f"kura load: {time.perf_counter() - t0:.1f} s", flush=True)
    # The load's files are still being written back to disk; let that finish before timing.
    os.sync()
    dataset, name = TABLE.split(".")
    checks = project / "models" / dataset / "checks.toml"
    checks.parent.mkdir(parents=True, exist_ok=True)
    cols = ", ".join(f'"{c}"' for c, _, _ in COLUMNS)
    checks.write_text(f'[{name}]\nmonitor = {{ time_column = "{TIME_COLUMN}", columns = [{cols}] }}\n')
    return project


def run_kura(bin_path, project: Path):
    cmd = [bin_path, "--project", str(project), "--quiet", "monitor", "-s", TABLE]
    times = []
    first_output = None
    for run in range(RUNS + 1):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"FAILED ({r.returncode}): {' '.join(cmd)}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        if run == 0:
            first_output = r.stdout.strip()
            print(first_output, flush=True)
        else:
            times.append(secs)
        print(f"kura monitor run {run}{' (warm-up)' if run == 0 else ''}: {secs:.3f} s", flush=True)
    # The timed runs' scans: the newest RUNS queries labelled `monitor` (only the scan is logged
    # with that label; the schema probe is planned, not run, and the history read is internal).
    log = kura_json(bin_path, project,
                    "SELECT duration_ms, bytes_scanned, rows_returned, statement "
                    "FROM _kura.query_log, UNNEST(labels) AS l "
                    f"WHERE l.key = 'monitor' AND l.value = '{TABLE}' AND status = 'ok' "
                    f"ORDER BY start_time DESC LIMIT {RUNS}")
    if len(log) != RUNS or not all(" AS _kura_bucket, " in e["statement"] and f"FROM {TABLE}" in e["statement"] for e in log):
        raise SystemExit(f"expected the {RUNS} monitor scans in _kura.query_log, got:\n{json.dumps(log, indent=1)}")
    scan_ms = [e["duration_ms"] for e in log]
    return statistics.median(times), times, statistics.median(scan_ms), scan_ms, log[0], first_output


def kura_metrics(bin_path, project):
    """The latest run's per-bucket metrics: {(column, metric): {bucket date: value}}."""
    rows = kura_json(bin_path, project,
                     "SELECT `column`, metric, bucket, value, run_id, computed_at FROM _kura.monitor_metrics "
                     f"WHERE `table` = '{TABLE}' ORDER BY computed_at DESC")
    if not rows:
        raise SystemExit("_kura.monitor_metrics holds no rows for " + TABLE)
    latest = rows[0]["run_id"]
    out = {}
    for r in rows:
        if r["run_id"] == latest:
            bucket = datetime.fromisoformat(r["bucket"].rstrip("Z")).date()
            out.setdefault((r.get("column"), r["metric"]), {})[bucket] = r.get("value")
    return latest, out


def verify(kura_m, duck, exact, first_day):
    """Problems (must be empty) and, per column, the largest relative error of kura's and of
    DuckDB's approximate distinct count against the exact count over the buckets."""
    problems = []
    buckets = [first_day + timedelta(days=d) for d in range(WINDOW_DAYS)]
    k_rows = kura_m.get((None, "row_count"), {})
    if sorted(duck) != buckets:
        problems.append(f"DuckDB buckets {sorted(duck)} are not the {WINDOW_DAYS} days from {first_day}")
    if sorted(k_rows) != buckets:
        problems.append(f"kura's row_count buckets {sorted(k_rows)} are not the {WINDOW_DAYS} days from {first_day}")
    distinct_diff = {}
    for b in buckets:
        d = duck.get(b)
        k = k_rows.get(b)
        if d is None or k is None:
            continue
        if int(k) != d["row_count"]:
            problems.append(f"row_count {b}: kura {k}, DuckDB {d['row_count']}")
            continue
        for i, (name, kind, _) in enumerate(COLUMNS):
            rate = kura_m.get((name, "null_rate"), {}).get(b)
            nulls = None if rate is None else round(rate * k)
            if nulls != d[f"c{i}_nulls"]:
                problems.append(f"nulls of {name} {b}: kura {nulls} (rate {rate}), DuckDB {d[f'c{i}_nulls']}")
            kd = kura_m.get((name, "distinct_count"), {}).get(b)
            if name in NO_DISTINCT:
                if kd is not None:
                    problems.append(f"distinct_count of FLOAT64 {name} {b}: kura computed one")
            elif kd is None:
                problems.append(f"distinct_count of {name} {b}: missing in kura")
            else:
                ex = exact[b][name]
                dd = d[f"c{i}_distinct"]
                ke, de = distinct_diff.get(name, (0.0, 0.0))
                distinct_diff[name] = (max(ke, abs(kd - ex) / max(ex, 1)), max(de, abs(dd - ex) / max(ex, 1)))
            if kind == "numeric":
                for metric in ("min", "max", "mean"):
                    kv = kura_m.get((name, metric), {}).get(b)
                    dv = d[f"c{i}_{metric}"]
                    same = (kv == dv) if metric != "mean" else (
                        kv is not None and dv is not None and abs(kv - dv) <= 1e-9 * max(abs(dv), 1.0))
                    if not same:
                        problems.append(f"{metric} of {name} {b}: kura {kv}, DuckDB {dv}")
    return problems, distinct_diff


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.machine()}{mem}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--kura")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--skip-kura", action="store_true")
    ap.add_argument("--no-float", action="store_true",
                    help="generate the DOUBLE columns as BIGINT, so their distinct counts are computed too")
    args = ap.parse_args()
    if not args.no_float:
        NO_DISTINCT.update(FLOAT_COLUMNS)
    if not args.skip_kura and not args.kura:
        ap.error("--kura is required unless --skip-kura")

    load_before = os.getloadavg()
    first_day, start_utc = window(datetime.now(timezone.utc))
    print(f"window: {WINDOW_DAYS} days from {first_day} ({ZONE}), i.e. from {start_utc:%Y-%m-%d %H:%M} UTC", flush=True)
    path = generate(args.rows, args.seed, first_day, start_utc, args.no_float)
    size_mb = path.stat().st_size / 1e6

    duck_secs, duck_times, duck, threads = run_duckdb(path, start_utc, BUCKET_ZONE, "AT TIME ZONE")
    total = sum(v["row_count"] for v in duck.values())
    if total != args.rows:
        raise SystemExit(f"DuckDB counted {total:,} rows in the window, expected all {args.rows:,}")
    print(f"DuckDB: median {duck_secs:.3f} s, {args.rows / duck_secs:,.0f} rows/s ({threads} threads)")
    off_secs, off_times, off, _ = run_duckdb(path, start_utc, BUCKET_OFFSET, "fixed +09:00")
    if {b: v["row_count"] for b, v in off.items()} != {b: v["row_count"] for b, v in duck.items()}:
        raise SystemExit("DuckDB's fixed-offset buckets differ from its AT TIME ZONE buckets")
    print(f"DuckDB, fixed +09:00 offset bucket: median {off_secs:.3f} s, {args.rows / off_secs:,.0f} rows/s")
    if args.skip_kura:
        return

    project = setup_kura(args.kura, path)
    k_secs, k_times, scan_ms, scan_list, scan_entry, k_output = run_kura(args.kura, project)
    scan_secs = scan_ms / 1000
    run_id, kura_m = kura_metrics(args.kura, project)
    if window(datetime.now(timezone.utc))[0] != first_day:
        raise SystemExit("the day in Tokyo changed during the run, so the window moved; run again")
    exact = exact_distinct(path, start_utc)
    problems, distinct_diff = verify(kura_m, duck, exact, first_day)

    ratio_proc = k_secs / duck_secs
    ratio_scan = scan_secs / duck_secs
    rate_proc = args.rows / k_secs
    rate_scan = args.rows / scan_secs
    print(f"kura monitor (whole process): median {k_secs:.3f} s {sorted(round(t, 3) for t in k_times)}, "
          f"{rate_proc:,.0f} rows/s")
    print(f"kura scan (query log): median {scan_ms:.0f} ms {sorted(scan_list)}, {rate_scan:,.0f} rows/s, "
          f"{scan_entry['bytes_scanned']:,} bytes scanned")
    print(f"DuckDB: median {duck_secs:.3f} s, {args.rows / duck_secs:,.0f} rows/s "
          f"(fixed-offset bucket: {off_secs:.3f} s)")
    print(f"ratio kura/DuckDB: whole process {ratio_proc:.2f}, scan only {ratio_scan:.2f}")
    if problems:
        raise SystemExit("kura's monitor metrics differ from DuckDB's:\n  " + "\n  ".join(problems[:40]))
    print(f"verified: {WINDOW_DAYS} buckets, row counts, null counts, min/max/mean equal (run {run_id})")

    n_num = sum(1 for _, k, _ in COLUMNS if k == "numeric")
    n_aggs = 3 + 2 * len(COLUMNS) - len(NO_DISTINCT) + 3 * n_num
    met = lambda r: "met" if r >= TARGET_ROWS_PER_SEC else "MISSED"
    col_desc = ", ".join(f"`{n}`" for n, _, _ in COLUMNS)
    k_worst = max(distinct_diff.items(), key=lambda kv: kv[1][0])
    d_worst = max(distinct_diff.items(), key=lambda kv: kv[1][1])
    lines = [
        f"Command: `bench/monitors.py --rows {args.rows} --seed {args.seed}{' --no-float' if args.no_float else ''} "
        f"--kura target/release/kura` (part of `bench/run.sh`{', without --no-float' if args.no_float else ''}), "
        f"machine: {machine()}, DuckDB {duckdb.__version__} ({threads} threads, its default), "
        f"run {time.strftime('%Y-%m-%d')}.",
        "",
        f"Data: {args.rows:,} rows, generated by DuckDB into one Parquet file ({size_mb:,.0f} MB): `event_id`, "
        f"`{TIME_COLUMN}` (TIMESTAMP, spread uniformly over the {WINDOW_DAYS} whole days before today in {ZONE}, "
        f"so every row is in the monitor's default window of 14 training + 2 detection day buckets) and the "
        f"10 monitored columns {col_desc}: 5 numeric ({'all BIGINT (--no-float)' if args.no_float else 'BIGINT, DOUBLE'}; "
        f"3 with 1-5 % NULLs) and 5 strings "
        f"(3 to ~3 M distinct values; 3 with 1-3 % NULLs). kura reads its Delta table `{TABLE}` loaded from "
        f"that file with `kura load`; DuckDB reads the Parquet file with `read_parquet`.",
        "",
        f"One scan, {WINDOW_DAYS} day buckets, {n_aggs} figures per bucket: row count, newest "
        f"timestamp, per column null count and approximate distinct count (not for the DOUBLE columns, "
        f"whose distinct counts kura's monitor does not compute), per numeric column mean, min and "
        f"max. kura: `kura --project DIR --quiet monitor -s {TABLE}` with `monitor = {{ time_column = \"{TIME_COLUMN}\", columns = "
        f"[...] }}` in `models/bench/checks.toml`; the engine scans the table in a few pieces per "
        f"core (without the window's filter: the Delta log's statistics show every row of this table in the window), one task per core reads piece after piece and folds its rows into a profile per bucket "
        f"(kura's own HyperLogLog sketches, 2^13 registers), then the tasks' profiles are merged. DuckDB: the same aggregates "
        f"in one GROUP BY query, `date_trunc('day', {TIME_COLUMN} AT TIME ZONE '{ZONE}')` as the bucket, the "
        f"same window filter. One warm-up, then the median of {RUNS} runs.",
        "",
        "| | seconds (median) | rows/s | kura/DuckDB | target 20 M rows/s |",
        "|---|---:|---:|---:|---:|",
        f"| kura `monitor`, whole process | {k_secs:.2f} | {rate_proc:,.0f} | {ratio_proc:.2f} | {met(rate_proc)} |",
        f"| kura scan query only (`_kura.query_log` duration) | {scan_secs:.2f} | {rate_scan:,.0f} | "
        f"{ratio_scan:.2f} | {met(rate_scan)} |",
        f"| DuckDB, one query on the Parquet file | {duck_secs:.2f} | {args.rows / duck_secs:,.0f} | 1.00 | "
        f"{met(args.rows / duck_secs)} |",
        f"| DuckDB, same query, bucket by fixed +09:00 offset arithmetic (no zone conversion) | "
        f"{off_secs:.2f} | {args.rows / off_secs:,.0f} | {k_secs / off_secs:.2f} / {scan_secs / off_secs:.2f} | "
        f"{met(args.rows / off_secs)} |",
        "",
        f"Runs: kura whole process {', '.join(f'{t:.2f}' for t in k_times)} s; kura scan "
        f"{', '.join(str(m) for m in scan_list[::-1])} ms ({scan_entry['bytes_scanned']:,} bytes scanned per "
        f"run); DuckDB {', '.join(f'{t:.2f}' for t in duck_times)} s.",
        "",
        f"Checked equal, bucket by bucket, against kura's latest run in `_kura.monitor_metrics`: the "
        f"{WINDOW_DAYS} buckets and their row counts, every column's null count (null_rate x row_count), "
        f"and min, max and mean (to 1e-9) of the numeric columns.",
        "",
        "Caveats:",
        "",
    ]
    if args.no_float:
        lines += [
            "- **Run with --no-float**: `amount` and `latency_ms` are BIGINT here (cents, microseconds), "
            "not DOUBLE, so their distinct counts are computed and compared too.",
        ]
    lines += [
        f"- Approximate distinct counts differ by design (two HyperLogLog sketches of different size), so "
        f"they are not compared with each other but with the exact `count(DISTINCT ...)` per bucket (DuckDB, "
        f"untimed). Largest relative error in any bucket: kura {k_worst[1][0]:.1%} (`{k_worst[0]}`), "
        f"DuckDB {d_worst[1][1]:.1%} (`{d_worst[0]}`); per column, kura / DuckDB: "
        f"{', '.join(f'{n} {k:.1%} / {d:.1%}' for n, (k, d) in distinct_diff.items())}.",
        f"- The day bucket of a UTC instant in {ZONE}: kura's monitor sees that the window has one UTC "
        f"offset ({ZONE} has no daylight saving time) and buckets by integer arithmetic on the instant "
        f"(the scan returns `UNIX_MICROS(ts)`, the fold floors `t + 9 h` to the day); over a window with a daylight-saving change it "
        f"converts every row (`DATETIME_TRUNC(DATETIME(ts, zone), DAY)`). DuckDB's main row converts every "
        f"row (`AT TIME ZONE`); its last row computes the day as `DATE '1970-01-01' + ((epoch_us(ts) + 9 h) "
        f"// 1 day)` (same buckets, checked) and takes {off_secs:.2f} s instead of {duck_secs:.2f} s. The "
        f"last row is the like-for-like comparison (its ratio column is kura whole process / kura scan "
        f"against it).",
        "- The whole-process time also covers process start, opening the warehouse, reading earlier runs "
        "from `_kura.monitor_metrics` (for freshness and schema), anomaly detection and the Delta commit "
        "appending the run's metrics; the scan-only figure is the engine's planning + execution of the one "
        "query as kura logs it. DuckDB's time is execute + fetch in an already-open connection.",
        f"- Load average (1/5/15 min) at the start {'/'.join(f'{x:.1f}' for x in load_before)}, at the end "
        f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
        + (": other work was running on the machine during this run, so all times (kura's and DuckDB's) "
           "are inflated and noisier than on an idle machine." if max(load_before) > 1.5 else "."),
        f"- kura scans its own Delta table (Parquet files written by `kura load`), DuckDB the generator's "
        f"Parquet file: same rows and values, not the same file layout. Both are in the page cache.",
        f"- Uniform synthetic data (kura's first run printed: `{' / '.join(k_output.splitlines()) or '(nothing)'}`); "
        f"a table with many more buckets or wider string columns would shift the numbers.",
    ]
    replace_section(Path(args.out), HEADING, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
