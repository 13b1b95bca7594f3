"""GA4 export load and flatten: `kura ga4 load` against DuckDB, NDJSON to wide columns on disk.

Generates EVENTS GA4 events as BigQuery writes an export table to newline-delimited JSON
(INT64 as JSON strings, FLOAT64 as numbers, NULLs omitted), one plain file per day
(`events_YYYYMMDD.json`, seven days) under bench/data/ga4_load_EVENTS/, about 15 event
parameters per event. Then, on the same files:

- kura: `kura init` a fresh project and time `kura ga4 load DIR` (whole process, run in the
  project directory): the raw table, the wide `ga4.events` with one column per parameter key,
  the long parameter tables, `ga4.items`, `ga4.sessions`, `ga4.pages`;
- DuckDB: `read_json` with the export's schema (types from ga4_events_schema.json), a first
  pass that lists the event_params / user_properties keys and the value fields each uses, then
  one `COPY (SELECT ...) TO ... (FORMAT parquet)` that writes the wide events table: struct
  fields as `device_category`-style columns, event_date as DATE, `*timestamp` as TIMESTAMP, and
  one `param_<key>` / `user_<key>` column per key via `list_filter(event_params, p -> p.key =
  'k')[1].value.<field>` (INT64 + FLOAT64 keys as DOUBLE, keys with any string as VARCHAR, as
  kura types them). DuckDB runs in a child process so its wall time and peak RSS are measured
  the same way as kura's.

Peak RSS comes from `/usr/bin/time -v` when present, else from a small wrapper process's
RUSAGE_CHILDREN. With --memory-events M, kura also loads an M-event input (default in
run.sh: 5,000,000) into another fresh project, to show its peak RSS against the EVENTS-event
one (memory should follow the batch size, not the input size).

--skip-kura runs the generator and the DuckDB side only.
"""
import argparse
import statistics
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from results import replace_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCHEMA_PATH = ROOT / "crates" / "kura-ga4" / "src" / "ga4_events_schema.json"
JST = timezone(timedelta(hours=9))
DAYS = [date(2024, 5, 1) + timedelta(days=i) for i in range(7)]
STREAM_ID = "4178254321"
HOST = "www.chaya.example"

# ---------------------------------------------------------------------------------------------
# Data generation: pre-rendered JSON fragments, varied per session / page / event.


def js(v) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def p_str(key, v):
    return '{"key":%s,"value":{"string_value":%s}}' % (js(key), js(v))


def p_int_fmt(key):
    """An int parameter with a %d slot (INT64 as a JSON string)."""
    return '{"key":%s,"value":{"int_value":"%%d"}}' % js(key)


PRODUCTS = [
    (f"SKU-{100 + i}", name, slug, price, cat)
    for i, (name, slug, price, cat) in enumerate([
        ("緑茶 100g", "green-tea-100g", 1200, "Tea"), ("煎茶 200g", "sencha-200g", 2100, "Tea"),
        ("抹茶 30g", "matcha-30g", 2800, "Tea"), ("ほうじ茶 100g", "hojicha-100g", 1100, "Tea"),
        ("急須", "kyusu", 6800, "Teaware"), ("湯呑みセット", "yunomi-set", 4500, "Teaware"),
        ("茶筅", "chasen", 2300, "Teaware"), ("玄米茶 200g", "genmaicha-200g", 1300, "Tea"),
        ("玉露 50g", "gyokuro-50g", 3900, "Tea"), ("ギフトボックス", "gift-box", 5200, "Gifts"),
        ("水出し煎茶", "cold-brew-sencha", 1500, "Tea"), ("和紅茶 50g", "wakocha-50g", 1800, "Tea"),
    ], start=1)
]
PAGES = ([("home", "/", "茶屋 | 日本茶の専門店"), ("category", "/collections/tea", "日本茶 | 茶屋"),
          ("category", "/collections/teaware", "茶器 | 茶屋"), ("cart", "/cart", "カート | 茶屋"),
          ("content", "/journal/how-to-brew-sencha", "煎茶の淹れ方 | 茶屋"),
          ("content", "/journal/matcha-guide", "抹茶ガイド | 茶屋")]
         + [("product", f"/products/{p[2]}", f"{p[1]} | 茶屋") for p in PRODUCTS])
SOURCES = [("google", "organic", "(organic)"), ("(direct)", "(none)", "(direct)"),
           ("instagram", "social", "gw_2024"), ("newsletter", "email", "spring_sale"),
           ("google", "cpc", "matcha_brand"), ("yahoo", "organic", "(organic)")]
DEVICES = [
    {"category": "mobile", "mobile_brand_name": "Apple", "mobile_model_name": "iPhone",
     "operating_system": "iOS", "operating_system_version": "iOS 17.4.1", "language": "ja-jp",
     "is_limited_ad_tracking": "No", "browser": "Safari", "browser_version": "17.4",
     "web_info": {"browser": "Safari", "browser_version": "17.4", "hostname": HOST}},
    {"category": "mobile", "mobile_brand_name": "Google", "mobile_model_name": "Pixel 8",
     "operating_system": "Android", "operating_system_version": "Android 14", "language": "ja-jp",
     "is_limited_ad_tracking": "No", "browser": "Chrome", "browser_version": "124.0.6367.82",
     "web_info": {"browser": "Chrome", "browser_version": "124.0.6367.82", "hostname": HOST}},
    {"category": "desktop", "mobile_brand_name": "Google", "mobile_model_name": "Chrome",
     "operating_system": "Windows", "operating_system_version": "Windows 10", "language": "ja",
     "is_limited_ad_tracking": "No", "browser": "Chrome", "browser_version": "124.0.6367.91",
     "web_info": {"browser": "Chrome", "browser_version": "124.0.6367.91", "hostname": HOST}},
    {"category": "desktop", "mobile_brand_name": "Apple", "mobile_model_name": "Safari",
     "operating_system": "Macintosh", "operating_system_version": "Macintosh Intel 10.15",
     "language": "en-us", "is_limited_ad_tracking": "No", "browser": "Safari",
     "browser_version": "17.4.1",
     "web_info": {"browser": "Safari", "browser_version": "17.4.1", "hostname": HOST}},
]
GEOS = [{"city": c, "country": co, "continent": ct, "region": r, "sub_continent": s, "metro": "(not set)"}
        for c, co, ct, r, s in [
            ("東京", "Japan", "Asia", "Tokyo", "Eastern Asia"), ("大阪", "Japan", "Asia", "Osaka", "Eastern Asia"),
            ("横浜", "Japan", "Asia", "Kanagawa", "Eastern Asia"), ("福岡", "Japan", "Asia", "Fukuoka", "Eastern Asia"),
            ("Los Angeles", "United States", "Americas", "California", "Northern America"),
            ("Taipei", "Taiwan", "Asia", "Taipei City", "Eastern Asia")]]
TIERS = ["bronze", "silver", "gold"]


def item_json(p, qty, with_params):
    sku, name, _slug, price, cat = p
    it = {"item_id": sku, "item_name": name, "item_brand": "茶屋", "item_category": cat,
          "price_in_usd": round(price / 155.0, 2), "price": float(price), "quantity": str(qty)}
    if with_params:
        it["item_params"] = [{"key": "origin", "value": {"string_value": "宇治"}},
                             {"key": "gift_wrap", "value": {"int_value": "0"}}]
    return js(it)


def generate(data: Path, events: int) -> Path:
    """Seven daily NDJSON files holding `events` events in all; reused when already there."""
    marker = data / "complete"
    if marker.exists():
        return data
    data.mkdir(parents=True, exist_ok=True)
    rng = random.Random(events)
    t_start = time.perf_counter()
    page_frag = []
    for ptype, path, title in PAGES:
        page_frag.append((ptype, ",".join([
            p_str("page_location", f"https://{HOST}{path}"), p_str("page_title", title),
            p_str("page_type", ptype), p_str("content_group", "shop" if ptype != "content" else "journal"),
            p_str("site_language", "ja"), p_str("ab_variant", "b" if len(path) % 2 else "a")])))
    device_frag = [js(d) for d in DEVICES]
    geo_frag = [js(g) for g in GEOS]
    users = max(events // 25, 100)
    user_ids = [f"{rng.randrange(100_000_000, 2_147_483_647)}.{1711897200 + rng.randrange(40 * 86400)}"
                for _ in range(users)]
    sid_fmt = p_int_fmt("ga_session_id") + "," + p_int_fmt("ga_session_number")
    engaged_str = ',{"key":"session_engaged","value":{"string_value":"1"}},' + \
                  '{"key":"engaged_session_event","value":{"int_value":"1"}}'
    engaged_int = ',{"key":"session_engaged","value":{"int_value":"1"}},' + \
                  '{"key":"engaged_session_event","value":{"int_value":"1"}}'
    eng_fmt = "," + p_int_fmt("engagement_time_msec")
    per_day = [events // len(DAYS) + (1 if i < events % len(DAYS) else 0) for i in range(len(DAYS))]
    tx = 0
    for d, n_day in zip(DAYS, per_day):
        day0 = int(datetime(d.year, d.month, d.day, tzinfo=JST).timestamp()) * 1_000_000
        date_s = d.strftime("%Y%m%d")
        written = 0
        buf = []
        with open(data / f"events_{date_s}.json", "w", encoding="utf-8") as f:
            while written < n_day:
                # One session.
                u = rng.randrange(users)
                upid = user_ids[u]
                first_touch = int(upid.split(".")[1]) * 1_000_000 + u
                t = day0 + int(written / n_day * 86_000_000_000) + rng.randrange(60_000_000)
                sid = t // 1_000_000
                snum = 1 + u % 7
                src = SOURCES[rng.randrange(len(SOURCES))]
                member = u % 4 == 0
                tail = "".join([
                    ',"event_bundle_sequence_id":"', str(rng.randrange(1, 60)), '"',
                    ',"event_server_timestamp_offset":"', str(rng.randrange(100_000, 2_000_000)), '"',
                    (',"user_id":"M%06d"' % u) if member else "",
                    ',"user_pseudo_id":"', upid, '"',
                    ',"privacy_info":{"analytics_storage":"Yes","ads_storage":"Yes","uses_transient_token":"No"}',
                    ',"user_properties":',
                    ('[{"key":"membership_tier","value":{"string_value":"%s","set_timestamp_micros":"%d"}},'
                     '{"key":"lifetime_orders","value":{"int_value":"%d","set_timestamp_micros":"%d"}}]'
                     % (TIERS[u % 3], first_touch, u % 9, first_touch)) if member else "[]",
                    ',"user_first_touch_timestamp":"', str(first_touch), '"',
                    ',"device":', device_frag[u % len(device_frag)],
                    ',"geo":', geo_frag[(u // 4) % len(geo_frag)],
                    ',"traffic_source":{"name":"%s","medium":"%s","source":"%s"}' % (src[2], src[1], src[0]),
                    ',"stream_id":"', STREAM_ID, '","platform":"WEB"',
                ])
                head = '{"event_date":"' + date_s + '","event_timestamp":"'
                sess = (sid_fmt % (sid, snum)) + "," + p_str("login_status", "member" if member else "guest") \
                    + ',{"key":"consent_version","value":{"int_value":"3"}}'
                engaged = False
                cart = []
                n_pages = 1
                while n_pages < 12 and rng.random() < 0.72:
                    n_pages += 1
                # session_start (+ source / medium / campaign), then pages.
                ev = [(t, "session_start", sess + "," + ",".join(
                    [p_str("source", src[0]), p_str("medium", src[1]), p_str("campaign", src[2])])
                    + ',' + page_frag[0][1] + ',{"key":"entrances","value":{"int_value":"1"}}', "", "[]")]
                ref = "https://www.google.com/" if src[0] == "google" else ""
                for i in range(n_pages):
                    pi = rng.randrange(len(PAGES)) if i else (6 + rng.randrange(len(PRODUCTS)) if src[1] != "(none)" else 0)
                    ptype, pf = page_frag[pi]
                    t += rng.randrange(500_000, 3_000_000)
                    if i:
                        engaged = True
                    eng = engaged_str if engaged else ""
                    if ref:   # page_location, page_title, page_referrer go with every event of the page
                        pf += "," + p_str("page_referrer", ref)
                    ev.append((t, "page_view", sess + "," + pf + eng
                               + (',{"key":"entrances","value":{"int_value":"1"}}' if i == 0 else ""), "", "[]"))
                    if ptype == "product":
                        p = PRODUCTS[pi - 6]
                        t += rng.randrange(200_000, 1_500_000)
                        ev.append((t, "view_item", sess + "," + pf + eng + ","
                                   + p_str("currency", "JPY") + ',{"key":"value","value":{"double_value":%.1f}}' % p[3],
                                   ',"ecommerce":{"total_item_quantity":"1","unique_items":"1","transaction_id":"(not set)"}',
                                   "[" + item_json(p, 1, pi % 2 == 0) + "]"))
                        if rng.random() < 0.15:
                            t += rng.randrange(2_000_000, 30_000_000)
                            cart.append(p)
                            ev.append((t, "add_to_cart", sess + "," + pf + eng + ","
                                       + p_str("currency", "JPY") + ',{"key":"value","value":{"double_value":%.1f}}' % p[3],
                                       ',"ecommerce":{"total_item_quantity":"1","unique_items":"1","transaction_id":"(not set)"}',
                                       "[" + item_json(p, 1, pi % 2 == 0) + "]"))
                    if rng.random() < 0.4:
                        t += rng.randrange(3_000_000, 40_000_000)
                        ev.append((t, "scroll", sess + "," + pf + eng + (eng_fmt % rng.randrange(1000, 30000))
                                   + ',{"key":"percent_scrolled","value":{"int_value":"90"}}', "", "[]"))
                    t += rng.randrange(2_000_000, 90_000_000)
                    engaged = engaged or rng.random() < 0.6
                    ev.append((t, "user_engagement", sess + "," + pf + (engaged_int if engaged else "")
                               + (eng_fmt % rng.randrange(1000, 90000)), "", "[]"))
                    ref = f"https://{HOST}{PAGES[pi][1]}"
                if cart and rng.random() < 0.35:
                    tx += 1
                    total = float(sum(p[3] for p in cart))
                    t += rng.randrange(30_000_000, 200_000_000)
                    ev.append((t, "purchase", sess + "," + page_frag[3][1] + engaged_str + ","
                               + ",".join([p_str("transaction_id", f"T{tx:08d}"), p_str("currency", "JPY")])
                               + ',{"key":"value","value":{"double_value":%.1f}}' % total
                               + ',{"key":"shipping","value":{"double_value":600.0}}',
                               ',"event_value_in_usd":%.2f,"ecommerce":{"total_item_quantity":"%d",'
                               '"purchase_revenue_in_usd":%.2f,"purchase_revenue":%.1f,"unique_items":"%d",'
                               '"transaction_id":"T%08d"}' % (total / 155, len(cart), total / 155, total, len(cart), tx),
                               "[" + ",".join(item_json(p, 1, True) for p in cart) + "]"))
                for ts, name, params, ecommerce, items in ev:
                    if written >= n_day:
                        break
                    buf.append("".join([head, str(ts), '","event_name":"', name, '","event_params":[',
                                        params, "]", tail, ecommerce, ',"items":', items,
                                        ',"is_active_user":true}']))
                    written += 1
                if len(buf) >= 20000:
                    f.write("\n".join(buf) + "\n")
                    buf.clear()
            if buf:
                f.write("\n".join(buf) + "\n")
    marker.write_text(f"{events}\n")
    size = sum(p.stat().st_size for p in data.glob("events_*.json"))
    print(f"generated {events:,} events ({size / 1e6:,.0f} MB NDJSON) in {data} "
          f"in {time.perf_counter() - t_start:.1f} s", flush=True)
    return data


# ---------------------------------------------------------------------------------------------
# Peak RSS of a child process


def run_measured(cmd, cwd=None):
    """Runs cmd; returns (seconds, peak RSS in bytes, stdout and stderr). Raises SystemExit on
    failure. kura prints its summary on stderr."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        if Path("/usr/bin/time").exists():
            full = ["/usr/bin/time", "-v", "-o", tf.name, *cmd]
        else:
            wrapper = ("import resource, subprocess, sys\n"
                       "r = subprocess.run(sys.argv[2:])\n"
                       "open(sys.argv[1], 'w').write('Maximum resident set size (kbytes): %d\\n'"
                       " % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
                       "sys.exit(r.returncode)\n")
            full = [sys.executable, "-c", wrapper, tf.name, *cmd]
        t0 = time.perf_counter()
        r = subprocess.run(full, cwd=cwd, capture_output=True, text=True)
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, cmd[:4]))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(tf.name).read_text())
        rss = int(m.group(1)) * 1024 if m else 0
    return secs, rss, r.stdout + r.stderr


# ---------------------------------------------------------------------------------------------
# kura


def kura_load(kura_bin, data: Path, project: Path):
    if project.exists():
        shutil.rmtree(project)
    project.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([kura_bin, "--quiet", "init", str(project), "--name", "ga4load"], check=True)
    secs, rss, out = run_measured([kura_bin, "ga4", "load", str(data)], cwd=project)
    return secs, rss, out


def kura_check(kura_bin, project: Path):
    """(rows, sum of param_engagement_time_msec) of ga4.events, or the error text."""
    r = subprocess.run([kura_bin, "--project", str(project), "--quiet", "sql", "--format", "json",
                        "SELECT count(*) AS n, sum(param_engagement_time_msec) AS eng FROM ga4.events"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    row = json.loads(r.stdout)[0]
    return (int(row["n"]), int(row["eng"] or 0)), None


# ---------------------------------------------------------------------------------------------
# DuckDB (runs in a child process: `ga4_load.py --duckdb-job DATA OUT`)


def duck_type(f) -> str:
    t = f["type"]
    if t == "RECORD":
        inner = ", ".join(f'"{s["name"]}" {duck_type(s)}' for s in f["fields"])
        base = f"STRUCT({inner})"
    else:
        base = {"STRING": "VARCHAR", "INTEGER": "BIGINT", "INT64": "BIGINT", "FLOAT": "DOUBLE",
                "FLOAT64": "DOUBLE", "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN"}[t]
    return base + "[]" if f.get("mode") == "REPEATED" else base


def sanitize(key: str) -> str:
    """kura-ga4's sanitize_key: lower case, runs of other characters to one '_', trimmed."""
    out = []
    for c in key.lower():
        c = c if (c.isalnum() or c == "_") else "_"
        if c == "_" and out and out[-1] == "_":
            continue
        out.append(c)
    s = "".join(out).strip("_")
    return s or "key"


def wide_columns(schema):
    """(name, expression) for every non-repeated leaf, struct paths joined by '_'."""
    cols = []

    def walk(prefix, expr, fields):
        for f in fields:
            if f.get("mode") == "REPEATED":
                continue
            e = f'"{f["name"]}"' if expr is None else f"struct_extract({expr}, '{f['name']}')"
            name = prefix + [f["name"]]
            if f["type"] == "RECORD":
                walk(name, e, f["fields"])
                continue
            leaf = f["name"]
            if len(name) == 1 and leaf == "event_date":
                e = f"strptime({e}, '%Y%m%d')::DATE"
            elif leaf.endswith("timestamp") and f["type"] in ("INTEGER", "INT64"):
                e = f"make_timestamp({e})"
            cols.append(("_".join(name), e))

    walk([], None, schema)
    return cols


def duckdb_job(data: Path, out: Path) -> None:
    import duckdb

    schema = json.loads(SCHEMA_PATH.read_text())
    files = sorted(str(p) for p in data.glob("events_*.json"))
    columns = "{" + ", ".join(f"'{f['name']}': '{duck_type(f)}'" for f in schema) + "}"
    params_only = "{" + ", ".join(f"'{f['name']}': '{duck_type(f)}'" for f in schema
                                  if f["name"] in ("event_params", "user_properties")) + "}"
    src = f"read_json({files!r}, format='newline_delimited', columns={{cols}})"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    t0 = time.perf_counter()
    keys = con.execute(f"""
        WITH r AS (SELECT event_params, user_properties FROM {src.format(cols=params_only)}),
        p AS (SELECT 'param' AS scope, unnest(event_params) AS p FROM r
              UNION ALL SELECT 'user', unnest(user_properties) FROM r)
        SELECT scope, p.key, count(p.value.string_value), count(p.value.int_value),
               count(p.value.float_value) + count(p.value.double_value)
        FROM p GROUP BY ALL ORDER BY 1, 2""").fetchall()
    t_keys = time.perf_counter() - t0
    n_params = sum(s + i + d for scope, _k, s, i, d in keys if scope == "param")

    cols = wide_columns(schema)
    taken = {name for name, _ in cols}
    for scope, key, n_str, n_int, n_dbl in keys:
        lst, pos = ("event_params", "_pk") if scope == "param" else ("user_properties", "_uk")
        v = f"{lst}[list_position({pos}, '{key.replace(chr(39), chr(39) * 2)}')].value"
        if n_str:
            e = (f"COALESCE({v}.string_value, CAST({v}.int_value AS VARCHAR), "
                 f"CAST(COALESCE({v}.double_value, {v}.float_value) AS VARCHAR))") if (n_int or n_dbl) \
                else f"{v}.string_value"
        elif n_dbl:
            e = f"COALESCE({v}.double_value, {v}.float_value, CAST({v}.int_value AS DOUBLE))"
        else:
            e = f"{v}.int_value"
        name, k = f"{scope}_{sanitize(key)}", 2
        while name in taken:
            name, k = f"{scope}_{sanitize(key)}_{k}", k + 1
        taken.add(name)
        cols.append((name, e))
    select = ",\n  ".join(f'{e} AS "{n}"' for n, e in cols)
    t1 = time.perf_counter()
    # Each row's key lists once, then one list_position per key: ~30% faster here than
    # `list_filter(event_params, p -> p.key = 'k')[1]` per key, with the same result.
    con.execute(f"""COPY (SELECT\n  {select}\nFROM (
        SELECT *, list_transform(event_params, p -> p.key) AS _pk,
               list_transform(user_properties, p -> p.key) AS _uk
        FROM {src.format(cols=columns)})) TO '{out}' (FORMAT parquet)""")
    t_wide = time.perf_counter() - t1
    stats = con.execute(f"SELECT count(*), sum(param_engagement_time_msec) FROM read_parquet('{out}')").fetchone()
    print(json.dumps({"keys_s": t_keys, "wide_s": t_wide, "rows": stats[0], "eng": int(stats[1] or 0),
                      "params_per_event": n_params / max(stats[0], 1),
                      "columns": len(cols), "param_columns": len(keys), "duckdb": duckdb.__version__,
                      "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}))


def duckdb_load(data: Path, out_dir: Path):
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "ga4_events_wide.parquet"
    if out.exists():
        out.unlink()
    secs, rss, stdout = run_measured([sys.executable, str(Path(__file__).resolve()), "--duckdb-job",
                                      str(data), str(out)])
    info = json.loads(stdout.strip().splitlines()[-1])
    info["bytes"] = out.stat().st_size
    return secs, rss, info


# ---------------------------------------------------------------------------------------------


def mb(n):
    return f"{n / 2**20:,.0f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--kura")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--memory-events", type=int, default=0,
                    help="also load an input of this many events with kura, for its peak RSS only")
    ap.add_argument("--skip-kura", action="store_true", help="generator and DuckDB side only")
    ap.add_argument("--rounds", type=int, default=3,
                    help="runs of each side, interleaved; the table reports the medians")
    ap.add_argument("--duckdb-job", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.duckdb_job:
        duckdb_job(Path(args.duckdb_job[0]), Path(args.duckdb_job[1]))
        return
    if not args.skip_kura and not args.kura:
        ap.error("--kura is required unless --skip-kura")

    data = generate(HERE / "data" / f"ga4_load_{args.events}", args.events)
    input_mb = sum(p.stat().st_size for p in data.glob("events_*.json")) / 1e6
    work = HERE / "data" / "work-ga4-load"

    # Both sides are run in turn, several times: on a shared 2-core machine a single run of
    # either varies by 20 % or more from one minute to the next.
    d_runs, k_runs = [], []
    summary, got, err = "", None, ""
    for r in range(args.rounds):
        d_secs, d_rss, d_info = duckdb_load(data, work)
        d_runs.append((d_secs, d_rss))
        print(f"duckdb: {d_secs:.2f} s ({d_info['keys_s']:.2f} s keys, {d_info['wide_s']:.2f} s wide), "
              f"{args.events / d_secs:,.0f} events/s, peak RSS {mb(d_rss)}, {d_info['columns']} columns "
              f"({d_info['param_columns']} parameter keys), {d_info['rows']:,} rows, "
              f"{d_info['bytes'] / 1e6:,.1f} MB Parquet", flush=True)
        if d_info["rows"] != args.events:
            raise SystemExit(f"DuckDB wrote {d_info['rows']} rows for {args.events} events")
        if args.skip_kura:
            continue
        project = work / f"kura-{args.events}"
        k_secs, k_rss, summary = kura_load(args.kura, data, project)
        k_runs.append((k_secs, k_rss))
        print(summary.rstrip())
        print(f"kura: {k_secs:.2f} s, {args.events / k_secs:,.0f} events/s, peak RSS {mb(k_rss)}", flush=True)
        if r == 0:
            got, err = kura_check(args.kura, project)
            if got is not None and got != (d_info["rows"], d_info["eng"]):
                raise SystemExit(f"kura and DuckDB disagree: kura (rows, sum engagement) {got}, "
                                 f"DuckDB {(d_info['rows'], d_info['eng'])}")
        shutil.rmtree(project, ignore_errors=True)
    if args.skip_kura:
        return
    check = ("ga4.events row count and sum(param_engagement_time_msec) equal DuckDB's" if got
             else f"not checked ({err.splitlines()[-1] if err else 'no output'})")
    d_secs, d_rss = statistics.median(t for t, _ in d_runs), max(m for _, m in d_runs)
    k_secs, k_rss = statistics.median(t for t, _ in k_runs), max(m for _, m in k_runs)
    spread = (f"kura {min(t for t, _ in k_runs):.1f}-{max(t for t, _ in k_runs):.1f} s, "
              f"DuckDB {min(t for t, _ in d_runs):.1f}-{max(t for t, _ in d_runs):.1f} s")

    mem_line = ""
    if args.memory_events:
        mdata = generate(HERE / "data" / f"ga4_load_{args.memory_events}", args.memory_events)
        mproject = work / f"kura-{args.memory_events}"
        m_secs, m_rss, _ = kura_load(args.kura, mdata, mproject)
        shutil.rmtree(mproject, ignore_errors=True)
        print(f"kura ({args.memory_events:,} events): {m_secs:.2f} s, peak RSS {mb(m_rss)}", flush=True)
        mem_line = (f"\nMemory: kura's peak RSS was {mb(k_rss)} for {args.events:,} events and "
                    f"{mb(m_rss)} for {args.memory_events:,} events ({m_secs:.1f} s, "
                    f"{args.memory_events / m_secs:,.0f} events/s): "
                    f"{m_rss / max(k_rss, 1):.2f}x the memory for "
                    f"{args.memory_events / args.events:.0f}x the input.\n")

    ratio = k_secs / d_secs
    rss_tool = "`/usr/bin/time -v`" if Path("/usr/bin/time").exists() else "getrusage of a wrapper"
    summary_tail = "\n".join(summary.rstrip().splitlines()[-15:])
    body = f"""Command: `bench/run.sh` (this section: `bench/ga4_load.py --events {args.events}\
{f' --memory-events {args.memory_events}' if args.memory_events else ''}`), {os.cpu_count()} cores, \
DuckDB {d_info['duckdb']} ({d_info['threads']} threads), run {time.strftime('%Y-%m-%d')}.

{args.events:,} generated GA4 events in seven daily NDJSON files ({input_mb:,.0f} MB;
{d_info['params_per_event']:.1f} event parameters per event, {d_info['param_columns']} distinct
parameter and user property keys). Whole-process wall time and peak RSS ({rss_tool}) of:

- kura: `kura ga4 load DIR` into a fresh project: the raw table, the wide `ga4.events` with one
  column per key, the long parameter tables, `ga4.items`, `ga4.sessions`, `ga4.pages`;
- DuckDB: `read_json` with the export schema, one pass listing the keys and their value types,
  then `COPY (SELECT <struct fields as columns>, event_params[list_position(<keys>, 'k')].value.<field>
  AS param_k, ...) TO ... (FORMAT parquet)`: the wide events table only ({d_info['columns']} columns,
  {d_info['bytes'] / 1e6:,.1f} MB).

Check: {check}.

Median of {args.rounds} interleaved runs of each (range: {spread}); peak RSS is the largest of the runs.

| | seconds | events/s | peak RSS |
|---|---:|---:|---:|
| kura `ga4 load` | {k_secs:.1f} | {args.events / k_secs:,.0f} | {mb(k_rss)} |
| DuckDB | {d_secs:.1f} | {args.events / d_secs:,.0f} | {mb(d_rss)} |
| **kura/DuckDB** | **{ratio:.2f}** | | |
{mem_line}
kura's summary:

```
{summary_tail}
```
"""
    replace_section(Path(args.out), "GA4 load and flatten", body)
    print(body)


if __name__ == "__main__":
    main()
