//! Queries: access control, the query log, bytes scanned, dry runs, cost.

mod common;

use kura_engine::cost::{cost_report, CostGrouping};
use kura_engine::load::LoadRequest;
use kura_engine::{EngineError, QueryContext, TableName};

#[tokio::test(flavor = "multi_thread")]
async fn analysts_cannot_read_raw_and_the_denial_is_logged() {
    let p = common::project();
    let f = p.write("a.csv", "id\n1\n");
    p.load(&[&f], "raw.secret").await.unwrap();
    p.load(&[&f], "marts.open").await.unwrap();

    let err =
        p.wh.query("SELECT * FROM raw.secret", &QueryContext::new("bob"))
            .await
            .unwrap_err();
    match &err {
        EngineError::AccessDenied(d) => {
            assert_eq!((d.principal.as_str(), d.dataset.as_str()), ("bob", "raw"));
        }
        other => panic!("expected access denied, got {other}"),
    }
    assert_eq!(
        err.to_string(),
        "principal `bob` may not read dataset `raw`"
    );
    assert!(err.hint().unwrap().contains("group:engineers"));
    // A CTE does not hide the raw table.
    assert!(p
        .wh
        .query(
            "WITH x AS (SELECT * FROM raw.secret) SELECT * FROM x",
            &QueryContext::new("bob")
        )
        .await
        .is_err());
    // bob reads marts; a dashboard principal with no grant reads nothing.
    assert!(p
        .wh
        .query("SELECT * FROM marts.open", &QueryContext::new("bob"))
        .await
        .is_ok());
    assert!(p
        .wh
        .query("SELECT * FROM marts.open", &QueryContext::new("dashboard"))
        .await
        .is_err());

    let log = p
        .rows("SELECT principal, status FROM _kura.query_log WHERE statement_type = 'QUERY' ORDER BY start_time")
        .await;
    assert_eq!(
        log[..4],
        ["bob|denied", "bob|denied", "bob|ok", "dashboard|denied"]
    );

    // A denied write (load) is refused before reading anything, and logged.
    let req = LoadRequest::new(vec![f.clone()], TableName::parse("raw.x").unwrap());
    let err =
        p.wh.load(
            &req,
            "bob",
            std::sync::Arc::new(kura_engine::load::NoProgress),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "principal `bob` may not write dataset `raw`"
    );
    assert_eq!(
        p.rows("SELECT count(*) FROM _kura.query_log WHERE statement_type = 'LOAD' AND status = 'denied'")
            .await,
        ["1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn query_log_records_bytes_and_filtered_scans_read_less() {
    let p = common::project();
    // Ten days, one partition each, enough rows that each file is a real Parquet file.
    let mut csv = String::from("day,user_id,payload\n");
    for d in 1..=10 {
        for i in 0..2000 {
            csv.push_str(&format!(
                "2024-01-{d:02},{i},{:x}{:x}\n",
                i * 7919 + d,
                i * 104729
            ));
        }
    }
    let f = p.write("events.csv", &csv);
    let mut req = LoadRequest::new(vec![f], TableName::parse("raw.events").unwrap());
    req.partition_by = vec!["day".into()];
    p.load_with(req).await.unwrap();

    let ctx = QueryContext::new("alice").with_label("model", "events_check");
    let full =
        p.wh.query("SELECT count(*), max(payload) FROM raw.events", &ctx)
            .await
            .unwrap();
    let filtered =
        p.wh.query(
            "SELECT count(*), max(payload) FROM raw.events WHERE day = DATE '2024-01-03'",
            &ctx,
        )
        .await
        .unwrap();
    assert!(full.bytes_scanned > 0);
    assert!(
        filtered.bytes_scanned * 5 < full.bytes_scanned,
        "filtered {} vs full {}",
        filtered.bytes_scanned,
        full.bytes_scanned
    );
    let logged = p
        .rows(&format!(
            "SELECT bytes_scanned, rows_returned FROM _kura.query_log WHERE query_id IN ('{}', '{}') ORDER BY bytes_scanned",
            full.query_id, filtered.query_id
        ))
        .await;
    assert_eq!(
        logged,
        [
            format!("{}|1", filtered.bytes_scanned),
            format!("{}|1", full.bytes_scanned)
        ]
    );

    // The dry run prunes the same way, without running or logging anything.
    let before = p.rows("SELECT count(*) FROM _kura.query_log").await;
    let dry_full =
        p.wh.dry_run("SELECT max(payload) FROM raw.events", &ctx)
            .await
            .unwrap();
    let dry_filtered =
        p.wh.dry_run(
            "SELECT max(payload) FROM raw.events WHERE day = DATE '2024-01-03'",
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(dry_full.files, 10);
    assert_eq!(dry_filtered.files, 1);
    assert!(dry_filtered.bytes * 5 < dry_full.bytes);
    let after = p.rows("SELECT count(*) FROM _kura.query_log").await;
    // Only the two count queries above were added by `rows` itself.
    assert_eq!(
        after[0].parse::<u64>().unwrap(),
        before[0].parse::<u64>().unwrap() + 1
    );

    // Cost by label and table adds up to what was scanned.
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    let by_label = cost_report(&p.wh, since, CostGrouping::Label, 5)
        .await
        .unwrap();
    let label = by_label
        .rows
        .iter()
        .find(|r| r.key == "model=events_check")
        .expect("label row");
    assert_eq!(label.queries, 2);
    assert_eq!(
        label.bytes_scanned,
        full.bytes_scanned + filtered.bytes_scanned
    );
    let by_table = cost_report(&p.wh, since, CostGrouping::Table, 5)
        .await
        .unwrap();
    let t = by_table
        .rows
        .iter()
        .find(|r| r.key == "raw.events")
        .unwrap();
    assert!(t.bytes_scanned >= full.bytes_scanned + filtered.bytes_scanned);
    // The two event queries differ only in literals... no: one has a WHERE; two shapes.
    assert!(by_table.top_queries.len() >= 2);
    let expected_cost = label.bytes_scanned as f64 / 1024f64.powi(4) * 6.25;
    assert!((label.cost_usd - expected_cost).abs() < 1e-15);
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_other_than_queries_are_refused_and_errors_logged() {
    let p = common::project();
    let err =
        p.wh.query("DROP TABLE raw.x", &QueryContext::new("alice"))
            .await
            .unwrap_err();
    assert!(matches!(err, EngineError::NotAQuery { .. }), "{err}");
    let err =
        p.wh.query("SELEC 1", &QueryContext::new("alice"))
            .await
            .unwrap_err();
    assert!(err.to_string().starts_with("invalid SQL at 1:1"), "{err}");
    let err =
        p.wh.query("SELECT * FROM marts.nope", &QueryContext::new("alice"))
            .await
            .unwrap_err();
    assert!(err.to_string().contains("marts.nope"), "{err}");
    assert_eq!(
        p.rows("SELECT status, count(*) FROM _kura.query_log GROUP BY status")
            .await,
        ["error|3"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn information_schema_lists_tables() {
    let p = common::project();
    let f = p.write("a.csv", "id\n1\n");
    p.load(&[&f], "stg.one").await.unwrap();
    let rows = p
        .rows("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'stg'")
        .await;
    assert_eq!(rows, ["stg|one"]);
}

/// kura's own tables get one small file per append; every `COMPACT_EVERY` versions they are
/// merged, every `CHECKPOINT_EVERY` versions the log is checkpointed, and no row is lost or
/// doubled on the way.
#[tokio::test(flavor = "multi_thread")]
async fn system_tables_are_compacted_as_they_grow() {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    let p = common::project();
    let schema = Arc::new(Schema::new(vec![Field::new("run", DataType::Int64, false)]));
    let appends = 2 * kura_engine::COMPACT_EVERY as i64 + 10;
    for run in 0..appends {
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![run]))])
                .unwrap();
        p.wh.append_system("history", batch).await.unwrap();
    }
    let info =
        p.wh.table_info(&TableName::new("_kura", "history").unwrap())
            .await
            .unwrap()
            .unwrap();
    assert!(
        info.files <= 20,
        "{} files after {appends} appends: the small files were not merged",
        info.files
    );
    assert_eq!(info.rows, Some(appends as u64));
    // Opening the table reads the newest checkpoint and the commits after it, not every commit.
    let log = p.wh.store().root().join("_kura/history/_delta_log");
    let last: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(log.join("_last_checkpoint"))
            .expect("_kura.history has a checkpoint"),
    )
    .unwrap();
    let checkpointed = last["version"].as_u64().unwrap();
    let newest = std::fs::read_dir(&log)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json")?.parse::<u64>().ok()
        })
        .max()
        .unwrap();
    assert!(
        newest - checkpointed < kura_engine::CHECKPOINT_EVERY,
        "checkpoint at version {checkpointed}, newest commit {newest}"
    );
    let batches = p
        .wh
        .query_internal("SELECT COUNT(DISTINCT run) AS n, SUM(run) AS s FROM kura._kura.history")
        .await
        .unwrap();
    let column = |i: usize| {
        batches[0]
            .column(i)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0)
    };
    assert_eq!(column(0), appends);
    assert_eq!(column(1), (0..appends).sum::<i64>());
}

/// A folded query reads every row once, whether its pieces are read one after another (a plain
/// scan of many files) or all at once (a join, which is not read piece by piece).
#[tokio::test(flavor = "multi_thread")]
async fn folded_queries_count_every_row_once() {
    use arrow::array::{Array, Int64Array};

    let p = common::project();
    let mut expected_rows = 0u64;
    let mut expected_sum = 0i64;
    let mut joined_rows = 0u64;
    // Twelve files of 200,000 rows of near-random numbers: together above DataFusion's 10 MiB
    // threshold for cutting a scan into file ranges (smaller scans are read whole and
    // repartitioned, which is not piece by piece).
    for file in 0..12u64 {
        let mut csv = String::from("n,k\n");
        for i in 0..200_000u64 {
            let n = ((file * 200_000 + i).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 24) as i64;
            csv.push_str(&format!("{n},{}\n", n % 3));
            expected_rows += 1;
            expected_sum += n;
            joined_rows += u64::from(n % 3 != 2);
        }
        let f = p.write(&format!("part{file}.csv"), &csv);
        p.load(&[&f], "stg.events").await.unwrap();
    }
    let keys = p.write("keys.csv", "k\n0\n1\n");
    p.load(&[&keys], "stg.keys").await.unwrap();

    let fold = |sql: &'static str| {
        let wh = &p.wh;
        async move {
            let folded = match tokio::time::timeout(
                std::time::Duration::from_secs(120),
                wh.query_fold(
                    sql,
                    &QueryContext::new("alice"),
                    || (0u64, 0i64),
                    |acc: &mut (u64, i64), batch: &arrow::record_batch::RecordBatch| {
                        let n = batch
                            .column(0)
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .ok_or("n is not INT64")?;
                        acc.0 += n.len() as u64;
                        acc.1 += n.iter().flatten().sum::<i64>();
                        Ok(())
                    },
                ),
            )
            .await
            {
                Ok(folded) => folded.unwrap(),
                Err(_) => panic!("the folded query did not finish: {sql}"),
            };
            let rows: u64 = folded.partitions.iter().map(|a| a.0).sum();
            let sum: i64 = folded.partitions.iter().map(|a| a.1).sum();
            assert_eq!(rows, folded.rows, "{sql}");
            (rows, sum, folded.piece_by_piece)
        }
    };
    // The scan is cut into more pieces than there are workers (four per worker) and each
    // worker reads piece after piece.
    assert_eq!(
        fold("SELECT n FROM stg.events WHERE n >= 0").await,
        (expected_rows, expected_sum, true)
    );
    let (rows, _, piece_by_piece) =
        fold("SELECT e.n FROM stg.events e JOIN stg.keys k ON e.k = k.k").await;
    assert_eq!(rows, joined_rows);
    assert!(!piece_by_piece, "a join's pieces are read all at once");
}

#[tokio::test(flavor = "multi_thread")]
async fn vacuum_deletes_replaced_and_orphaned_files_once_they_are_old_enough() {
    use kura_engine::load::LoadMode;
    use kura_engine::vacuum::VacuumRequest;
    use std::time::{Duration, SystemTime};

    let p = common::project();
    let name = TableName::new("raw", "orders").unwrap();
    let first = p.write("a.csv", "id\n1\n2\n");
    p.load(&[&first], "raw.orders").await.unwrap();
    let dir = p.wh.store().table_dir(&name);
    let parquet_files = || -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".parquet"))
            .collect();
        files.sort();
        files
    };
    let replaced = parquet_files();
    assert_eq!(replaced.len(), 1);
    let mut replace = LoadRequest::new(vec![p.write("b.csv", "id\n3\n")], name.clone());
    replace.mode = LoadMode::Replace;
    p.load_with(replace).await.unwrap();
    // Files no version names, as a load killed before its commit leaves them: one written
    // ten days ago, one just now (as if its load were still running).
    let old_orphan = dir.join("part-00000-old-orphan.c000.snappy.parquet");
    std::fs::copy(dir.join(&replaced[0]), &old_orphan).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&old_orphan)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(10 * 86_400))
        .unwrap();
    let new_orphan = dir.join("part-00000-new-orphan.c000.snappy.parquet");
    std::fs::copy(dir.join(&replaced[0]), &new_orphan).unwrap();
    let orphan_bytes = std::fs::metadata(&old_orphan).unwrap().len();
    let alice = QueryContext::new("alice");
    let orders = |outcome: &kura_engine::vacuum::VacuumOutcome| {
        outcome
            .tables
            .iter()
            .find(|t| t.table == name)
            .map(|t| (t.files.clone(), t.bytes))
            .expect("raw.orders was vacuumed")
    };

    // The default retention (7 days): only the old orphan goes. The replaced file's removal
    // and the new orphan are recent.
    let outcome =
        p.wh.vacuum(&VacuumRequest::default(), &alice)
            .await
            .unwrap();
    assert_eq!(
        orders(&outcome),
        (
            vec!["part-00000-old-orphan.c000.snappy.parquet".to_string()],
            orphan_bytes
        )
    );
    assert!(!old_orphan.exists() && new_orphan.exists());
    assert_eq!(parquet_files().len(), 3, "{:?}", parquet_files());

    // A retention that can reach a running write needs --force.
    let short = VacuumRequest {
        tables: vec![name.clone()],
        retain: Duration::ZERO,
        ..VacuumRequest::default()
    };
    let err = p.wh.vacuum(&short, &alice).await.unwrap_err();
    assert!(err.to_string().contains("a retention of 0s"), "{err}");
    assert!(err.hint().unwrap().contains("--force"));

    // An analyst may not vacuum raw: named, it is refused; unnamed, it is skipped.
    let forced = VacuumRequest {
        force: true,
        ..short.clone()
    };
    let bob = QueryContext::new("bob");
    assert!(matches!(
        p.wh.vacuum(&forced, &bob).await,
        Err(EngineError::AccessDenied(_))
    ));
    let everything = VacuumRequest {
        tables: Vec::new(),
        ..forced.clone()
    };
    let outcome = p.wh.vacuum(&everything, &bob).await.unwrap();
    assert!(outcome.skipped.contains(&name), "{:?}", outcome.skipped);
    assert_eq!(outcome.files(), 0);
    assert_eq!(parquet_files().len(), 3);

    // A dry run lists what would go and deletes nothing.
    let dry = VacuumRequest {
        dry_run: true,
        ..forced.clone()
    };
    let listed = orders(&p.wh.vacuum(&dry, &alice).await.unwrap()).0;
    let mut expected = vec![
        replaced[0].clone(),
        "part-00000-new-orphan.c000.snappy.parquet".to_string(),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(parquet_files().len(), 3);

    // Forced with no retention: both go, the table still reads its rows, the deletions (and
    // bob's refusal) are in the query log, and a second vacuum finds nothing.
    let outcome = p.wh.vacuum(&forced, &alice).await.unwrap();
    assert_eq!(orders(&outcome).0, expected);
    assert_eq!(parquet_files().len(), 1);
    assert_eq!(p.rows("SELECT id FROM raw.orders").await, ["3"]);
    let logged = p
        .rows("SELECT principal, status, rows_returned FROM _kura.query_log WHERE statement_type = 'VACUUM' ORDER BY start_time")
        .await;
    assert_eq!(logged, ["alice|ok|1", "bob|denied|0", "alice|ok|2"]);
    let again = p.wh.vacuum(&forced, &alice).await.unwrap();
    assert_eq!(again.files(), 0, "{again:?}");
}
