//! GoogleSQL conformance corpus: every `tests/corpus/*.slt` file runs on a fresh session with the
//! kura functions and fixture tables, through the same path the engine takes:
//! `kura_sql::parse_one` → `kura_sql::rewrite_for_datafusion_with_tables` →
//! `SessionState::statement_to_plan` → execute.
//!
//! File format (a small sqllogictest):
//!
//! ```text
//! # comment
//! query [rowsort]
//! SELECT ...
//! ----
//! value value
//!
//! query error <text the error must contain>
//! SELECT ...
//!
//! query gap
//! SELECT ...   -- BigQuery's answer below; kura does not give it yet
//! ----
//! value
//! ```
//!
//! `gap` records state BigQuery's result for something kura gets wrong today: they are run and
//! counted, but do not fail the test, so the corpus records known gaps instead of hiding them.
//!
//! Values print as GoogleSQL shows them: NULL, TIMESTAMP as `2024-01-01 10:00:00+00`,
//! DATETIME as `2024-01-01T10:00:00`, NUMERIC without trailing zeros; columns are separated by
//! a single space. Expected values come from BigQuery's documented semantics.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

/// DataFusion-dialect SQL building the fixture tables, one `(dataset, table, query)` each.
const FIXTURES: &[(&str, &str, &str)] = &[
    (
        "analytics",
        "events_20240101",
        "SELECT * FROM (VALUES
          ('20240101', 1704103200000000, 'page_view', 'u1', [
             named_struct('key', 'page_location', 'value', named_struct('string_value', 'https://shop.example/home', 'int_value', CAST(NULL AS BIGINT))),
             named_struct('key', 'ga_session_id', 'value', named_struct('string_value', CAST(NULL AS VARCHAR), 'int_value', CAST(111 AS BIGINT)))]),
          ('20240101', 1704106800000000, 'purchase', 'u2', [
             named_struct('key', 'page_location', 'value', named_struct('string_value', 'https://shop.example/checkout', 'int_value', CAST(NULL AS BIGINT))),
             named_struct('key', 'ga_session_id', 'value', named_struct('string_value', CAST(NULL AS VARCHAR), 'int_value', CAST(222 AS BIGINT))),
             named_struct('key', 'value', 'value', named_struct('string_value', CAST(NULL AS VARCHAR), 'int_value', CAST(30 AS BIGINT)))])
        ) AS t(event_date, event_timestamp, event_name, user_pseudo_id, event_params)",
    ),
    (
        "analytics",
        "events_20240102",
        "SELECT * FROM (VALUES
          ('20240102', 1704189600000000, 'page_view', 'u1', [
             named_struct('key', 'page_location', 'value', named_struct('string_value', 'https://shop.example/product', 'int_value', CAST(NULL AS BIGINT))),
             named_struct('key', 'ga_session_id', 'value', named_struct('string_value', CAST(NULL AS VARCHAR), 'int_value', CAST(333 AS BIGINT)))]),
          ('20240102', 1704193200000000, 'session_start', 'u3', [
             named_struct('key', 'ga_session_id', 'value', named_struct('string_value', CAST(NULL AS VARCHAR), 'int_value', CAST(555 AS BIGINT)))])
        ) AS t(event_date, event_timestamp, event_name, user_pseudo_id, event_params)",
    ),
    (
        "analytics",
        "events_20240103",
        "SELECT * FROM (VALUES
          ('20240103', 1704276000000000, 'page_view', 'u2', [
             named_struct('key', 'page_location', 'value', named_struct('string_value', 'https://shop.example/home', 'int_value', CAST(NULL AS BIGINT))),
             named_struct('key', 'ga_session_id', 'value', named_struct('string_value', CAST(NULL AS VARCHAR), 'int_value', CAST(444 AS BIGINT)))])
        ) AS t(event_date, event_timestamp, event_name, user_pseudo_id, event_params)",
    ),
    (
        "shop",
        "orders",
        "SELECT column1 AS order_id, column2 AS customer, column3 AS amount, column4 AS quantity,
                column5 AS status, CAST(column6 AS TIMESTAMP(6) WITH TIME ZONE) AS created_at,
                CAST(column7 AS DATE) AS order_date, column8 AS tags, column9 AS payload
         FROM (VALUES
          (CAST(1 AS BIGINT), 'alice', 20.0, CAST(2 AS BIGINT), 'paid', '2024-01-31T23:30:00Z', '2024-01-31', ['new', 'promo'], '{\"coupon\": \"X1\", \"items\": [{\"sku\": \"a\", \"qty\": 2}]}'),
          (2, 'bob', 0.0, 0, 'cancelled', '2024-02-15T08:00:00Z', '2024-02-15', CAST([] AS VARCHAR[]), '{\"coupon\": null, \"items\": []}'),
          (3, 'alice', 35.5, 1, 'paid', '2024-03-01T12:00:00Z', '2024-03-01', ['promo'], '{\"items\": [{\"sku\": \"b\", \"qty\": 1}]}'),
          (4, 'carol', NULL, 3, 'paid', '2024-03-10T00:00:00Z', '2024-03-10', NULL, NULL))",
    ),
];

/// The fixture catalog as the rewrite sees it: the tables of each dataset and their columns,
/// which the engine's catalog should answer alike.
#[derive(Default)]
struct Catalog {
    /// Column names by `dataset.table`, lower-cased.
    columns: HashMap<String, Vec<String>>,
}

impl kura_sql::TableLister for Catalog {
    fn tables(&self, dataset: &str) -> Vec<String> {
        list_tables(dataset)
    }

    fn columns(&self, table: &str) -> Option<Vec<String>> {
        self.columns.get(&table.to_lowercase()).cloned()
    }
}

async fn session() -> (SessionContext, Catalog) {
    let config = SessionConfig::new()
        .with_default_catalog_and_schema("kura", "public")
        .set_str("datafusion.execution.time_zone", "UTC");
    let ctx = SessionContext::new_with_config(config);
    kura_functions::register_all(&ctx);
    let catalog = ctx.catalog("kura").expect("the default catalog exists");
    let mut described = Catalog::default();
    for (dataset, table, sql) in FIXTURES {
        if catalog.schema(dataset).is_none() {
            catalog
                .register_schema(dataset, Arc::new(MemorySchemaProvider::new()))
                .expect("register schema");
        }
        let df = ctx
            .sql(sql)
            .await
            .unwrap_or_else(|e| panic!("fixture {table}: {e}"));
        let schema = Arc::new(df.schema().as_arrow().clone());
        described.columns.insert(
            format!("{dataset}.{table}"),
            schema.fields().iter().map(|f| f.name().clone()).collect(),
        );
        let batches = df.collect().await.expect("fixture runs");
        let mem = MemTable::try_new(schema, vec![batches]).expect("fixture table");
        ctx.register_table(format!("{dataset}.{table}"), Arc::new(mem))
            .expect("register fixture");
    }
    (ctx, described)
}

fn list_tables(dataset: &str) -> Vec<String> {
    FIXTURES
        .iter()
        .filter(|(d, _, _)| *d == dataset)
        .map(|(_, t, _)| t.to_string())
        .collect()
}

/// Parses, rewrites, plans and runs one GoogleSQL statement.
async fn run(ctx: &SessionContext, catalog: &Catalog, sql: &str) -> Result<Vec<String>, String> {
    let stmt = kura_sql::parse_one(sql).map_err(|e| format!("parse: {e}"))?;
    let stmt = kura_sql::rewrite_for_datafusion_with_tables(stmt, catalog)
        .map_err(|e| format!("rewrite: {e}"))?;
    let rewritten = stmt.to_string();
    let plan = ctx
        .state()
        .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
            stmt,
        )))
        .await
        .map_err(|e| format!("plan: {e}\n  rewritten: {rewritten}"))?;
    let batches = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| format!("execute: {e}"))?
        .collect()
        .await
        .map_err(|e| format!("execute: {e}\n  rewritten: {rewritten}"))?;
    render(&batches)
}

fn render(batches: &[RecordBatch]) -> Result<Vec<String>, String> {
    let options = FormatOptions::new()
        .with_null("NULL")
        .with_timestamp_format(Some("%Y-%m-%dT%H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f+00"));
    let mut rows = Vec::new();
    for batch in batches {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Timestamp(unit, Some(_)) => datafusion::arrow::compute::cast(
                    c,
                    &DataType::Timestamp(*unit, Some("UTC".into())),
                )
                .unwrap_or_else(|_| c.clone()),
                _ => c.clone(),
            })
            .collect();
        let formatters = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for row in 0..batch.num_rows() {
            let mut line = String::new();
            for (i, f) in formatters.iter().enumerate() {
                if i > 0 {
                    line.push(' ');
                }
                let mut cell = f.value(row).to_string();
                if matches!(
                    columns[i].data_type(),
                    DataType::Decimal128(..) | DataType::Decimal256(..)
                ) && !columns[i].is_null(row)
                    && cell.contains('.')
                {
                    cell = cell.trim_end_matches('0').trim_end_matches('.').to_string();
                }
                line.push_str(&cell);
            }
            rows.push(line);
        }
    }
    Ok(rows)
}

struct Record {
    line: usize,
    gap: bool,
    sql: String,
    expect: Expect,
}

enum Expect {
    Rows { rows: Vec<String>, sort: bool },
    Error(String),
}

fn parse_file(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let header = line;
        let start = i + 1;
        i += 1;
        let mut sql = Vec::new();
        while i < lines.len() && lines[i].trim_end() != "----" && !lines[i].trim().is_empty() {
            sql.push(lines[i]);
            i += 1;
        }
        let expect = if let Some(msg) = header.strip_prefix("query error") {
            Expect::Error(msg.trim().to_string())
        } else {
            let mut rows = Vec::new();
            if i < lines.len() && lines[i].trim_end() == "----" {
                i += 1;
                while i < lines.len() && !lines[i].trim().is_empty() {
                    rows.push(lines[i].trim_end().to_string());
                    i += 1;
                }
            }
            Expect::Rows {
                rows,
                sort: header.contains("rowsort"),
            }
        };
        records.push(Record {
            line: start,
            gap: header.split_whitespace().any(|w| w == "gap"),
            sql: sql.join("\n"),
            expect,
        });
    }
    records
}

struct FileResult {
    passed: usize,
    total: usize,
    failures: String,
    gaps: String,
}

async fn run_file(path: &Path) -> FileResult {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    let (ctx, catalog) = session().await;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let records = parse_file(&text);
    let mut passed = 0;
    let mut failures = String::new();
    let mut gaps = String::new();
    for r in &records {
        let outcome = run(&ctx, &catalog, &r.sql).await;
        let ok = match (&r.expect, &outcome) {
            (Expect::Rows { rows, sort }, Ok(got)) => {
                let (mut want, mut got) = (rows.clone(), got.clone());
                if *sort {
                    want.sort();
                    got.sort();
                }
                want == got
            }
            (Expect::Error(msg), Err(e)) => e.to_lowercase().contains(&msg.to_lowercase()),
            _ => false,
        };
        if ok {
            passed += 1;
        } else {
            let got = match &outcome {
                Ok(rows) => rows.join("\n"),
                Err(e) => format!("error: {e}"),
            };
            let want = match &r.expect {
                Expect::Rows { rows, .. } => rows.join("\n"),
                Expect::Error(m) => format!("error containing {m:?}"),
            };
            let _ = writeln!(
                if r.gap { &mut gaps } else { &mut failures },
                "--- {name}:{}\n{}\n  expected:\n{}\n  got:\n{}\n",
                r.line,
                r.sql,
                want,
                got
            );
        }
    }
    FileResult {
        passed,
        total: records.len(),
        failures,
        gaps,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn googlesql_corpus() {
    // The runtime variable cargo sets for the test process, not the compile-time one: a test
    // binary reused from a shared target directory may have been built from another checkout.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    let (mut passed, mut total, mut failures, mut gaps) = (0, 0, String::new(), String::new());
    for f in &files {
        let r = run_file(f).await;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        println!("{name}: {}/{}", r.passed, r.total);
        passed += r.passed;
        total += r.total;
        failures.push_str(&r.failures);
        gaps.push_str(&r.gaps);
    }
    println!("GoogleSQL corpus: {passed}/{total} statements pass");
    if !gaps.is_empty() {
        println!("known gaps:\n{gaps}");
    }
    assert!(failures.is_empty(), "{failures}\n{passed}/{total} pass");
}
