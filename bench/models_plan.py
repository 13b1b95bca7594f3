"""Model plan: `kura plan` against `dbt parse --no-partial-parse` on the same 500-model project.

Generates (deterministically, from --seed) one project twice, under bench/work-models/:

- kura/: `kura.toml`, five raw tables loaded from tiny CSVs with `kura load`, and 500 models in
  `models/<dataset>/<name>.sql`, each one GoogleSQL SELECT with a `/* kura ... */` TOML header
  (materialized, description, owner, tags), reading tables as `dataset.name`;
- dbt/: `dbt_project.yml`, `profiles.yml` (dbt-duckdb, a local DuckDB file), a sources file for
  the raw tables, the same 500 models with `{{ ref('...') }}` / `{{ source('raw', '...') }}`,
  and their configs (materialized, description, tags, meta.owner) in one schema file per
  dataset. A model `stg.orders` in kura is the dbt model `stg_orders`.

The shape: 25 staging models (stg.*, five per raw table), then 375 int.* and 100 marts.*
models, each reading one to three earlier models (int from stg and int, marts from int), with
CTEs, joins on keys, GROUP BY aggregations, CASE, window functions; about 25-80 lines each
(median about 50; checked once by hand, when this was written, that all 500 run in DuckDB on the
raw tables with the declared columns). The SQL
bodies of the two versions differ only in the table references: checked below, model by model,
before anything is timed.

Timed, whole process wall time (start to exit, output captured), one warm-up run then five:

- `kura --project bench/work-models/kura plan` (parse, dependency graph, diff against the
  warehouse; nothing executed; the project was never applied, so every model is a create);
- `dbt parse --no-partial-parse` in bench/work-models/dbt (anonymous usage stats off).

Checks: kura's plan names every model; dbt's manifest holds 500 models whose dependencies are
the ones generated.

dbt-core 1.10 and dbt-duckdb 1.9 are pip-installed into the running venv when its `dbt` is missing.
--skip-kura runs the generator and the dbt side only (no RESULTS.md section).
"""
import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results import replace_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work-models"
HEADING = "Model plan (issue 5)"
DBT_REQUIREMENTS = ["dbt-core==1.10.*", "dbt-duckdb==1.9.*"]
RUNS = 5
TARGET_SECS = 0.3
N_STAGING = 25
N_INT = 375
N_MARTS = 100

# ---------------------------------------------------------------------------------------------
# Raw tables: (column, type, values). Types: key (integer id), ts (timestamp), str, num.

STATUSES = ["delivered", "shipped", "cancelled", "returned"]
CHANNELS = ["web", "app", "store", "phone"]
COUNTRIES = ["jp", "us", "de", "gb", "fr"]
SEGMENTS = ["consumer", "small_business", "enterprise"]
CATEGORIES = ["tea", "teaware", "gifts", "sweets"]
METHODS = ["card", "bank_transfer", "wallet", "cash"]
SOURCES = ["google", "direct", "newsletter", "instagram"]
MEDIUMS = ["organic", "cpc", "email", "referral"]

RAW = {
    "orders": [("order_id", "key", None), ("customer_id", "key", None), ("product_id", "key", None),
               ("ordered_at", "ts", None), ("status", "str", STATUSES), ("channel", "str", CHANNELS),
               ("amount", "num", None), ("quantity", "num", None)],
    "customers": [("customer_id", "key", None), ("country", "str", COUNTRIES),
                  ("segment", "str", SEGMENTS), ("signed_up_at", "ts", None), ("email", "str", None),
                  ("loyalty_points", "num", None)],
    "products": [("product_id", "key", None), ("category", "str", CATEGORIES),
                 ("product_name", "str", None), ("list_price", "num", None), ("launched_at", "ts", None)],
    "payments": [("payment_id", "key", None), ("order_id", "key", None), ("customer_id", "key", None),
                 ("method", "str", METHODS), ("paid_amount", "num", None), ("paid_at", "ts", None)],
    "sessions": [("session_id", "key", None), ("customer_id", "key", None), ("source", "str", SOURCES),
                 ("medium", "str", MEDIUMS), ("started_at", "ts", None), ("pageviews", "num", None),
                 ("duration_seconds", "num", None)],
}

# Five staging models per raw table: (name suffix, extra filter, description).
STAGING = {
    "orders": [("", None, "one row per order"),
               ("_web", "channel = 'web'", "web orders only"),
               ("_delivered", "status = 'delivered'", "delivered orders"),
               ("_returned", "status = 'returned'", "returned orders"),
               ("_large", "amount >= 100", "orders of 100 or more")],
    "customers": [("", None, "one row per customer"),
                  ("_jp", "country = 'jp'", "customers in Japan"),
                  ("_business", "segment <> 'consumer'", "business customers"),
                  ("_consumer", "segment = 'consumer'", "consumer customers"),
                  ("_with_email", "email is not null", "customers with an email address")],
    "products": [("", None, "one row per product"),
                 ("_tea", "category = 'tea'", "tea products"),
                 ("_teaware", "category = 'teaware'", "teaware products"),
                 ("_premium", "list_price >= 50", "products priced 50 or more"),
                 ("_gifts", "category = 'gifts'", "gift products")],
    "payments": [("", None, "one row per payment"),
                 ("_card", "method = 'card'", "card payments"),
                 ("_wallet", "method = 'wallet'", "wallet payments"),
                 ("_large", "paid_amount >= 100", "payments of 100 or more"),
                 ("_bank", "method = 'bank_transfer'", "bank transfers")],
    "sessions": [("", None, "one row per web session"),
                 ("_paid", "medium = 'cpc'", "paid sessions"),
                 ("_organic", "medium = 'organic'", "organic sessions"),
                 ("_engaged", "pageviews >= 3", "sessions with three or more pageviews"),
                 ("_email", "medium = 'email'", "sessions from email")],
}

TOPIC = {"customer_id": "customer", "product_id": "product", "order_id": "order",
         "payment_id": "payment", "session_id": "session"}
OWNERS = ["data-platform", "analytics", "finance-analytics", "growth", "marketing-analytics"]


def raw_csv(table: str, rng: random.Random, rows: int = 20) -> str:
    lines = [",".join(c for c, _, _ in RAW[table])]
    for i in range(1, rows + 1):
        vals = []
        for col, typ, values in RAW[table]:
            if typ == "key":
                vals.append(str(i if col == f"{table[:-1]}_id" else rng.randint(1, rows)))
            elif typ == "ts":
                vals.append(f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z")
            elif typ == "num":
                if col in ("quantity", "pageviews", "duration_seconds", "loyalty_points"):
                    vals.append(str(rng.randint(1, 600 if col == "duration_seconds" else 9)))
                else:
                    vals.append(f"{rng.randint(100, 99999) / 100:.2f}")
            elif values:
                vals.append(rng.choice(values))
            else:
                vals.append(f"{col}_{i}@example.com" if col == "email" else f"{col} {i}")
        lines.append(",".join(vals))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Models. A model's SQL is built with REF(name) markers (name: `dataset.table`), rendered for
# each tool. Columns are tracked as dicts {name, type, values} so that every generated
# reference is to a column that exists, with the type the expression needs.


class Model:
    def __init__(self, dataset, name, body, deps, columns, config, domain):
        self.dataset, self.name, self.body, self.deps = dataset, name, body, deps
        self.columns, self.config, self.domain = columns, config, domain

    @property
    def fqn(self):
        return f"{self.dataset}.{self.name}"

    @property
    def dbt_name(self):
        return f"{self.dataset}_{self.name}"


def ref(fqn):
    return f"\x00{fqn}\x00"


def col(name, typ, values=None, measure=None):
    """An output column. `measure` is what it measures (`amount` for `total_amount`), so that
    names built on it downstream stay short: the sum of `total_amount` is `total_amount` again."""
    return {"name": name, "type": typ, "values": values, "measure": measure or name}


class Names:
    """Unique output column names within one model."""

    def __init__(self):
        self.taken = set()

    def __call__(self, name, prefix=None):
        if name in self.taken and prefix:
            name = f"{prefix}_{name}"
        base, k = name, 2
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name


def by_type(columns, typ):
    return [c for c in columns if c["type"] == typ]


def distinct_measures(cols, n):
    out, seen = [], set()
    for c in cols:
        if c["measure"] not in seen:
            seen.add(c["measure"])
            out.append(c)
    return out[:n]


def cte(name, select, source, tail=""):
    return (f"{name} as (\n    select\n        " + ",\n        ".join(select) +
            f"\n    from {source}{tail}\n)")


def staging_model(table, suffix, where, desc, rng):
    out, select = [], []
    for c, typ, values in RAW[table]:
        if typ == "key":
            select.append(c)
            out.append(col(c, "key"))
        elif typ == "ts":
            on = c[:-3] + "_on"
            select.append(f"cast({c} as date) as {on}")
            out.append(col(on, "date"))
        elif typ == "str":
            select.append(f"lower(trim({c})) as {c}" if values else f"nullif(trim({c}), '') as {c}")
            out.append(col(c, "str", values))
        else:
            select.append(f"coalesce({c}, 0) as {c}")
            out.append(col(c, "num"))
    num = by_type(out, "num")[0]["name"]
    band = f"{num}_band"
    hi, lo = rng.choice([200, 300, 500]), rng.choice([20, 50, 100])
    select.append(f"case\n            when {num} >= {hi} then 'large'\n            when {num} >= {lo} "
                  f"then 'medium'\n            else 'small'\n        end as {band}")
    out.append(col(band, "str", ["large", "medium", "small"]))
    key = RAW[table][0][0]
    filters = [f"{key} is not null"] + ([where] if where else [])
    body = (cte("with source", [c for c, _, _ in RAW[table]], ref("raw." + table)) + ",\n\n" +
            cte("renamed", select, "source", f"\n    where {' and '.join(filters)}") +
            "\n\nselect\n    " + ",\n    ".join(c["name"] for c in out) + "\nfrom renamed\n")
    config = {"materialized": "view", "description": f"Staging: {desc}, from raw.{table}.",
              "owner": "data-platform", "tags": ["staging", table]}
    return Model("stg", table + suffix, body, ["raw." + table], out, config, table)


AGGS = [("sum", "total"), ("avg", "avg"), ("max", "max")]


def pre_aggregate(parent, alias, key, names, rng):
    """A CTE aggregating a join parent to one row per key; returns (cte, [(name, expr, col)])."""
    count = f"{parent.domain[:-1]}_count"
    sel = [key, f"count(*) as {count}"]
    cols = [(count, col(count, "num"))]
    for c in distinct_measures(by_type(parent.columns, "num"), 1):
        agg, prefix = rng.choice(AGGS)
        nm = f"{prefix}_{c['measure']}"
        sel.append(f"{agg}({c['name']}) as {nm}")
        cols.append((nm, col(nm, "num", measure=c["measure"])))
    dates = by_type(parent.columns, "date")
    if dates and rng.random() < 0.3:
        nm = f"last_{dates[0]['measure']}"
        sel.append(f"max({dates[0]['name']}) as {nm}")
        cols.append((nm, col(nm, "date", measure=dates[0]["measure"])))
    out = []
    for inner, c in cols:
        c = dict(c, name=names(inner, prefix=alias))
        expr = f"coalesce({alias}.{inner}, 0)" if c["type"] == "num" else f"{alias}.{inner}"
        out.append((expr + ("" if expr.endswith(f".{c['name']}") else f" as {c['name']}"), c))
    return cte(alias, sel, ref(parent.fqn), f"\n    group by {key}"), out


def pick_joins(candidates, primary, key, rng):
    pool = [m for m in candidates[-80:] if m is not primary and any(
        c["name"] == key and c["type"] == "key" for c in m.columns)]
    n = rng.choice([0, 1, 1, 1, 2]) if pool else 0
    return rng.sample(pool, min(n, len(pool)))


def aliases_for(parents):
    """CTE names for join parents: the parent's name without its number (`customer_summary`)."""
    seen, out = {}, []
    for p in parents:
        a = re.sub(r"_\d+$", "", p.name)
        seen[a] = seen.get(a, 0) + 1
        out.append(a if seen[a] == 1 else f"{a}_{seen[a]}")
    return out


def tier(m, hi, lo, nm):
    return (f"case\n        when {m} >= {hi} then 'high'\n        when {m} >= {lo} then 'mid'\n"
            f"        when {m} is null then 'none'\n        else 'low'\n    end as {nm}")


def downstream_model(dataset, index, candidates, rng):
    primary = rng.choice(candidates[-60:]) if rng.random() < 0.7 else rng.choice(candidates)
    keys = by_type(primary.columns, "key")
    preferred = [k for k in keys if k["name"] in ("customer_id", "product_id", "order_id")]
    key = rng.choice(preferred or keys)["name"]
    topic = TOPIC[key]
    joins = pick_joins(candidates, primary, key, rng)
    kind = rng.choice(["summary", "summary", "activity", "scores"] if dataset == "int"
                      else ["summary", "scores", "scores", "activity"])
    names = Names()
    aliases = ["base"] + aliases_for(joins)

    # base: the primary's columns used here, filtered; one pre-aggregated CTE per join parent.
    other_keys = [k for k in keys if k["name"] != key]
    base_cols = ([k for k in keys if k["name"] == key] + other_keys[:1] +
                 by_type(primary.columns, "date")[:1] +
                 [c for c in by_type(primary.columns, "str") if c["values"]][:1] +
                 distinct_measures(by_type(primary.columns, "num"), 2 if len(joins) < 2 else 1))
    for c in base_cols:
        names(c["name"])
    nums0 = by_type(base_cols, "num")
    where = f"\n    where {key} is not null" + (
        f" and {nums0[0]['name']} >= 0" if nums0 and rng.random() < 0.5 else "")
    ctes = [cte("base", [c["name"] for c in base_cols], ref(primary.fqn), where)]
    joined_select = [f"base.{c['name']}" for c in base_cols]
    all_cols = list(base_cols)
    for parent, alias in zip(joins, aliases[1:]):
        text, cols = pre_aggregate(parent, alias, key, names, rng)
        ctes.append(text)
        joined_select += [e for e, _ in cols]
        all_cols += [c for _, c in cols]
    if joins:
        ctes.append(cte("joined", joined_select, "base" + "".join(
            f"\n    left join {a} on {a}.{key} = base.{key}" for a in aliases[1:])))
    joined = "joined" if joins else "base"
    nums = by_type(all_cols, "num")
    strs = [c for c in all_cols if c["type"] == "str" and c["values"]]
    dates = by_type(all_cols, "date")
    out = []
    names = Names()  # the output's own names

    if kind in ("summary", "scores"):
        dim = strs[0] if strs and rng.random() < 0.4 else None
        group = [key] + ([dim["name"]] if dim else [])
        for g in group:
            names(g)
        count_name = names(f"{primary.domain[:-1]}_count" if primary.domain[:-1] != topic else "row_count")
        sel = group + [f"count(*) as {count_name}"]
        out += [col(key, "key")] + ([dict(dim)] if dim else []) + [col(count_name, "num")]
        for c in distinct_measures(nums, 2):
            for agg, prefix in rng.sample(AGGS, rng.choice([1, 1, 2])):
                nm = names(f"{prefix}_{c['measure']}")
                sel.append(f"{agg}({c['name']}) as {nm}")
                out.append(col(nm, "num", measure=c["measure"]))
        cond = [c for c in strs if c is not dim][:1]
        if cond and nums:
            s, v = cond[0], rng.choice(cond[0]["values"])
            nm = names(f"{v}_{nums[0]['measure']}")
            sel.append(f"sum(case when {s['name']} = '{v}' then {nums[0]['name']} else 0 end) as {nm}")
            out.append(col(nm, "num", measure=nums[0]["measure"]))
        for k in [c for c in all_cols if c["type"] == "key" and c["name"] != key][:1]:
            nm = names(f"distinct_{TOPIC[k['name']]}s")
            sel.append(f"count(distinct {k['name']}) as {nm}")
            out.append(col(nm, "num"))
        for d in dates[:1]:
            nm = names(f"last_{d['measure']}")
            sel.append(f"max({d['name']}) as {nm}")
            out.append(col(nm, "date", measure=d["measure"]))
        agg_nums = by_type(out, "num")
        m = (agg_nums[1:] or agg_nums)[0]  # the first aggregate after the row count
        if kind == "summary":
            # One SELECT ... GROUP BY, the tier on the aggregate itself.
            expr = sel[[c["name"] for c in out].index(m["name"])].rsplit(" as ", 1)[0]
            nm = names(f"{m['measure']}_tier")
            sel.append(tier(expr, rng.choice([1000, 500, 250]), rng.choice([10, 50, 100]), nm))
            out.append(col(nm, "str", ["high", "mid", "low", "none"]))
            body = ("with " + ",\n\n".join(ctes) + "\n\nselect\n    " + ",\n    ".join(sel) +
                    f"\nfrom {joined}\ngroup by " + ", ".join(group) + "\n")
            return finish(dataset, index, kind, key, primary, joins, body, out, rng, group)
        ctes.append(cte("aggregated", sel, joined, "\n    group by " + ", ".join(group)))
        final = [c["name"] for c in out]
        if kind == "scores":
            for expr, suffix in ((f"rank() over (order by {m['name']} desc)", "rank"),
                                 (f"{m['name']} / nullif(sum({m['name']}) over (), 0)", "share")):
                nm = names(f"{m['measure']}_{suffix}")
                final.append(f"{expr} as {nm}")
                out.append(col(nm, "num", measure=nm))
        nm = names(f"{m['measure']}_tier")
        final.append(tier(m["name"], rng.choice([1000, 500, 250]), rng.choice([10, 50, 100]), nm))
        out.append(col(nm, "str", ["high", "mid", "low", "none"]))
        source = "aggregated"
        grain = group
    else:  # activity: the primary's grain, with window columns in the final select
        order = dates[0]["name"] if dates else (nums[0]["name"] if nums else key)
        final = [c["name"] for c in all_cols]
        for c in all_cols:
            out.append(dict(c, name=names(c["name"])))
        rank_name = names("recency_rank")
        final.append(f"row_number() over (partition by {key} order by {order} desc) as {rank_name}")
        out.append(col(rank_name, "num"))
        win = f"partition by {key} order by {order}"
        for c in distinct_measures(nums, 1):
            m = c["name"]
            nm = names(f"running_{c['measure']}")
            final.append(f"sum({m}) over (\n        {win}\n        rows between "
                         f"unbounded preceding and current row\n    ) as {nm}")
            out.append(col(nm, "num", measure=c["measure"]))
            nm = names(f"{c['measure']}_trend")
            final.append(f"case\n        when lag({m}) over ({win}) is null then 'first'\n"
                         f"        when {m} > lag({m}) over ({win}) then 'up'\n"
                         f"        when {m} < lag({m}) over ({win}) then 'down'\n"
                         f"        else 'flat'\n    end as {nm}")
            out.append(col(nm, "str", ["first", "up", "down", "flat"]))
        source = f"{joined}\nwhere {key} is not null"

    body = ("with " + ",\n\n".join(ctes) + "\n\nselect\n    " + ",\n    ".join(final) +
            f"\nfrom {source}\n")
    return finish(dataset, index, kind, key, primary, joins, body, out, rng,
                  grain if kind == "scores" else None)


def finish(dataset, index, kind, key, primary, joins, body, out, rng, grain=None):
    topic = TOPIC[key]
    name = f"{topic}_{kind}_{index:03d}"
    deps = [primary.fqn] + [j.fqn for j in joins]
    materialized = rng.choice(["table", "table", "table", "incremental"] if dataset == "marts"
                              else ["view", "view", "table", "table", "incremental"])
    what = {"summary": "one row per", "scores": "scored and ranked, one row per",
            "activity": "running totals and recency by"}[kind]
    config = {"materialized": materialized,
              "description": f"{topic.capitalize()} {kind}: {what} {' and '.join(grain or [key])}, from {', '.join(deps)}.",
              "owner": rng.choice(OWNERS),
              "tags": [dataset, topic] + (["finance"] if rng.random() < 0.2 else [])}
    if materialized == "incremental":
        # Both tools need to know how to apply increments: merge by the model's grain.
        config["unique_key"] = list(grain or [key])
    return Model(dataset, name, body, deps, out, config, topic + "s")


def generate_models(seed):
    rng = random.Random(seed)
    models = []
    for table, variants in STAGING.items():
        for suffix, where, desc in variants:
            models.append(staging_model(table, suffix, where, desc, rng))
    assert len(models) == N_STAGING
    for i in range(N_INT):
        models.append(downstream_model("int", len(models), models, rng))
    ints = models[N_STAGING:]
    for i in range(N_MARTS):
        models.append(downstream_model("marts", len(models), ints, rng))
    return models


# ---------------------------------------------------------------------------------------------
# Rendering


def toml_str(s):
    return json.dumps(s)


def kura_file(m):
    c = m.config
    header = (f"/* kura\nmaterialized = {toml_str(c['materialized'])}\n"
              f"description = {toml_str(c['description'])}\nowner = {toml_str(c['owner'])}\n"
              f"tags = [{', '.join(toml_str(t) for t in c['tags'])}]\n"
              + (f"unique_key = [{', '.join(toml_str(k) for k in c['unique_key'])}]\n"
                 if "unique_key" in c else "")
              + "*/\n")
    return header + re.sub("\x00([^\x00]+)\x00", lambda g: g.group(1), m.body)


def dbt_file(m):
    def render(g):
        dataset, name = g.group(1).split(".")
        if dataset == "raw":
            return f"{{{{ source('raw', '{name}') }}}}"
        return f"{{{{ ref('{dataset}_{name}') }}}}"
    return re.sub("\x00([^\x00]+)\x00", render, m.body)


def yml(v, indent=0):
    """A tiny YAML writer for the dicts and lists used here (strings always quoted)."""
    pad = "  " * indent
    if isinstance(v, dict):
        lines = []
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                lines.append(f"{pad}{k}:\n{yml(x, indent + 1)}")
            else:
                lines.append(f"{pad}{k}: {yml(x)}")
        return "\n".join(lines)
    if isinstance(v, list):
        if not v:
            return "[]"
        out = []
        for x in v:
            if isinstance(x, dict):
                inner = yml(x, indent + 1).lstrip()
                out.append(f"{pad}- {inner}")
            else:
                out.append(f"{pad}- {yml(x)}")
        return "\n".join(out)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def write_projects(models, seed, kura_dir: Path, dbt_dir: Path, csv_dir: Path):
    rng = random.Random(seed + 1)
    csv_dir.mkdir(parents=True)
    for table in RAW:
        (csv_dir / f"{table}.csv").write_text(raw_csv(table, rng))

    # kura. Everyone may read and write everything: the benchmark runs as whoever runs it.
    (kura_dir / "models").mkdir(parents=True)
    (kura_dir / "kura.toml").write_text(
        '[project]\nname = "bench"\n\n'
        '[access.datasets.raw]\nread = ["*"]\nwrite = ["*"]\n\n'
        '[access.datasets."*"]\nread = ["*"]\nwrite = ["*"]\n')
    for m in models:
        path = kura_dir / "models" / m.dataset / f"{m.name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kura_file(m))

    # dbt
    (dbt_dir / "models").mkdir(parents=True)
    (dbt_dir / "dbt_project.yml").write_text(f"""name: bench
version: "1.0.0"
config-version: 2
profile: bench
model-paths: ["models"]
target-path: target
flags:
  send_anonymous_usage_stats: false
models:
  bench:
    stg:
      +schema: stg
    int:
      +schema: int
    marts:
      +schema: marts
""")
    (dbt_dir / "profiles.yml").write_text(f"""bench:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: {json.dumps(str(dbt_dir / 'bench.duckdb'))}
      threads: 2
""")
    sources = {"version": 2, "sources": [{
        "name": "raw", "schema": "raw", "description": "Raw tables loaded from CSV.",
        "tables": [{"name": t, "columns": [{"name": c} for c, _, _ in RAW[t]]} for t in RAW]}]}
    (dbt_dir / "models" / "raw").mkdir(parents=True)
    (dbt_dir / "models" / "raw" / "_raw__sources.yml").write_text(yml(sources) + "\n")
    for dataset in ("stg", "int", "marts"):
        d = dbt_dir / "models" / dataset
        d.mkdir(parents=True, exist_ok=True)
        entries = []
        for m in models:
            if m.dataset != dataset:
                continue
            (d / f"{m.dbt_name}.sql").write_text(dbt_file(m))
            entries.append({"name": m.dbt_name, "description": m.config["description"],
                            "config": {"materialized": m.config["materialized"],
                                       "tags": m.config["tags"],
                                       "meta": {"owner": m.config["owner"]},
                                       **({"unique_key": m.config["unique_key"]}
                                          if "unique_key" in m.config else {})}})
        (d / f"_{dataset}__models.yml").write_text(yml({"version": 2, "models": entries}) + "\n")


def check_equivalent(models, kura_dir: Path, dbt_dir: Path):
    """The two versions of each model differ only in the table references (and kura's header,
    whose content is dbt's schema-file entry)."""
    kura_ref = re.compile(r"\b((?:raw|stg|int|marts)\.[a-z0-9_]+)\b")
    dbt_ref = re.compile(r"\{\{ (?:ref\('([a-z0-9_]+)'\)|source\('raw', '([a-z0-9_]+)'\)) \}\}")
    by_dbt = {m.dbt_name: m.fqn for m in models}
    for m in models:
        k = (kura_dir / "models" / m.dataset / f"{m.name}.sql").read_text()
        k = re.sub(r"\A/\* kura\n.*?\n\*/\n", "", k, flags=re.S)
        d = (dbt_dir / "models" / m.dataset / f"{m.dbt_name}.sql").read_text()
        k_refs = kura_ref.findall(k)
        d_refs = [by_dbt[a] if a else f"raw.{b}" for a, b in dbt_ref.findall(d)]
        if kura_ref.sub("REF", k) != dbt_ref.sub("REF", d) or k_refs != d_refs:
            raise SystemExit(f"kura and dbt versions of {m.fqn} differ beyond table references")
        if sorted(set(k_refs)) != sorted(set(m.deps)):
            raise SystemExit(f"{m.fqn}: references {k_refs}, generated dependencies {m.deps}")


# ---------------------------------------------------------------------------------------------
# Timing


def timed(cmd, cwd=None, env=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-4000:]}\n"
                         f"{r.stderr[-4000:]}")
    return secs, r.stdout


def measure(cmd, cwd=None, env=None, label=""):
    _, out = timed(cmd, cwd, env)  # warm-up (also the run whose output is checked)
    times = []
    for _ in range(RUNS):
        secs, _ = timed(cmd, cwd, env)
        times.append(secs)
        print(f"{label}: {secs:.3f} s", flush=True)
    return min(times), statistics.median(times), times, out


def kura_has_plan(kura_bin):
    if not Path(kura_bin).exists():
        raise SystemExit(f"kura binary not found at {kura_bin} (pass --kura PATH)")
    try:
        r = subprocess.run([kura_bin, "plan", "--help"], capture_output=True, text=True)
    except OSError as e:
        raise SystemExit(f"cannot run {kura_bin}: {e}")
    if r.returncode != 0:
        raise SystemExit(f"{kura_bin} has no `plan` subcommand (`kura plan --help` exited "
                         f"{r.returncode}: {(r.stderr or r.stdout).strip().splitlines()[0]}); "
                         "this benchmark needs `kura --project DIR plan`. "
                         "Use --skip-kura to run the dbt side only.")


def ensure_dbt(dbt_bin):
    """Installs dbt-core and dbt-duckdb into the running Python's environment (bench/.venv when
    run from run.sh) when the dbt executable next to it is missing."""
    if Path(dbt_bin).exists():
        return
    if Path(dbt_bin).parent != Path(sys.executable).parent:
        raise SystemExit(f"dbt not found at {dbt_bin}")
    print(f"installing {' '.join(DBT_REQUIREMENTS)} into {sys.prefix}", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *DBT_REQUIREMENTS], check=True)


def dbt_reported(dbt_dir: Path, runs: int):
    """dbt's own timing of its last `runs` commands (from logs/dbt.log; no interpreter start)."""
    log = dbt_dir / "logs" / "dbt.log"
    found = re.findall(r'"command_wall_clock_time": ([0-9.]+)', log.read_text()) if log.exists() else []
    return [float(x) for x in found[-runs:]]


def dbt_version(dbt_bin):
    r = subprocess.run([dbt_bin, "--version"], capture_output=True, text=True)
    core = re.search(r"installed:\s*(\S+)", r.stdout)
    duck = re.search(r"duckdb:\s*(\S+)", r.stdout)
    return (core.group(1) if core else "?"), (duck.group(1) if duck else "?")


def main():
    default_kura = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release" / "kura"
    ap = argparse.ArgumentParser()
    ap.add_argument("--kura", default=str(default_kura))
    ap.add_argument("--dbt", default=str(Path(sys.executable).parent / "dbt"))
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--skip-kura", action="store_true", help="generator and dbt side only")
    args = ap.parse_args()
    kura_bin = str(Path(args.kura).resolve())
    if not args.skip_kura:
        kura_has_plan(kura_bin)

    models = generate_models(args.seed)
    if WORK.exists():
        shutil.rmtree(WORK)
    kura_dir, dbt_dir, csv_dir = WORK / "kura", WORK / "dbt", WORK / "csv"
    write_projects(models, args.seed, kura_dir, dbt_dir, csv_dir)
    check_equivalent(models, kura_dir, dbt_dir)
    lines = [len(m.body.splitlines()) for m in models]
    edges = sum(len(m.deps) for m in models)
    counts = {k: sum(1 for m in models if m.config["materialized"] == k)
              for k in ("view", "table", "incremental")}
    shape = (f"{len(models)} models ({N_STAGING} stg, {N_INT} int, {N_MARTS} marts; "
             f"{counts['view']} views, {counts['table']} tables, {counts['incremental']} incremental), "
             f"{edges} dependencies, {sum(lines):,} lines of SQL "
             f"({min(lines)}-{max(lines)} per model, median {statistics.median(lines):.0f})")
    print(shape, flush=True)

    # dbt
    ensure_dbt(args.dbt)
    env = dict(os.environ, DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    dbt_cmd = [args.dbt, "parse", "--no-partial-parse", "--project-dir", str(dbt_dir),
               "--profiles-dir", str(dbt_dir)]
    d_best, d_med, d_times, _ = measure(dbt_cmd, cwd=dbt_dir, env=env, label="dbt parse")
    manifest = json.loads((dbt_dir / "target" / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    if len(nodes) != len(models):
        raise SystemExit(f"dbt's manifest has {len(nodes)} models, expected {len(models)}")
    by_id = {uid: (n["schema"], n["name"]) for uid, n in manifest["nodes"].items()}
    by_id.update({uid: ("raw", s["name"]) for uid, s in manifest["sources"].items()})
    for m in models:
        want = sorted(set(m.deps))
        got_names = sorted(by_id[u][1] for u in nodes[m.dbt_name]["depends_on"]["nodes"])
        want_names = sorted(d.split(".")[1] if d.startswith("raw.") else d.replace(".", "_", 1)
                            for d in want)
        if got_names != want_names:
            raise SystemExit(f"dbt dependencies of {m.dbt_name}: {got_names}, expected {want}")
    core_v, duck_v = dbt_version(args.dbt)
    own = dbt_reported(dbt_dir, RUNS)
    own_text = (f"dbt's own reported command time (no interpreter start-up): best {min(own):.2f} s, "
                f"median {statistics.median(own):.2f} s" if own else "")
    print(f"dbt parse (dbt-core {core_v}, dbt-duckdb {duck_v}): best {d_best:.3f} s, "
          f"median {d_med:.3f} s; manifest checked. {own_text}", flush=True)
    if args.skip_kura:
        return

    # kura: the raw tables first (not timed), then the plan.
    for table in RAW:
        timed([kura_bin, "--project", str(kura_dir), "--quiet", "load", str(csv_dir / f"{table}.csv"),
               "--into", f"raw.{table}"])
    kura_cmd = [kura_bin, "--project", str(kura_dir), "plan"]
    k_best, k_med, k_times, plan_out = measure(kura_cmd, label="kura plan")
    missing = [m.fqn for m in models if not re.search(rf"(?<![\w.]){re.escape(m.fqn)}(?![\w])", plan_out)]
    if missing:
        raise SystemExit(f"kura plan exited 0 but does not name {len(missing)} of {len(models)} models "
                         f"(first: {missing[:3]}); its output began:\n{plan_out[:2000]}")
    print(f"kura plan: best {k_best:.3f} s, median {k_med:.3f} s", flush=True)

    ratio = d_best / k_best
    met = "met" if k_best < TARGET_SECS else "MISSED"
    tail = "\n".join(plan_out.rstrip().splitlines()[-5:])
    body = f"""Command: `bench/run.sh` (this section: `bench/models_plan.py --seed {args.seed}`), \
{os.cpu_count()} cores, {platform.machine()}, dbt-core {core_v} with dbt-duckdb {duck_v}, \
run {time.strftime('%Y-%m-%d')}.

One generated project in two spellings (bench/work-models/kura and bench/work-models/dbt):
{shape}. Five raw tables (loaded into kura from CSV; a dbt sources file). The SQL of each model
is the same in both, except `raw.orders` / `stg.orders` against
`{{{{ source('raw', 'orders') }}}}` / `{{{{ ref('stg_orders') }}}}` (checked model by model); the
configs (materialized, description, owner, tags) are kura's `/* kura */` headers and dbt's
schema files.

Whole-process wall time, output captured, one warm-up run then {RUNS}:

- kura: `kura --project bench/work-models/kura plan` (parse, graph, diff against the warehouse;
  nothing executed; never applied, so every model is a create; the plan names all {len(models)});
- dbt: `dbt parse --no-partial-parse` in bench/work-models/dbt (manifest checked: {len(models)}
  models with the generated dependencies).

| | best s | median s |
|---|---:|---:|
| kura `plan` | {k_best:.3f} | {k_med:.3f} |
| dbt `parse --no-partial-parse` | {d_best:.3f} | {d_med:.3f} |
| **dbt/kura** | **{ratio:.1f}x** | {d_med / k_med:.1f}x |

{own_text + '.' if own_text else ''}

Target: `kura plan` under {TARGET_SECS} s for {len(models)} models: **{met}** ({k_best:.3f} s best).

Last lines of kura's plan:

```
{tail}
```
"""
    replace_section(Path(args.out), HEADING, body)
    print(body)


if __name__ == "__main__":
    main()
