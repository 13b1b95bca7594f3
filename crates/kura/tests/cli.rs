//! The `kura` binary end to end: init, demo load, sql formats, errors, cost, and a load killed
//! with SIGKILL (and the vacuum that deletes what it left).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn kura(project: &Path, principal: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kura"))
        .arg("--project")
        .arg(project)
        .args(["--as", principal])
        .args(args)
        .env_remove("KURA_PRINCIPAL")
        .output()
        .expect("run kura")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn init_demo(dir: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["--as", "alice", "init", "--demo"])
        .arg(dir)
        .output()
        .expect("run kura init");
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn init_writes_a_project_and_refuses_to_overwrite_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    let o = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["--as", "carol", "init"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let toml = std::fs::read_to_string(dir.join("kura.toml")).unwrap();
    assert!(toml.contains("engineers = [\"carol\"]"));
    assert!(toml.contains("name = \"shop\""));
    assert!(dir.join("models").is_dir());
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        ".kura/\n"
    );
    let again = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["init"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn demo_data_loads_and_queries_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    init_demo(tmp.path());
    let o = kura(
        tmp.path(),
        "alice",
        &[
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS orders, count(DISTINCT customer_id) AS buyers FROM raw.orders",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The generator's counts: 5000 orders from the 500 customers.
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("orders,buyers"));
    let row: Vec<u64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(row[0], 5000);
    assert!(row[1] > 400 && row[1] <= 500, "{row:?}");

    let o = kura(
        tmp.path(),
        "alice",
        &[
            "sql",
            "--format",
            "ndjson",
            "SELECT customer_id, country FROM raw.customers ORDER BY customer_id LIMIT 2",
        ],
    );
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["customer_id"], 1);

    let out_file = tmp.path().join("items.parquet");
    let o = kura(
        tmp.path(),
        "alice",
        &[
            "sql",
            "--format",
            "parquet",
            "-o",
            out_file.to_str().unwrap(),
            "SELECT * FROM raw.order_items",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&out_file).unwrap())
            .unwrap();
    let rows: i64 = parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .num_rows();
    let csv_rows = include_str!("../demo/order_items.csv").lines().count() as i64 - 1;
    assert_eq!(rows, csv_rows);

    let o = kura(tmp.path(), "alice", &["tables"]);
    let out = stdout(&o);
    for t in [
        "raw.customers",
        "raw.orders",
        "raw.order_items",
        "_kura.query_log",
        "_kura.load_log",
    ] {
        assert!(out.contains(t), "{t} missing from:\n{out}");
    }
    let o = kura(tmp.path(), "alice", &["schema", "raw.orders"]);
    let out = stdout(&o);
    assert!(
        out.contains("ordered_at") && out.contains("TIMESTAMP"),
        "{out}"
    );
}

#[test]
fn errors_say_what_where_and_how_to_fix() {
    let tmp = tempfile::tempdir().unwrap();
    init_demo(tmp.path());
    let o = kura(tmp.path(), "bob", &["sql", "SELECT * FROM raw.orders"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("error: principal `bob` may not read dataset `raw`"),
        "{err}"
    );
    assert!(
        err.contains("hint: read on `raw` is granted to: group:engineers"),
        "{err}"
    );
    // Nor may bob see raw tables' columns or their listing.
    let o = kura(tmp.path(), "bob", &["schema", "raw.orders"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("principal `bob` may not read dataset `raw`"),
        "{}",
        stderr(&o)
    );
    let o = kura(tmp.path(), "bob", &["tables"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("raw.orders"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("table(s) not shown: `bob` may not read them"),
        "{}",
        stderr(&o)
    );

    let o = kura(
        tmp.path(),
        "alice",
        &["sql", "SELECT * FROM raw.orders WHERE"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("error: invalid SQL: Expected: an expression, found: EOF"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("caused by"), "{}", stderr(&o));

    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "order_id,customer_id\n1,2\n2,x\n").unwrap();
    let schema = tmp.path().join("s.json");
    std::fs::write(
        &schema,
        r#"[{"name":"order_id","type":"INT64"},{"name":"customer_id","type":"INT64"}]"#,
    )
    .unwrap();
    let o = kura(
        tmp.path(),
        "alice",
        &[
            "load",
            bad.to_str().unwrap(),
            "--into",
            "raw.bad",
            "--schema",
            schema.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.csv:3: column `customer_id`: `x` is not an INT64"),
        "{err}"
    );
    assert!(
        err.contains("hint: fix the row, or pass --max-bad-rows"),
        "{err}"
    );

    let o = kura(
        tmp.path(),
        "alice",
        &["load", bad.to_str().unwrap(), "--into", "Raw.Bad"],
    );
    assert!(
        stderr(&o).contains("is not lowercase snake_case"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn reload_is_skipped_and_cost_reports_by_principal() {
    let tmp = tempfile::tempdir().unwrap();
    init_demo(tmp.path());
    let csv = tmp.path().join("data/demo/orders.csv");
    let o = kura(
        tmp.path(),
        "alice",
        &["load", csv.to_str().unwrap(), "--into", "raw.orders"],
    );
    assert!(o.status.success());
    assert!(stderr(&o).contains("skipped"), "{}", stderr(&o));
    assert!(stderr(&o).contains("Nothing to load"), "{}", stderr(&o));

    for _ in 0..2 {
        let o = kura(
            tmp.path(),
            "alice",
            &[
                "sql",
                "--label",
                "team=growth",
                "SELECT sum(total_jpy) FROM raw.orders WHERE status = 'delivered'",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let dry = kura(
        tmp.path(),
        "alice",
        &["sql", "--dry-run", "SELECT sum(total_jpy) FROM raw.orders"],
    );
    assert!(
        stdout(&dry).starts_with("This query will process"),
        "{}",
        stdout(&dry)
    );

    let o = kura(
        tmp.path(),
        "alice",
        &["cost", "--since", "1h", "--by", "label", "--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "team=growth")
        .expect("label row");
    assert_eq!(row["queries"], 2);
    assert!(row["bytes_scanned"].as_u64().unwrap() > 0);
    let top = &report["top_queries"][0];
    assert_eq!(top["runs"], 2);
    assert_eq!(
        top["normalized"],
        "SELECT sum(total_jpy) FROM raw.orders WHERE status = ?"
    );
}

/// `kura ... | head` closes kura's stdout early. kura must stop quietly and successfully, as
/// `cat` does, in every output path: rows (each format) and printed reports.
#[test]
fn a_reader_that_closes_the_pipe_early_ends_kura_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    init_demo(tmp.path());
    // 200,000 rows: far more than a pipe buffers, so the writes after the close must fail.
    let rows =
        "SELECT value AS x, CONCAT('row ', CAST(value AS STRING)) AS label FROM generate_series(1, 200000)";
    let runs: Vec<Vec<&str>> = vec![
        vec!["sql", rows],
        vec!["sql", "--format", "csv", rows],
        vec!["sql", "--format", "ndjson", rows],
        vec!["sql", "--format", "json", rows],
        vec!["tables"],
        vec!["cost", "--since", "1h"],
    ];
    for args in runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kura"))
            .arg("--project")
            .arg(tmp.path())
            .args(["--as", "alice"])
            .args(&args)
            .env_remove("KURA_PRINCIPAL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kura");
        // The reader goes away before kura writes anything.
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("wait for kura");
        let err = stderr(&o);
        assert!(
            o.status.success(),
            "kura {args:?} with a closed stdout: {:?}\n{err}",
            o.status
        );
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "kura {args:?} with a closed stdout:\n{err}"
        );
    }
}

/// A load killed with SIGKILL after it has started writing data files leaves the table at its
/// previous version, readable, and the next load works.
#[test]
fn a_load_killed_midway_leaves_the_previous_version() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init_demo(dir);
    // Small data files so the killed load has written some before it is stopped.
    let toml = std::fs::read_to_string(dir.join("kura.toml")).unwrap();
    std::fs::write(
        dir.join("kura.toml"),
        format!("{toml}\n[storage]\ntarget_file_mib = 1\n"),
    )
    .unwrap();

    let small = dir.join("small.csv");
    std::fs::write(&small, "id,payload\n1,a\n2,b\n3,c\n").unwrap();
    let o = kura(
        dir,
        "alice",
        &["load", small.to_str().unwrap(), "--into", "raw.big"],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let big = dir.join("big.csv");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        writeln!(w, "id,payload").unwrap();
        let mut x: u64 = 0x9E3779B97F4A7C15;
        for i in 0..1_500_000u64 {
            // xorshift: incompressible payloads, so Parquet files fill up quickly.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            writeln!(w, "{i},{x:016x}{:016x}", x.rotate_left(29)).unwrap();
        }
    }
    let table_dir = dir.join(".kura/warehouse/raw/big");
    let data_files = |d: &Path| -> usize {
        std::fs::read_dir(d)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
            .count()
    };
    let before = data_files(&table_dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kura"))
        .arg("--project")
        .arg(dir)
        .args([
            "--as",
            "alice",
            "load",
            big.to_str().unwrap(),
            "--into",
            "raw.big",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed_midway = false;
    while Instant::now() < deadline {
        if data_files(&table_dir) > before + 1 {
            child.kill().unwrap(); // SIGKILL on Unix
            killed_midway = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.wait();
    assert!(
        killed_midway,
        "the load finished before it could be killed midway"
    );
    assert!(
        data_files(&table_dir) > before,
        "the load wrote data files before it was killed"
    );

    assert_eq!(sql_csv(dir, "SELECT count(*) FROM raw.big"), [["3"]]);
    let o = kura(dir, "alice", &["tables", "raw"]);
    let line = stdout(&o)
        .lines()
        .find(|l| l.contains("raw.big "))
        .map(str::to_string)
        .unwrap_or_default();
    let cells: Vec<&str> = line.split(['│', '┆']).map(str::trim).collect();
    // │ table ┆ rows ┆ size ┆ files ┆ version ┆ partitioned by │
    assert_eq!(
        (cells[2], cells[5]),
        ("3", "0"),
        "still at version 0: {line}"
    );

    // The table takes the next load normally.
    let more = dir.join("more.csv");
    std::fs::write(&more, "id,payload\n4,d\n").unwrap();
    let o = kura(
        dir,
        "alice",
        &["load", more.to_str().unwrap(), "--into", "raw.big"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sql_csv(dir, "SELECT count(*) FROM raw.big"), [["4"]]);

    // The killed load's files are on disk, named by no version. They are new, so the default
    // retention keeps them; a retention short enough to reach them needs --force.
    let orphans = data_files(&table_dir) - 2;
    assert!(orphans > 0);
    let o = kura(dir, "alice", &["vacuum", "raw.big"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "deleted 0 file(s), 0 B, from 0 of 1 table(s); files younger than 7d were kept"
        ),
        "{}",
        stderr(&o)
    );
    let o = kura(dir, "alice", &["vacuum", "raw.big", "--retain", "0s"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "a retention of 0s can delete the files of a load or build that is still running"
        ) && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    let o = kura(dir, "alice", &["vacuum", "--retain", "2x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown unit `x`"), "{}", stderr(&o));
    let o = kura(
        dir,
        "alice",
        &[
            "vacuum",
            "raw.big",
            "--retain",
            "0s",
            "--force",
            "--dry-run",
        ],
    );
    assert!(
        stderr(&o).contains(&format!("would delete {orphans} file(s)")),
        "{}",
        stderr(&o)
    );
    assert_eq!(data_files(&table_dir), orphans + 2);
    let o = kura(
        dir,
        "alice",
        &["vacuum", "raw.big", "--retain", "0s", "--force"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("raw.big"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains(&format!("deleted {orphans} file(s)")),
        "{}",
        stderr(&o)
    );
    assert_eq!(data_files(&table_dir), 2);
    assert_eq!(sql_csv(dir, "SELECT count(*) FROM raw.big"), [["4"]]);
}

/// Writes an A/B table (`raw.ab`: treated 0/1, value) and returns the Welch effect and
/// standard error computed here, independently of kura-stats.
fn ab_table(project: &Path) -> (f64, f64) {
    let mut csv = String::from("user_id,treated,value\n");
    let (mut t, mut c) = (Vec::new(), Vec::new());
    for i in 0..400u32 {
        let treated = i % 2;
        // Deterministic, uneven values so that the two variances differ.
        let value = f64::from((i * 7919) % 101) / 10.0 + f64::from(treated) * 0.8;
        csv.push_str(&format!("{i},{treated},{value}\n"));
        if treated == 1 {
            t.push(value)
        } else {
            c.push(value)
        }
    }
    let path = project.join("ab.csv");
    std::fs::write(&path, csv).unwrap();
    let o = kura(
        project,
        "alice",
        &["load", path.to_str().unwrap(), "--into", "raw.ab"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64]| {
        let m = mean(v);
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    };
    let se = (var(&t) / t.len() as f64 + var(&c) / c.len() as f64).sqrt();
    (mean(&t) - mean(&c), se)
}

#[test]
fn experiment_design_registers_and_analyze_guards_the_end_date() {
    let tmp = tempfile::tempdir().unwrap();
    init_demo(tmp.path());
    let (effect, se) = ab_table(tmp.path());
    let sql = "SELECT treated, value FROM raw.ab";

    // Random assignment → A/B test; d = 0.5 at alpha 0.05, power 0.8 is statsmodels'
    // tt_ind_solve_power = 63.77, so 64 per group, 128 in all: 2 days at 100 units a day.
    let o = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "design",
            "checkout_button",
            "--assignment",
            "random",
            "--metric",
            "value",
            "--group",
            "treated",
            "--sd",
            "1",
            "--mde",
            "0.5",
            "--units-per-day",
            "100",
            "--analysis-sql",
            sql,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Method: ab_test"), "{out}");
    assert!(out.contains("control         64"), "{out}");
    assert!(out.contains("total           128"), "{out}");
    assert!(out.contains("test length     2 days"), "{out}");

    // The registered end is tomorrow: analysing now is refused unless it is a recorded peek.
    let early = kura(
        tmp.path(),
        "alice",
        &["experiment", "analyze", "checkout_button"],
    );
    assert_eq!(early.status.code(), Some(2), "{}", stdout(&early));
    assert!(stderr(&early).contains("p-hacking"), "{}", stderr(&early));

    let peek = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "analyze",
            "checkout_button",
            "--peek",
            "--format",
            "json",
        ],
    );
    assert!(peek.status.success(), "{}", stderr(&peek));
    let report: serde_json::Value = serde_json::from_str(stdout(&peek).trim()).unwrap();
    let estimate = &report["result"]["estimate"];
    let got_effect = estimate["effect"].as_f64().unwrap();
    let got_se = estimate["std_error"].as_f64().unwrap();
    assert!(
        (got_effect - effect).abs() < 1e-9,
        "{got_effect} vs {effect}"
    );
    assert!((got_se - se).abs() < 1e-9, "{got_se} vs {se}");

    let recorded = kura(
        tmp.path(),
        "alice",
        &[
            "sql",
            "--format",
            "csv",
            "SELECT name, peek FROM _kura.experiment_results",
        ],
    );
    assert_eq!(stdout(&recorded), "name,peek\ncheckout_button,true\n");

    // A design whose period is over is analysed without --peek; a targeting rule chosen by
    // people with a predictable outcome is a regression, which needs its spec.
    let past = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "design",
            "last_spring",
            "--assignment",
            "random",
            "--metric",
            "value",
            "--group",
            "treated",
            "--sd",
            "1",
            "--mde",
            "0.5",
            "--start",
            "2024-03-01",
            "--end",
            "2024-03-31",
            "--analysis-sql",
            sql,
        ],
    );
    assert!(past.status.success(), "{}", stderr(&past));
    let done = kura(
        tmp.path(),
        "alice",
        &["experiment", "analyze", "last_spring"],
    );
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(!stdout(&done).contains("PEEK"), "{}", stdout(&done));

    let regression = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "design",
            "by_hand",
            "--assignment",
            "by-people",
            "--outcome-predictable",
            "true",
            "--metric",
            "value",
            "--end",
            "2024-03-31",
            "--analysis-sql",
            sql,
        ],
    );
    assert_eq!(regression.status.code(), Some(2));
    assert!(
        stdout(&regression).contains("Method: regression"),
        "{}",
        stdout(&regression)
    );
    assert!(
        stderr(&regression).contains("--spec"),
        "{}",
        stderr(&regression)
    );
}

/// A CausalImpact design analysed end to end: the report in JSON, the three-panel figure as
/// SVG and PNG, and an A/B design whose method has no figure says so instead of writing one.
#[test]
fn experiment_causal_impact_reports_and_draws_its_figure() {
    let tmp = tempfile::tempdir().unwrap();
    init_demo(tmp.path());
    // 80 days: y follows x with a small deterministic wiggle; +5 from day 60.
    let mut csv = String::from("day,y,x\n");
    for t in 0..80 {
        let x = 50.0 + (t as f64 * 0.37).sin() * 3.0 + t as f64 * 0.05;
        let wiggle = ((t * 7919) % 13) as f64 * 0.05;
        let effect = if t >= 60 { 5.0 } else { 0.0 };
        csv.push_str(&format!("{t},{},{x}\n", 10.0 + 1.5 * x + wiggle + effect));
    }
    let path = tmp.path().join("series.csv");
    std::fs::write(&path, csv).unwrap();
    let o = kura(
        tmp.path(),
        "alice",
        &["load", path.to_str().unwrap(), "--into", "raw.series"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let spec = r#"{"kind":"causal_impact","response":"y","covariates":["x"],"post_start":60,
        "options":{"niter":500,"burn_fraction":0.1,"seed":3,"nseasons":null,
        "prior_level_sd":0.01,"expected_model_size":3.0,"alpha":0.05}}"#;
    let design = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "design",
            "store_campaign",
            "--assignment",
            "by-people",
            "--outcome-predictable",
            "false",
            "--targeting-predictable",
            "false",
            "--similar-trend",
            "true",
            "--metric",
            "y",
            "--analysis-sql",
            "SELECT y, x FROM raw.series ORDER BY day",
            "--spec",
            spec,
            "--start",
            "2024-01-01",
            "--end",
            "2024-03-20",
        ],
    );
    assert!(design.status.success(), "{}", stderr(&design));
    assert!(
        stdout(&design).contains("Method: causal_impact"),
        "{}",
        stdout(&design)
    );

    let figs = tmp.path().join("figs");
    let o = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "analyze",
            "store_campaign",
            "--format",
            "json",
            "--plots",
            figs.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let average = &report["result"]["average"];
    let effect = average["abs_effect"].as_f64().unwrap();
    let (lower, upper) = (
        average["abs_effect_lower"].as_f64().unwrap(),
        average["abs_effect_upper"].as_f64().unwrap(),
    );
    assert!((effect - 5.0).abs() < 1.0, "effect {effect}");
    assert!(
        lower < 5.0 && 5.0 < upper && lower > 0.0,
        "[{lower}, {upper}]"
    );
    assert!(report["result"]["p_value"].as_f64().unwrap() < 0.05);

    let svg = std::fs::read_to_string(figs.join("store_campaign.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..80.min(svg.len())]
    );
    for panel in [
        "counterfactual prediction",
        "pointwise effect",
        "cumulative effect",
    ] {
        assert!(svg.contains(panel), "the figure has no `{panel}` panel");
    }
    let png = std::fs::read(figs.join("store_campaign.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 5_000, "PNG of {} bytes", png.len());

    // The text report names the method and the relative effect.
    let text = kura(
        tmp.path(),
        "alice",
        &["experiment", "analyze", "store_campaign"],
    );
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(
        stdout(&text).contains("Relative effect"),
        "{}",
        stdout(&text)
    );

    // A method without a figure: a note, no file, and still a result.
    let (..) = ab_table(tmp.path());
    let ab = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "design",
            "banner",
            "--assignment",
            "random",
            "--metric",
            "value",
            "--sd",
            "1",
            "--mde",
            "0.5",
            "--start",
            "2024-03-01",
            "--end",
            "2024-03-31",
            "--analysis-sql",
            "SELECT treated, value FROM raw.ab",
        ],
    );
    assert!(ab.status.success(), "{}", stderr(&ab));
    let o = kura(
        tmp.path(),
        "alice",
        &[
            "experiment",
            "analyze",
            "banner",
            "--plots",
            figs.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("has no figure"), "{}", stderr(&o));
    assert!(!figs.join("banner.svg").exists());
}

#[test]
fn ga4_load_schema_and_errors_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("web");
    let o = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["--as", "alice", "init"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/ga4");
    let export = export.to_str().unwrap();

    // The demo export has one truncated line: without --max-bad-rows the load fails with
    // file, line and the fix, and writes nothing.
    let o = kura(&dir, "alice", &["ga4", "load", export]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("events_20240502.json.gz:408:"), "{err}");
    assert!(err.contains("--max-bad-rows"), "{err}");

    let o = kura(
        &dir,
        "alice",
        &["ga4", "load", export, "--max-bad-rows", "1"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("skipped") && err.contains("events_intraday_20240503"),
        "{err}"
    );
    assert!(err.contains("3809 events in 3 day(s)"), "{err}");
    assert!(err.contains("18 event(s) have no ga_session_id"), "{err}");

    // Analysts query the flat tables.
    let o = kura(
        &dir,
        "alice",
        &[
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM ga4.events",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "n\n3809");

    let o = kura(&dir, "alice", &["ga4", "schema", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let keys: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys = keys.as_array().unwrap();
    let engaged = keys
        .iter()
        .find(|k| k["key"] == "session_engaged")
        .expect("session_engaged listed");
    assert_eq!(engaged["column_type"], "STRING");
    assert!(engaged["string_values"].as_u64().unwrap() > 0);
    assert!(engaged["int_values"].as_u64().unwrap() > 0);

    // A file that is not an export is refused by name.
    let other = tmp.path().join("orders.csv");
    std::fs::write(&other, "a\n1\n").unwrap();
    let o = kura(&dir, "alice", &["ga4", "load", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a GA4 export file name"),
        "{}",
        stderr(&o)
    );
}

/// The DOM of `page` after its scripts ran, from headless Chromium (`KURA_CHROMIUM`, else
/// /usr/bin/chromium; `.ci/run` installs it). Never skipped: a missing browser fails.
fn chromium_dom(page: &Path) -> String {
    let browser = std::env::var_os("KURA_CHROMIUM")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        browser.is_file(),
        "no Chromium at {}: install it with `apt-get install -y --no-install-recommends \
         chromium`, or set KURA_CHROMIUM",
        browser.display()
    );
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run Chromium");
    let dom = stdout(&o);
    assert!(
        o.status.success() && dom.contains("</html>"),
        "Chromium failed on {}: {}",
        page.display(),
        stderr(&o)
    );
    dom
}

/// `kura docs` on the demo project, opened in a real browser: the lineage graph's script lays
/// out one node per model and source and one edge per dependency.
#[test]
fn docs_site_of_the_demo_project_renders_its_lineage_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    init_demo(&dir);
    let run = kura(&dir, "alice", &["run"]);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let site_dir = tmp.path().join("site");
    let o = kura(
        &dir,
        "alice",
        &["docs", "--out", site_dir.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let index = std::path::PathBuf::from(stdout(&o).trim());
    assert_eq!(index, site_dir.join("index.html"));

    let site: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(site_dir.join("site.json")).unwrap())
            .unwrap();
    let models = site["models"].as_array().unwrap();
    let sources = site["sources"].as_array().unwrap();
    assert!(models.len() >= 4, "{site}");
    let dependencies: usize = models
        .iter()
        .map(|m| m["depends_on"].as_array().unwrap().len())
        .sum();

    let dom = chromium_dom(&index);
    assert!(
        dom.contains("data-layout=\"done\""),
        "the layout did not finish"
    );
    let nodes = dom.matches("class=\"node\"").count();
    let edges = dom.matches("class=\"edge\"").count();
    assert_eq!(nodes, models.len() + sources.len());
    assert_eq!(edges, dependencies);
    for m in models {
        let id = m["id"].as_str().unwrap();
        assert!(
            dom.contains(&format!("data-id=\"{id}\"")),
            "{id} is not drawn"
        );
    }
}

#[test]
fn checks_run_after_models_and_alone_and_the_quality_report_shows_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    init_demo(&dir);

    // `kura run` builds the demo models and runs their checks right after.
    let run = kura(&dir, "alice", &["run"]);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    let out = stdout(&run);
    assert!(out.contains("pass  marts.orders unique(order_id)"), "{out}");
    assert!(
        out.contains("pass  marts.orders relationships(customer_id)"),
        "{out}"
    );

    // A failing error-severity check on a raw table: `kura check` exits 1 and says which.
    let checks = dir.join("models/raw/checks.toml");
    let mut text = std::fs::read_to_string(&checks).unwrap();
    text.push_str(
        "\n[[orders.checks]]\nname = \"status_is_known\"\ntype = \"accepted_values\"\n\
         column = \"status\"\nvalues = [\"shipped\", \"delivered\", \"returned\"]\n",
    );
    std::fs::write(&checks, &text).unwrap();
    let check = kura(&dir, "alice", &["check", "-s", "raw.orders"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let out = stdout(&check);
    assert!(
        out.contains("FAIL  raw.orders status_is_known: 352 of 5000 rows fail"),
        "{out}"
    );
    assert!(out.contains("pass  raw.orders not_null(order_id)"), "{out}");
    assert!(
        !out.contains("marts.orders"),
        "selected raw.orders only: {out}"
    );
    assert!(stderr(&check).contains("1 failed"), "{}", stderr(&check));

    // The report: last results, trends and the open alert (no channels configured).
    let report = kura(&dir, "alice", &["quality", "report", "--format", "json"]);
    assert!(report.status.success(), "{}", stderr(&report));
    let json: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let tables = json["tables"].as_array().unwrap();
    let raw = tables.iter().find(|t| t["table"] == "raw.orders").unwrap();
    let known = raw["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "status_is_known")
        .unwrap();
    assert_eq!(known["status"], "fail");
    assert_eq!(known["failing_count"], 352);
    assert_eq!(raw["open_alerts"].as_array().unwrap().len(), 1);
    let markdown = kura(
        &dir,
        "alice",
        &["quality", "report", "--format", "markdown"],
    );
    assert!(
        stdout(&markdown).contains("### `marts.orders`"),
        "{}",
        stdout(&markdown)
    );

    // `kura monitor`: 20 days of pings, the last three times as busy. Each day's rows fall in
    // its first 12 hours UTC, so they share one date in the project's zone (UTC+9) too.
    let today = chrono::Utc::now().date_naive();
    let mut pings = String::from("id,amount,happened_at\n");
    let mut id = 0;
    for day in 1..=20 {
        let date = today - chrono::Duration::days(day);
        let rows = if day == 1 { 300 } else { 100 };
        for i in 0..rows {
            id += 1;
            let t =
                date.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::seconds(i * 43_000 / rows);
            pings.push_str(&format!(
                "{id},{},{}Z\n",
                i % 7,
                t.format("%Y-%m-%dT%H:%M:%S")
            ));
        }
    }
    let pings_csv = dir.join("pings.csv");
    std::fs::write(&pings_csv, pings).unwrap();
    let load = kura(
        &dir,
        "alice",
        &["load", pings_csv.to_str().unwrap(), "--into", "raw.pings"],
    );
    assert!(load.status.success(), "{}", stderr(&load));
    text.push_str("\n[pings]\nmonitor = { time_column = \"happened_at\" }\n");
    std::fs::write(&checks, &text).unwrap();
    let monitor = kura(&dir, "alice", &["monitor", "-s", "raw.pings"]);
    assert!(monitor.status.success(), "{}", stderr(&monitor));
    let out = stdout(&monitor);
    assert!(out.contains("ANOM  raw.pings:"), "{out}");
    assert!(
        out.contains("raw.pings:row_count: row_count = 300 in bucket"),
        "{out}"
    );
    assert!(
        stderr(&monitor).contains("alert firing"),
        "{}",
        stderr(&monitor)
    );
    // A monitor on a column that does not exist: an error naming it, exit 1.
    let broken = text.replace(
        "time_column = \"happened_at\"",
        "time_column = \"happend_at\"",
    );
    std::fs::write(&checks, &broken).unwrap();
    let monitor = kura(&dir, "alice", &["monitor", "-s", "raw.pings"]);
    assert_eq!(monitor.status.code(), Some(1), "{}", stderr(&monitor));
    assert!(
        stdout(&monitor).contains("time column `happend_at` does not exist in `raw.pings`"),
        "{}",
        stdout(&monitor)
    );
    std::fs::write(&checks, &text).unwrap();

    // A mistyped check type is an error naming the file, with a did-you-mean.
    text.push_str("\n[[orders.checks]]\ntype = \"not_nul\"\ncolumn = \"order_id\"\n");
    std::fs::write(&checks, &text).unwrap();
    let bad = kura(&dir, "alice", &["check"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = stderr(&bad);
    assert!(err.contains("models/raw/checks.toml"), "{err}");
    assert!(err.contains("did you mean `not_null`"), "{err}");
}

/// A churn table as CSV: 600 customers, churn driven by tenure, spend and plan.
fn churn_csv(path: &Path) {
    let plans = ["basic", "plus", "pro"];
    let mut text = String::from("customer_id,tenure_months,monthly_spend,plan,churned\n");
    for i in 0..600u64 {
        let h = |salt: u64| {
            let mut x = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 31;
            x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let tenure = 1 + (h(1) * 60.0) as u64;
        let spend = 10.0 + (h(2) * 9000.0).round() / 100.0;
        let plan = plans[(h(3) * 3.0) as usize];
        let risk =
            1.5 - tenure as f64 / 20.0 + spend / 60.0 + if plan == "basic" { 0.8 } else { 0.0 };
        let churned = u8::from(risk + (h(4) - 0.5) > 1.0);
        text.push_str(&format!(
            "{},{tenure},{spend:.2},{plan},{churned}\n",
            1000 + i
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn sql_csv(dir: &Path, sql: &str) -> Vec<Vec<String>> {
    let o = kura(dir, "alice", &["sql", "--format", "csv", sql]);
    assert!(o.status.success(), "{sql}\n{}", stderr(&o));
    stdout(&o)
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn ml_imports_predicts_and_explains_into_tables_and_refuses_bad_models() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    init_demo(&dir);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kura-ml/fixtures/binary_categorical/model.txt");
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "import",
            fixture.to_str().unwrap(),
            "--name",
            "imported",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        dir.join("ml/imported/model.txt").is_file() && dir.join("ml/imported/card.json").is_file()
    );
    let again = kura(
        &dir,
        "alice",
        &[
            "ml",
            "import",
            fixture.to_str().unwrap(),
            "--name",
            "imported",
        ],
    );
    assert!(
        !again.status.success() && stderr(&again).contains("--force"),
        "{}",
        stderr(&again)
    );

    // The fixture's features are Column_0..2 (the third categorical by integer code).
    let scoring = tmp.path().join("scoring.csv");
    std::fs::write(
        &scoring,
        "id,Column_0,Column_1,Column_2\n1,0.5,-0.25,3\n2,-1.0,1.5,\n",
    )
    .unwrap();
    let o = kura(
        &dir,
        "alice",
        &["load", scoring.to_str().unwrap(), "--into", "raw.scoring"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "predict",
            "imported",
            "--table",
            "raw.scoring",
            "--into",
            "marts.scores",
            "--key",
            "id",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let figures = tmp.path().join("figures");
    let rows = sql_csv(
        &dir,
        "SELECT row_key, probability FROM marts.scores ORDER BY row_key",
    );
    assert_eq!(rows.len(), 2);
    let p: f64 = rows[0][1].parse().unwrap();
    assert!(p > 0.0 && p < 1.0, "{rows:?}");

    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "explain",
            "imported",
            "--table",
            "raw.scoring",
            "--into",
            "marts.shap",
            "--key",
            "id",
            "--plots",
            figures.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for stem in ["imported_importance", "imported_beeswarm"] {
        let svg = std::fs::read_to_string(figures.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("Column_0"), "{svg}");
        let png = std::fs::read(figures.join(format!("{stem}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    }
    assert!(
        stdout(&o).contains("expected value (raw score)"),
        "{}",
        stdout(&o)
    );
    // Additivity through the warehouse: SHAP values plus the expected value give the raw score.
    let check = sql_csv(
        &dir,
        "SELECT s.row_key, ABS(SUM(s.shap_value) + ANY_VALUE(w.expected_value) - ANY_VALUE(p.raw_score)) AS gap \
         FROM marts.shap AS s JOIN marts.shap_wide AS w ON s.row_key = w.row_key \
         JOIN marts.scores AS p ON s.row_key = p.row_key GROUP BY s.row_key ORDER BY s.row_key",
    );
    assert_eq!(check.len(), 2);
    for row in &check {
        assert!(row[1].parse::<f64>().unwrap() < 1e-9, "{check:?}");
    }
    let importance = sql_csv(
        &dir,
        "SELECT feature, mean_abs_shap FROM marts.shap_importance",
    );
    assert_eq!(importance.len(), 3);

    // Export writes a model LightGBM (and kura) can read back.
    let out = tmp.path().join("exported.txt");
    let o = kura(
        &dir,
        "alice",
        &["ml", "export", "imported", "-o", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "import",
            out.to_str().unwrap(),
            "--name",
            "round_trip",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = stdout(&kura(&dir, "alice", &["ml", "list"]));
    assert!(
        listed.contains("imported\tbinary") && listed.contains("round_trip\tbinary"),
        "{listed}"
    );

    // Bad input: a truncated model, a table without the model's features, a bad name.
    let text = std::fs::read_to_string(&fixture).unwrap();
    let truncated = tmp.path().join("truncated.txt");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "import",
            truncated.to_str().unwrap(),
            "--name",
            "broken",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("truncated.txt:") && stderr(&o).contains("hint:"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.join("ml/broken").exists());
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "predict",
            "imported",
            "--table",
            "raw.orders",
            "--into",
            "marts.x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing feature columns") && stderr(&o).contains("`Column_0`"),
        "{}",
        stderr(&o)
    );
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "predict",
            "nope",
            "--table",
            "raw.scoring",
            "--into",
            "marts.x",
        ],
    );
    assert!(
        stderr(&o).contains("no model named `nope`") && stderr(&o).contains("imported"),
        "{}",
        stderr(&o)
    );
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "import",
            fixture.to_str().unwrap(),
            "--name",
            "Bad-Name",
        ],
    );
    assert!(
        stderr(&o).contains("not a valid model name"),
        "{}",
        stderr(&o)
    );
}

#[cfg(feature = "train")]
#[test]
fn ml_trains_on_a_table_then_predicts_and_explains_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    init_demo(&dir);
    let csv = tmp.path().join("churn.csv");
    churn_csv(&csv);
    let o = kura(
        &dir,
        "alice",
        &["load", csv.to_str().unwrap(), "--into", "raw.churn"],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "train",
            "--table",
            "raw.churn",
            "--target",
            "churned",
            "--exclude",
            "customer_id",
            "--name",
            "churn",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("task: binary") && err.contains("trained `churn` (binary, 3 features"),
        "{err}"
    );
    let metrics = stdout(&o);
    let auc: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("auc\t"))
        .unwrap_or_else(|| panic!("{metrics}"))
        .parse()
        .unwrap();
    assert!(auc > 0.8, "{metrics}");
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ml/churn/card.json")).unwrap())
            .unwrap();
    assert_eq!(card["target"], "churned");
    assert_eq!(
        card["rows_train"].as_u64().unwrap() + card["rows_valid"].as_u64().unwrap(),
        600
    );
    assert_eq!(card["fingerprint"].as_str().unwrap().len(), 64);
    assert_eq!(card["features"]["features"][2]["name"], "plan");

    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "predict",
            "churn",
            "--table",
            "raw.churn",
            "--into",
            "marts.churn_scores",
            "--key",
            "customer_id",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = sql_csv(&dir, "SELECT count(*), countif(predicted_class = '1'), min(probability) >= 0, max(probability) <= 1 FROM marts.churn_scores");
    assert_eq!(rows[0][0], "600");
    assert_eq!(rows[0][2..], ["true".to_string(), "true".to_string()]);

    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "explain",
            "churn",
            "--table",
            "raw.churn",
            "--into",
            "marts.churn_shap",
            "--key",
            "customer_id",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let gap = sql_csv(
        &dir,
        "SELECT max(gap) FROM (SELECT ABS(SUM(s.shap_value) + ANY_VALUE(w.expected_value) - ANY_VALUE(p.raw_score)) AS gap \
         FROM marts.churn_shap AS s JOIN marts.churn_shap_wide AS w ON s.row_key = w.row_key \
         JOIN marts.churn_scores AS p ON s.row_key = p.row_key GROUP BY s.row_key)",
    );
    assert!(gap[0][0].parse::<f64>().unwrap() < 1e-9, "{gap:?}");
    let top = sql_csv(
        &dir,
        "SELECT feature FROM marts.churn_shap_importance ORDER BY mean_abs_shap DESC LIMIT 1",
    );
    assert_eq!(top[0][0], "tenure_months", "tenure drives churn most");

    // A single-class target is refused with the reason (auto would read one integer value as
    // a constant regression target, refused as well); nothing is registered.
    let o = kura(
        &dir,
        "alice",
        &[
            "ml",
            "train",
            "--table",
            "raw.churn",
            "--target",
            "churned",
            "--where",
            "churned = 1",
            "--task",
            "binary",
            "--name",
            "one_class",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("single class"), "{}", stderr(&o));
    assert!(!dir.join("ml/one_class").exists());
}
