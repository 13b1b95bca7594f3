"""kura's effect estimators against the Python peers, same data, same run (issue 7).

CausalImpact: a 365-point daily series with 3 covariates, the last 65 points post-period, an
effect of +3. 1000 Gibbs iterations with 10 % burn-in (bsts-causalimpact: niter 900 + nwarmup
100), seed 1, expected model size 3.
- fit alone: kura-stats' `estimator_timing` example (reads the CSV, then times `analyze`) against
  `CausalImpact(df, pre, post, model_args)` on a DataFrame already in memory; both warmed up;
- whole process: `kura experiment analyze NAME --format json` (opens the warehouse, runs the
  registered SQL, fits, prints, records the result) against `python -c` importing pandas and
  causal_impact, reading the CSV, fitting and printing the summary.
Both report the average absolute effect; they must agree within Monte Carlo error.

Propensity score matching: 1,000,000 rows, 6 covariates, about 20 % treated by a logistic rule,
outcome with a true ATT of 2. MatchIt's algorithm (logit distance, 1:1 nearest without
replacement, largest score first, caliper 0.2 SD of the logit).
- kura: the `estimator_timing` example timing `analyze` (logit by IRLS, matching, ATT, balance);
- Python: statsmodels `Logit(...).fit(method="newton")`, then the same greedy matching over the
  controls sorted by logit (numpy `searchsorted` for the starting positions, a "next free
  control" jump table for the greedy pass) and the ATT.
The two must produce the same number of matched pairs and the same ATT (to 1e-9).

Usage: bench/experiments.py --kura target/release/kura [--stats-example PATH] [--out bench/RESULTS.md]
The Python side needs numpy, pandas, statsmodels and bsts-causalimpact (bench/run.sh installs them).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from kura_process import run_kura as kura
from results import replace_section

HERE = Path(__file__).resolve().parent
WORK = HERE / "work-experiments"
HEADING = "Effect estimators: CausalImpact and propensity score matching (issue 7)"
RUNS = 5
CI_POINTS, CI_PRE = 365, 300
PSM_ROWS, PSM_COVARIATES = 1_000_000, 6

PY_CI_PROCESS = """
import sys, pandas as pd
from causal_impact import CausalImpact
df = pd.read_csv(sys.argv[1])[["y", "x1", "x2", "x3"]]
ci = CausalImpact(df, [0, {pre_last}], [{pre}, {last}],
                  model_args=dict(niter=900, nwarmup=100, seed=1, expected_model_size=3))
print(ci.summary())
"""


def ci_data(seed: int) -> Path:
    rng = np.random.default_rng(seed)
    n = CI_POINTS
    x = [50 + np.cumsum(rng.normal(0, 1, n)), 30 + np.cumsum(rng.normal(0, 0.7, n)),
         20 + np.cumsum(rng.normal(0, 1, n))]
    y = 5 + 1.2 * x[0] + 0.8 * x[1] + np.cumsum(rng.normal(0, 0.1, n)) + rng.normal(0, 1, n)
    y[CI_PRE:] += 3.0
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"ci-{seed}.csv"
    with open(path, "w") as f:
        f.write("t,y,x1,x2,x3\n")
        for i in range(n):
            f.write(f"{i},{float(y[i])!r},{float(x[0][i])!r},{float(x[1][i])!r},{float(x[2][i])!r}\n")
    return path


def psm_data(seed: int) -> Path:
    path = WORK / f"psm-{PSM_ROWS}-{seed}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(PSM_ROWS, PSM_COVARIATES))
    b = np.array([0.6, -0.4, 0.3, 0.2, -0.5, 0.1])
    treated = (rng.random(PSM_ROWS) < 1 / (1 + np.exp(-(-1.6 + X @ b)))).astype(np.int64)
    y = 10 + X @ np.array([1.0, 0.5, -0.7, 0.3, 0.2, -0.4]) + 2.0 * treated + rng.normal(0, 1, PSM_ROWS)
    WORK.mkdir(parents=True, exist_ok=True)
    cols = np.column_stack([y, treated, X])
    header = "y,treated," + ",".join(f"x{j + 1}" for j in range(PSM_COVARIATES))
    np.savetxt(path, cols, delimiter=",", header=header, comments="", fmt=["%.17g", "%d"] + ["%.17g"] * PSM_COVARIATES)
    return path


def example(bin_path: str, data: Path, spec: dict, repeats: int):
    spec_path = WORK / "spec.json"
    spec_path.write_text(json.dumps(spec))
    r = subprocess.run([bin_path, str(data), str(spec_path), str(repeats)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"estimator_timing failed:\n{r.stderr}")
    return json.loads(r.stdout)


def python_causal_impact(df):
    from causal_impact import CausalImpact
    ci = CausalImpact(df, [0, CI_PRE - 1], [CI_PRE, CI_POINTS - 1],
                      model_args=dict(niter=900, nwarmup=100, seed=1, expected_model_size=3))
    return ci


def python_psm(data: np.ndarray):
    """statsmodels logit + MatchIt's greedy 1:1 nearest neighbour (largest first, caliper)."""
    import statsmodels.api as sm
    y, t, X = data[:, 0], data[:, 1], data[:, 2:]
    fit = sm.Logit(t, sm.add_constant(X, prepend=True)).fit(method="newton", disp=0)
    lp = fit.fittedvalues  # the linear predictor
    caliper = 0.2 * lp.std(ddof=1)
    treated = np.flatnonzero(t == 1)
    controls = np.flatnonzero(t == 0)
    # Controls sorted by logit (ties: lower row first); treated from the largest logit down
    # (ties: row order), as MatchIt's m.order = "largest".
    c_order = controls[np.lexsort((controls, lp[controls]))]
    c_lp = lp[c_order]
    t_order = treated[np.lexsort((treated, -lp[treated]))]
    start = np.searchsorted(c_lp, lp[t_order]).tolist()
    c_lp_list = c_lp.tolist()
    t_lp_list = lp[t_order].tolist()
    n = len(c_lp_list)
    # right[i]: the first free control at or after i (n when none); left[i]: the last free at or
    # before i, offset by one (0 when none). Path-halving keeps the jumps short.
    right = list(range(n + 1))
    left = list(range(n + 1))

    def find_right(i):
        while right[i] != i:
            right[i] = right[right[i]]
            i = right[i]
        return i

    def find_left(i):
        while left[i] != i:
            left[i] = left[left[i]]
            i = left[i]
        return i

    pairs_t, pairs_c = [], []
    for k, pos in enumerate(start):
        v = t_lp_list[k]
        r = find_right(pos)
        l = find_left(pos) - 1  # left is offset by one
        best = -1
        if r < n:
            best = r
        if l >= 0 and (best < 0 or v - c_lp_list[l] < c_lp_list[best] - v
                       or (v - c_lp_list[l] == c_lp_list[best] - v and c_order[l] < c_order[best])):
            best = l
        if best < 0 or abs(c_lp_list[best] - v) > caliper:
            continue
        pairs_t.append(t_order[k])
        pairs_c.append(c_order[best])
        right[best] = best + 1
        left[best + 1] = best
    pairs_t, pairs_c = np.array(pairs_t), np.array(pairs_c)
    att = float(np.mean(y[pairs_t] - y[pairs_c]))
    return att, len(pairs_t)


def peer_process(csv: str) -> None:
    """The Python side of the whole-process CausalImpact timing (run as a subprocess)."""
    code = PY_CI_PROCESS.format(pre_last=CI_PRE - 1, pre=CI_PRE, last=CI_POINTS - 1)
    exec(compile(code, "causal_impact_process", "exec"), {"__name__": "__main__"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kura", required=True)
    ap.add_argument("--stats-example", help="kura-stats' estimator_timing example "
                    "(default: examples/estimator_timing next to --kura)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args()
    timing_bin = args.stats_example or str(Path(args.kura).parent / "examples" / "estimator_timing")

    import pandas as pd
    import causal_impact
    import statsmodels

    # ---- CausalImpact, fit alone ----
    csv = ci_data(args.seed)
    ci_spec = {"kind": "causal_impact", "response": "y", "covariates": ["x1", "x2", "x3"],
               "post_start": CI_PRE,
               "options": {"niter": 1000, "burn_fraction": 0.1, "seed": 1, "nseasons": None,
                           "prior_level_sd": 0.01, "expected_model_size": 3.0, "alpha": 0.05}}
    out = example(timing_bin, csv, ci_spec, RUNS)
    kura_fit = out["seconds"]
    kura_effect = out["report"]["result"]["average"]["abs_effect"]
    df = pd.read_csv(csv)[["y", "x1", "x2", "x3"]]
    python_causal_impact(df)
    py_fit = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        ci = python_causal_impact(df)
        py_fit.append(time.perf_counter() - t0)
    pred = np.asarray(ci._samples.predictions, dtype=float) * ci._prepared.y_sd + ci._prepared.y_mean
    y_post = df["y"].to_numpy()[CI_PRE:]
    py_effect = float(y_post.mean() - pred.mean(axis=0).mean())
    eff_sd = float(np.std((y_post.sum() - pred.sum(axis=1)) / len(y_post), ddof=1))
    print(f"CausalImpact fit: kura {statistics.median(kura_fit) * 1e3:.1f} ms, "
          f"bsts-causalimpact {statistics.median(py_fit) * 1e3:.1f} ms; effect {kura_effect:.3f} vs {py_effect:.3f}",
          flush=True)
    if abs(kura_effect - py_effect) > 3 * eff_sd / np.sqrt(20) + 0.1 * eff_sd:
        raise SystemExit(f"CausalImpact effects differ beyond Monte Carlo error: {kura_effect} vs {py_effect}")

    # ---- CausalImpact, whole process ----
    project = WORK / "project"
    if project.exists():
        shutil.rmtree(project)
    subprocess.run([args.kura, "--quiet", "init", str(project), "--name", "bench_experiments"], check=True)
    kura(args.kura, project, "--quiet", "load", str(csv), "--into", "bench.series")
    kura(args.kura, project, "--quiet", "experiment", "design", "store_campaign",
         "--assignment", "by-people", "--outcome-predictable", "false",
         "--targeting-predictable", "false", "--similar-trend", "true", "--metric", "y",
         "--analysis-sql", "SELECT y, x1, x2, x3 FROM bench.series ORDER BY t",
         "--spec", json.dumps(ci_spec), "--start", "2020-01-01", "--end", "2020-12-31")
    kura_proc, py_proc = [], []
    for run in range(RUNS + 1):
        secs, _, _ = kura(args.kura, project, "--quiet", "experiment", "analyze", "store_campaign", "--format", "json")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--peer-causal-impact", str(csv)], check=True,
                       capture_output=True)
        py = time.perf_counter() - t0
        print(f"CausalImpact process run {run}{' (warm-up)' if run == 0 else ''}: kura {secs:.3f} s, python {py:.3f} s",
              flush=True)
        if run > 0:
            kura_proc.append(secs)
            py_proc.append(py)

    # ---- Propensity score matching ----
    psm_csv = psm_data(args.seed)
    covs = [f"x{j + 1}" for j in range(PSM_COVARIATES)]
    psm_spec = {"kind": "propensity_score_matching", "outcome": "y", "treatment": "treated",
                "covariates": covs,
                "options": {"caliper_sd": 0.2, "ratio": 1, "replace": False, "alpha": 0.05}}
    out = example(timing_bin, psm_csv, psm_spec, RUNS)
    kura_psm = out["seconds"]
    kura_res = out["report"]["result"]
    data = np.loadtxt(psm_csv, delimiter=",", skiprows=1)
    python_psm(data)
    py_psm = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        att, matched = python_psm(data)
        py_psm.append(time.perf_counter() - t0)
    print(f"PSM: kura {statistics.median(kura_psm):.3f} s, python {statistics.median(py_psm):.3f} s; "
          f"ATT {kura_res['estimate']['effect']:.6f} vs {att:.6f}, pairs {kura_res['n_treated_matched']} vs {matched}",
          flush=True)
    if kura_res["n_treated_matched"] != matched or abs(kura_res["estimate"]["effect"] - att) > 1e-9:
        raise SystemExit("PSM results differ between kura and the Python implementation")

    kf, pf = statistics.median(kura_fit), statistics.median(py_fit)
    kp, pp = statistics.median(kura_proc), statistics.median(py_proc)
    km, pm = statistics.median(kura_psm), statistics.median(py_psm)
    ms = lambda v: ", ".join(f"{x * 1e3:.1f}" for x in v)
    s = lambda v: ", ".join(f"{x:.3f}" for x in v)
    body = f"""Command: `bench/experiments.py --kura target/release/kura --seed {args.seed}` (part of `bench/run.sh`), machine: {os.cpu_count()} cores, {platform.machine()}, bsts-causalimpact {causal_impact.__version__}, statsmodels {statsmodels.__version__}, numpy {np.__version__}, run {time.strftime('%Y-%m-%d')}.

| step | kura (median of {RUNS}) | Python (median of {RUNS}) | kura / Python | target |
|---|---:|---:|---:|---|
| CausalImpact fit, {CI_POINTS} points, 3 covariates, 1000 iterations | {kf * 1e3:.1f} ms | {pf * 1e3:.1f} ms (bsts-causalimpact) | {kf / pf:.2f} | at most 1.0: {'met' if kf <= pf else 'MISSED'} |
| CausalImpact, whole process | {kp:.3f} s (`kura experiment analyze`) | {pp:.3f} s (`python`: import, read CSV, fit, summary) | {kp / pp:.2f} | below 1.0: {'met' if kp < pp else 'MISSED'} |
| PSM, {PSM_ROWS:,} rows, {PSM_COVARIATES} covariates | {km:.3f} s | {pm:.3f} s (statsmodels logit + sorted greedy matching) | {km / pm:.2f} | below 1.0: {'met' if km < pm else 'MISSED'} |

Runs: CausalImpact fit kura {ms(kura_fit)} ms, Python {ms(py_fit)} ms; process kura {s(kura_proc)} s, Python {s(py_proc)} s; PSM kura {s(kura_psm)} s, Python {s(py_psm)} s.

Results checked: CausalImpact average absolute effect kura {kura_effect:.4f}, bsts-causalimpact {py_effect:.4f} (posterior SD of the effect {eff_sd:.4f}; true effect 3); PSM {matched:,} matched pairs in both and the same ATT ({att:.6f}; true 2).

Caveats: the fit timings are in-process on data already in memory (kura-stats' `estimator_timing` example times `kura_stats::analyze`, which also reads the Arrow columns). The samplers are different code with the same model, so their draws differ; effects agree within Monte Carlo error. The PSM times include the propensity model, matching and ATT; kura's also the balance table and the SE.
"""
    replace_section(args.out, HEADING, body)
    print(body)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--peer-causal-impact":
        sys.argv = [sys.argv[0], sys.argv[2]]
        peer_process(sys.argv[1])
    else:
        main()
