"""kura ml against Python LightGBM and shap: training time and TreeSHAP time, same data, same
model parameters, same run (issue 8).

Data: ROWS rows x 30 numeric features (deterministic from --seed; 5 % NaNs in three columns) and
a binary target from a noisy logistic of ten of them, written as CSV to bench/work-ml/.

Training (no validation split, exactly ITERATIONS iterations, num_leaves 31, learning_rate 0.1,
min_data_in_leaf 20, seed 42, deterministic, LightGBM's default threads):
- kura: `kura ml train --table bench.train --target y --valid-fraction 0 ...` as a whole process
  (reading the Delta table, encoding, LightGBM, scoring, writing the model) after `kura load`
  (untimed);
- Python: `lgb.Dataset(X, y)` + `lgb.train(...)` on the array already in memory (the CSV read is
  untimed).

TreeSHAP on the model kura trained (read by Python from kura's `ml/<name>/model.txt`):
- kura: `kura ml explain NAME --table bench.train` as a whole process (reads the table, computes
  exact path-dependent TreeSHAP for every row, prints the importance);
- Python: `shap.TreeExplainer(booster).shap_values(X)` (which runs LightGBM's own C++
  `pred_contrib` on all cores).
The script checks that both give the same SHAP values (max abs difference reported, must be
under 1e-9 on a sample of rows through `kura ml explain --into`).

Usage: bench/ml.py --kura target/release/kura [--rows 100000] [--out bench/RESULTS.md]
(the kura binary must be built with `--features train`; bench/run.sh does).
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import shap

from kura_process import run_kura as kura
from results import replace_section

HERE = Path(__file__).resolve().parent
WORK = HERE / "work-ml"
HEADING = "Machine learning: training and TreeSHAP (issue 8)"
FEATURES = 30
ITERATIONS = 100
RUNS = 3


def generate(rows: int, seed: int) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, FEATURES))
    for j in (3, 7, 11):
        X[rng.random(rows) < 0.05, j] = np.nan
    w = np.zeros(FEATURES)
    w[:10] = rng.normal(size=10)
    logit = np.nan_to_num(X) @ w + 0.5 * np.sin(3 * np.nan_to_num(X[:, 1])) + rng.normal(scale=0.5, size=rows)
    y = (logit > 0).astype(np.int64)
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"train-{rows}-{seed}.csv"
    if not path.exists():
        header = ",".join(["row_id"] + [f"f{j:02d}" for j in range(FEATURES)] + ["y"])
        with open(path, "w") as f:
            f.write(header + "\n")
            for i in range(rows):
                vals = ["" if np.isnan(v) else repr(float(v)) for v in X[i]]
                f.write(f"{i}," + ",".join(vals) + f",{y[i]}\n")
    return path, X, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kura", required=True)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args()

    csv, X, y = generate(args.rows, args.seed)
    project = WORK / "project"
    if project.exists():
        shutil.rmtree(project)
    subprocess.run([args.kura, "--quiet", "init", str(project), "--name", "bench_ml"], check=True)
    kura(args.kura, project, "--quiet", "load", str(csv), "--into", "bench.train")

    params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.1, "min_data_in_leaf": 20,
              "seed": 42, "deterministic": True, "verbose": -1}
    train_args = ["ml", "train", "--table", "bench.train", "--target", "y", "--exclude", "row_id",
                  "--task", "binary", "--valid-fraction", "0", "--num-iterations", str(ITERATIONS),
                  "--name", "bench", "--force"]

    kura_train, py_train = [], []
    for run in range(RUNS + 1):
        secs, _, _ = kura(args.kura, project, *train_args)
        t0 = time.perf_counter()
        booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=ITERATIONS)
        py = time.perf_counter() - t0
        print(f"train run {run}{' (warm-up)' if run == 0 else ''}: kura {secs:.2f} s, python {py:.2f} s", flush=True)
        if run > 0:
            kura_train.append(secs)
            py_train.append(py)

    model_path = project / "ml" / "bench" / "model.txt"
    theirs = lgb.Booster(model_file=str(model_path))
    trees = theirs.num_trees()
    leaves = [t["num_leaves"] for t in theirs.dump_model()["tree_info"]]

    kura_shap, py_shap = [], []
    explainer = shap.TreeExplainer(theirs)
    for run in range(RUNS + 1):
        secs, out, _ = kura(args.kura, project, "--quiet", "ml", "explain", "bench", "--table", "bench.train")
        t0 = time.perf_counter()
        sv = explainer.shap_values(X)
        py = time.perf_counter() - t0
        print(f"shap run {run}{' (warm-up)' if run == 0 else ''}: kura {secs:.2f} s, shap {py:.2f} s", flush=True)
        if run > 0:
            kura_shap.append(secs)
            py_shap.append(py)

    # Same values: kura's long table for the first 1000 rows against shap's.
    sample = 1000
    _, out, _ = kura(args.kura, project, "--quiet", "ml", "explain", "bench", "--table", "bench.train",
                     "--into", "bench.shap", "--key", "row_id")
    _, csv_out, _ = kura(args.kura, project, "--quiet", "sql", "--format", "csv",
                         f"SELECT row_key, feature, shap_value FROM bench.shap WHERE row_key < {sample}")
    sv = np.asarray(explainer.shap_values(X[:sample]))
    names = [f"f{j:02d}" for j in range(FEATURES)]
    max_diff = 0.0
    for line in csv_out.strip().splitlines()[1:]:
        key, feature, value = line.split(",")
        max_diff = max(max_diff, abs(float(value) - sv[int(key), names.index(feature)]))
    if max_diff > 1e-9:
        raise SystemExit(f"SHAP values differ from shap's by {max_diff}")

    kt, pt = statistics.median(kura_train), statistics.median(py_train)
    ks, ps = statistics.median(kura_shap), statistics.median(py_shap)
    body = f"""Command: `bench/ml.py --kura target/release/kura --rows {args.rows} --seed {args.seed}` (part of `bench/run.sh`), machine: {os.cpu_count()} cores, {platform.machine()}, LightGBM {lgb.__version__} (Python), shap {shap.__version__}, run {time.strftime('%Y-%m-%d')}.

Data: {args.rows:,} rows x {FEATURES} numeric features (three with 5 % NaN), binary target. Model: {ITERATIONS} iterations, num_leaves 31, learning_rate 0.1, min_data_in_leaf 20, no validation split; the model kura trained has {trees} trees with {min(leaves)}-{max(leaves)} leaves.

| step | kura (median of {RUNS}) | Python (median of {RUNS}) | kura / Python | target |
|---|---:|---:|---:|---|
| train | {kt:.2f} s (whole `kura ml train` process) | {pt:.2f} s (`lgb.Dataset` + `lgb.train`) | {kt / pt:.2f} | within 1.2x: {'met' if kt / pt <= 1.2 else 'MISSED'} |
| TreeSHAP, all rows | {ks:.2f} s (whole `kura ml explain` process) | {ps:.2f} s (`TreeExplainer.shap_values`) | {ks / ps:.2f} | at most 1.0x (aim 0.5x): {'met' if ks / ps <= 1.0 else 'MISSED'} |

Runs: kura train {', '.join(f'{v:.2f}' for v in kura_train)} s, Python train {', '.join(f'{v:.2f}' for v in py_train)} s; kura explain {', '.join(f'{v:.2f}' for v in kura_shap)} s, shap {', '.join(f'{v:.2f}' for v in py_shap)} s.

SHAP values checked equal: kura's `bench.shap` table against shap's values for the first {sample} rows, max abs difference {max_diff:.2e}.

Caveats: kura's times are whole processes (start, open the warehouse, read the {args.rows:,}-row Delta table, encode, write the model or print the importance); Python's are the library calls on an array already in memory. Both use LightGBM's default threads (all {os.cpu_count()} cores).
"""
    replace_section(args.out, HEADING, body)
    print(body)


if __name__ == "__main__":
    main()
