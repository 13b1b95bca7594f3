//! GA4 export loads against the bundled demo export and hand-made edge cases: mixed-type
//! keys, keys that appear or widen later, intraday then daily, reloads, missing
//! ga_session_id, 30- and 31-column shards (NDJSON and Parquet), Japanese text, gzip, bad
//! lines, a file that changes while it is loaded, and agreement of the wide table with the
//! long one for every key.

use std::io::Write;
use std::path::{Path, PathBuf};

use kura_engine::{Project, QueryContext, Warehouse};
use kura_ga4::{Ga4Error, Ga4FileStatus, Ga4LoadOutcome, Ga4LoadRequest};
use serde_json::{json, Value};

struct TestProject {
    dir: tempfile::TempDir,
    wh: Warehouse,
}

fn project() -> TestProject {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kura_engine::project::config_template("test", "alice")
        .replace("analysts = []", "analysts = [\"bob\"]");
    std::fs::write(dir.path().join("kura.toml"), config).expect("write kura.toml");
    let wh = Warehouse::open(Project::open(dir.path()).expect("open project")).expect("open");
    kura_ga4::register(&wh);
    TestProject { dir, wh }
}

/// The bundled demo export, found from this crate at test run time.
fn demo_dir() -> PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    Path::new(&manifest).join("../kura/demo/ga4")
}

impl TestProject {
    async fn load(&self, paths: &[PathBuf], max_bad_rows: u64) -> Result<Ga4LoadOutcome, Ga4Error> {
        let request = Ga4LoadRequest {
            paths: paths.to_vec(),
            max_bad_rows,
            force: false,
            property: None,
        };
        kura_ga4::load(&self.wh, &request, "alice").await
    }

    async fn load_as(
        &self,
        paths: &[PathBuf],
        property: Option<&str>,
        force: bool,
    ) -> Result<Ga4LoadOutcome, Ga4Error> {
        let request = Ga4LoadRequest {
            paths: paths.to_vec(),
            max_bad_rows: 0,
            force,
            property: property.map(str::to_string),
        };
        kura_ga4::load(&self.wh, &request, "alice").await
    }

    async fn rows(&self, sql: &str) -> Vec<String> {
        self.rows_as("alice", sql)
            .await
            .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"))
    }

    async fn rows_as(&self, who: &str, sql: &str) -> Result<Vec<String>, kura_engine::EngineError> {
        let result = self.wh.query(sql, &QueryContext::new(who)).await?;
        Ok(render(&result.batches))
    }

    fn write_lines(&self, name: &str, events: &[Value]) -> PathBuf {
        let path = self.dir.path().join("export").join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let text: String = events.iter().map(|e| format!("{e}\n")).collect();
        if name.ends_with(".gz") {
            let file = std::fs::File::create(&path).expect("create");
            let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
            gz.write_all(text.as_bytes()).expect("write");
            gz.finish().expect("finish");
        } else {
            std::fs::write(&path, text).expect("write");
        }
        path
    }
}

fn render(batches: &[arrow::record_batch::RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("cast"))
            .collect();
        for r in 0..b.num_rows() {
            let row: Vec<String> = cols
                .iter()
                .map(|c| {
                    let s = arrow::array::AsArray::as_string::<i32>(c.as_ref());
                    if arrow::array::Array::is_null(s, r) {
                        "NULL".to_string()
                    } else {
                        s.value(r).to_string()
                    }
                })
                .collect();
            out.push(row.join("|"));
        }
    }
    out
}

/// A parameter as the export writes it: INT64 as a JSON string, the other fields null.
fn param(key: &str, value: Value) -> Value {
    let (s, i, d) = match &value {
        Value::String(s) => (json!(s), Value::Null, Value::Null),
        Value::Number(n) if n.is_i64() => (Value::Null, json!(n.to_string()), Value::Null),
        Value::Number(n) => (Value::Null, Value::Null, json!(n)),
        _ => (Value::Null, Value::Null, Value::Null),
    };
    json!({"key": key, "value": {"string_value": s, "int_value": i, "float_value": null, "double_value": d}})
}

/// A minimal event of day `date` (YYYYMMDD) at second `second` of the day.
fn event(date: &str, second: i64, name: &str, user: &str, params: Vec<Value>) -> Value {
    let day = chrono::NaiveDate::parse_from_str(date, "%Y%m%d").expect("date");
    let micros = day
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_micros()
        + second * 1_000_000;
    json!({
        "event_date": date,
        "event_timestamp": micros.to_string(),
        "event_name": name,
        "event_params": params,
        "user_pseudo_id": user,
        "device": {"category": "mobile", "web_info": {"browser": "Safari"}},
        "geo": {"country": "Japan", "city": "東京"},
        "platform": "WEB",
        "event_original_occurrence_timestamp": micros.to_string(),
    })
}

fn loaded_rows(outcome: &Ga4LoadOutcome) -> Vec<(String, u64, u64)> {
    outcome
        .files
        .iter()
        .filter_map(|f| match f.status {
            Ga4FileStatus::Loaded { rows, rejected } => Some((
                f.path.file_name()?.to_string_lossy().into_owned(),
                rows,
                rejected,
            )),
            Ga4FileStatus::Skipped { .. } => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_export_loads_flattens_and_agrees_with_the_long_table() {
    let p = project();
    let out = p.load(&[demo_dir()], 5).await.expect("load");
    assert_eq!(out.events, 1365 + 1018 + 1426);
    assert_eq!(out.rejected, 1);
    // The intraday file of 2024-05-03 is superseded by the daily file in the same load.
    let skipped: Vec<_> = out
        .files
        .iter()
        .filter(|f| matches!(f.status, Ga4FileStatus::Skipped { .. }))
        .collect();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]
        .path
        .ends_with("events_intraday_20240503.json.gz"));

    // The bad line is kept with file, line and reason.
    let rejected = p
        .rows("SELECT file, line, reason FROM raw.ga4_events__rejected")
        .await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0].contains("events_20240502.json.gz|408|"),
        "{rejected:?}"
    );

    assert_eq!(
        p.rows("SELECT event_date, count(*) FROM ga4.events GROUP BY 1 ORDER BY 1")
            .await,
        ["2024-05-01|1365", "2024-05-02|1018", "2024-05-03|1426"]
    );
    // Mixed types: session_engaged as "1" and as 1 both read "1"; ints with doubles are
    // FLOAT64; an int key that turns to text on day 3 is STRING, as written.
    let types = p
        .rows(
            "SELECT column_name, data_type FROM information_schema.columns
             WHERE table_schema = 'ga4' AND table_name = 'events'
               AND column_name IN ('param_session_engaged', 'param_percent_scrolled',
                                   'param_plan_id', 'param_ga_session_id', 'param_value')
             ORDER BY column_name",
        )
        .await;
    assert_eq!(
        types,
        [
            "param_ga_session_id|Int64",
            "param_percent_scrolled|Float64",
            "param_plan_id|Utf8View",
            "param_session_engaged|Utf8View",
            "param_value|Float64"
        ]
    );
    assert_eq!(
        p.rows(
            "SELECT DISTINCT param_session_engaged FROM ga4.events
             WHERE param_session_engaged IS NOT NULL"
        )
        .await,
        ["1"]
    );
    assert_eq!(
        p.rows(
            "SELECT count(*) FROM ga4.event_params
             WHERE key = 'session_engaged' AND value_field = 'int'"
        )
        .await
        .len(),
        1
    );
    let plan_ids = p
        .rows("SELECT DISTINCT param_plan_id FROM ga4.events WHERE param_plan_id IS NOT NULL ORDER BY 1")
        .await;
    assert!(plan_ids.iter().any(|v| v == "PRO-2"), "{plan_ids:?}");
    assert!(
        plan_ids
            .iter()
            .any(|v| v.chars().all(|c| c.is_ascii_digit())),
        "{plan_ids:?}"
    );

    // Sanitised and colliding names; Japanese keys and text survive.
    let names = p
        .rows(
            "SELECT column_name FROM information_schema.columns
             WHERE table_schema = 'ga4' AND table_name = 'events'
               AND (column_name LIKE 'param_page_type%' OR column_name LIKE 'param_ページ%')
             ORDER BY column_name",
        )
        .await;
    assert_eq!(
        names,
        ["param_page_type", "param_page_type_2", "param_ページ種別"]
    );
    assert!(
        p.rows("SELECT count(*) FROM ga4.events WHERE param_page_title LIKE '%茶屋%' AND geo_city = '東京'")
            .await[0]
            != "0"
    );

    // Day 1 is a 30-column shard: its events have no original occurrence timestamp.
    assert_eq!(
        p.rows(
            "SELECT event_date, count(event_original_occurrence_timestamp) FROM ga4.events
             GROUP BY 1 ORDER BY 1"
        )
        .await,
        ["2024-05-01|0", "2024-05-02|37", "2024-05-03|49"]
    );
    // The unknown top-level field is kept.
    assert_eq!(
        p.rows(
            "SELECT count(*) FROM ga4.events
             WHERE json_value(unknown_fields, '$.new_field_2025.flag') = 'true'"
        )
        .await,
        ["70"]
    );
    // One row per item, with item_params as columns from the day they appear.
    assert_eq!(
        p.rows("SELECT count(*) FROM ga4.items").await,
        p.rows("SELECT SUM(ARRAY_LENGTH(items)) FROM raw.ga4_events")
            .await
    );
    assert_eq!(
        p.rows("SELECT event_date, count(param_origin) > 0 FROM ga4.items GROUP BY 1 ORDER BY 1")
            .await,
        ["2024-05-01|false", "2024-05-02|true", "2024-05-03|true"]
    );
    assert_eq!(
        p.rows("SELECT count(*) FROM ga4.user_properties").await,
        p.rows("SELECT SUM(ARRAY_LENGTH(user_properties)) FROM raw.ga4_events")
            .await
    );
    // Events without ga_session_id are reported and belong to no session.
    assert_eq!(out.events_without_session, 18);
    assert_eq!(
        p.rows("SELECT count(*), count(DISTINCT session_key) FROM ga4.sessions")
            .await,
        [format!("{}|{}", out.sessions, out.sessions)]
    );
    assert_eq!(
        p.rows("SELECT sum(events) FROM ga4.sessions").await,
        [(3809 - 18).to_string()]
    );

    // Every key of the wide table agrees with the long table, value by value.
    let columns = p
        .rows(
            "SELECT key, column_name, column_type FROM _kura.ga4_columns
             WHERE scope = 'event_params' ORDER BY position",
        )
        .await;
    assert!(columns.len() > 20, "{columns:?}");
    for line in &columns {
        let parts: Vec<&str> = line.split('|').collect();
        let (key, column, ty) = (parts[0], parts[1], parts[2]);
        let long_value = match ty {
            "INT64" => "CAST(p.value AS BIGINT)",
            "FLOAT64" => "CAST(p.value AS DOUBLE)",
            _ => "p.value",
        };
        let sql = format!(
            "SELECT
               (SELECT count(*) FROM ga4.events WHERE `{column}` IS NOT NULL) AS wide,
               (SELECT count(*) FROM ga4.event_params WHERE key = '{key}' AND value IS NOT NULL) AS long,
               (SELECT count(*) FROM ga4.events e JOIN ga4.event_params p
                  ON p.event_id = e.event_id AND p.key = '{key}'
                WHERE e.`{column}` IS DISTINCT FROM {long_value}) AS differ"
        );
        let got = p.rows(&sql).await;
        let cells: Vec<&str> = got[0].split('|').collect();
        assert_eq!(cells[0], cells[1], "non-null count of {key} ({column})");
        assert_eq!(
            cells[2], "0",
            "values of {key} ({column}) differ from the long table"
        );
    }

    // Analysts read the flat tables, not the raw export.
    assert!(p
        .rows_as("bob", "SELECT count(*) FROM ga4.events")
        .await
        .is_ok());
    assert!(p
        .rows_as("bob", "SELECT count(*) FROM raw.ga4_events")
        .await
        .is_err());

    // The key report knows every key, and flags the keys whose values came in more than one
    // type, though every day was loaded at once: across days (with the day of the change) or
    // within each day.
    let report = kura_ga4::key_report(&p.wh).await.expect("report");
    let search = report
        .iter()
        .find(|r| r.key == "search_term")
        .expect("search_term");
    assert_eq!(search.first_seen.to_string(), "2024-05-03");
    let changed: Vec<String> = report
        .iter()
        .filter(|r| r.type_changed)
        .map(|r| {
            format!(
                "{} {} {:?} {:?}",
                r.key,
                r.column_type,
                r.type_changed_from,
                r.type_changed_on.map(|d| d.to_string())
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            "percent_scrolled FLOAT64 Some(\"INT64\") Some(\"2024-05-02\")",
            "plan_id STRING Some(\"INT64\") Some(\"2024-05-03\")",
            "session_engaged STRING None None",
        ]
    );
    // `page-type` (from day 1) was seen before `Page Type` (from day 2).
    assert_eq!(
        p.rows("SELECT count(param_page_type), count(param_page_type_2) FROM ga4.events WHERE event_date = DATE '2024-05-01'")
            .await,
        [p.rows("SELECT count(param_page_type), 0 FROM ga4.events WHERE event_date = DATE '2024-05-01'").await[0].clone()]
    );

    // The table function gives the same wide rows straight from the raw table.
    assert_eq!(
        p.rows(
            "SELECT count(*), count(param_page_location), sum(param_engagement_time_msec),
                    count(DISTINCT param_session_engaged), count(user_membership_tier)
             FROM ga4_flatten('raw.ga4_events')"
        )
        .await,
        p.rows(
            "SELECT count(*), count(param_page_location), sum(param_engagement_time_msec),
                    count(DISTINCT param_session_engaged), count(user_membership_tier)
             FROM ga4.events"
        )
        .await
    );
    // ... and reads the raw table, so analysts may not use it.
    assert!(p
        .rows_as("bob", "SELECT count(*) FROM ga4_flatten('raw.ga4_events')")
        .await
        .is_err());

    // Loading the same export again changes nothing.
    let again = p.load(&[demo_dir()], 5).await.expect("reload");
    assert!(again.days.is_empty(), "{:?}", again.days);
    assert_eq!(
        p.rows("SELECT count(*) FROM raw.ga4_events").await,
        ["3809"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn intraday_then_daily_then_reloaded_day() {
    let p = project();
    let day: Vec<Value> = (0..10)
        .map(|i| {
            event(
                "20240601",
                i * 60,
                "page_view",
                &format!("u{}", i % 3),
                vec![
                    param("ga_session_id", json!(100 + i % 3)),
                    param("page_location", json!(format!("/p{i}"))),
                ],
            )
        })
        .collect();
    let intraday = p.write_lines("events_intraday_20240601.json", &day[..4]);
    let out = p
        .load(std::slice::from_ref(&intraday), 0)
        .await
        .expect("intraday");
    assert_eq!(out.events, 4);
    assert_eq!(p.rows("SELECT count(*) FROM ga4.events").await, ["4"]);

    let daily = p.write_lines("events_20240601.json.gz", &day);
    let out = p
        .load(std::slice::from_ref(&daily), 0)
        .await
        .expect("daily");
    assert_eq!(
        loaded_rows(&out),
        [("events_20240601.json.gz".to_string(), 10, 0)]
    );
    // The intraday rows are replaced: no duplicates, nothing missing.
    assert_eq!(
        p.rows("SELECT count(*), count(DISTINCT event_timestamp) FROM ga4.events")
            .await,
        ["10|10"]
    );
    assert_eq!(
        p.rows("SELECT count(*) FROM raw.ga4_events WHERE _export_kind = 'intraday'")
            .await,
        ["0"]
    );
    assert_eq!(
        p.rows("SELECT count(*) FROM ga4.event_params").await,
        ["20"]
    );

    // An intraday file arriving after the daily one is refused for that day.
    let out = p.load(&[intraday], 0).await.expect("late intraday");
    assert!(out.days.is_empty());
    assert!(
        matches!(&out.files[0].status, Ga4FileStatus::Skipped { reason } if reason.contains("daily"))
    );
    assert_eq!(p.rows("SELECT count(*) FROM ga4.events").await, ["10"]);

    // GA4 rewrites a daily table for up to 72 hours: a changed daily file replaces the day.
    let mut revised = day.clone();
    revised.truncate(8);
    revised.push(event(
        "20240601",
        9999,
        "purchase",
        "u1",
        vec![param("ga_session_id", json!(101))],
    ));
    let daily = p.write_lines("events_20240601.json.gz", &revised);
    let out = p
        .load(std::slice::from_ref(&daily), 0)
        .await
        .expect("revised daily");
    assert_eq!(out.days.len(), 1);
    assert_eq!(p.rows("SELECT count(*) FROM raw.ga4_events").await, ["9"]);
    assert_eq!(
        p.rows("SELECT event_name, count(*) FROM ga4.events GROUP BY 1 ORDER BY 1")
            .await,
        ["page_view|8", "purchase|1"]
    );
    // The same file again is skipped.
    let out = p.load(&[daily], 0).await.expect("same daily");
    assert!(out.days.is_empty());

    // Each replaced day left its files on disk for the earlier versions; a vacuum (here with
    // no retention) deletes them from the partitioned tables and the answers stay the same.
    let forced = kura_engine::vacuum::VacuumRequest {
        retain: std::time::Duration::ZERO,
        force: true,
        ..Default::default()
    };
    let outcome =
        p.wh.vacuum(&forced, &QueryContext::new("alice"))
            .await
            .expect("vacuum");
    let warehouse = p.dir.path().join(".kura/warehouse");
    for table in [
        "raw.ga4_events",
        "ga4.events",
        "ga4.event_params",
        "ga4.sessions",
    ] {
        let name = kura_engine::TableName::parse(table).expect("name");
        let info = p.wh.table_info(&name).await.expect("info").expect("table");
        let dir = warehouse.join(&name.dataset).join(&name.table);
        assert_eq!(parquet_files(&dir).len() as u64, info.files, "{table}");
        assert!(
            outcome
                .tables
                .iter()
                .any(|t| t.table == name && t.files.len() >= 2),
            "{table} lost fewer than two files: {outcome:?}"
        );
    }
    assert_eq!(p.rows("SELECT count(*) FROM raw.ga4_events").await, ["9"]);
    assert_eq!(
        p.rows("SELECT event_name, count(*) FROM ga4.events GROUP BY 1 ORDER BY 1")
            .await,
        ["page_view|8", "purchase|1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn new_keys_add_columns_and_types_widen_on_later_loads() {
    let p = project();
    let d1 = p.write_lines(
        "events_20240701.json",
        &[event(
            "20240701",
            1,
            "page_view",
            "u1",
            vec![param("ga_session_id", json!(1)), param("level", json!(5))],
        )],
    );
    p.load(&[d1], 0).await.expect("day 1");
    let d2 = p.write_lines(
        "events_20240702.json",
        &[event(
            "20240702",
            1,
            "page_view",
            "u1",
            vec![
                param("ga_session_id", json!(2)),
                param("level", json!(7)),
                param("coupon", json!("SPRING")),
            ],
        )],
    );
    let out = p.load(&[d2], 0).await.expect("day 2");
    let added: Vec<&str> = out.new_columns.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(added, ["param_coupon"]);
    assert!(out.widened.is_empty());
    // Old rows read NULL for the new column.
    assert_eq!(
        p.rows("SELECT event_date, param_coupon, param_level FROM ga4.events ORDER BY 1")
            .await,
        ["2024-07-01|NULL|5", "2024-07-02|SPRING|7"]
    );

    // Day 3 sends `level` as text: the column widens to STRING for every day, as written.
    let d3 = p.write_lines(
        "events_20240703.json",
        &[event(
            "20240703",
            1,
            "page_view",
            "u1",
            vec![
                param("ga_session_id", json!(3)),
                param("level", json!("max")),
            ],
        )],
    );
    let out = p.load(&[d3], 0).await.expect("day 3");
    assert_eq!(out.widened.len(), 1);
    assert_eq!(out.widened[0].column, "param_level");
    assert_eq!(
        p.rows("SELECT event_date, param_level FROM ga4.events ORDER BY 1")
            .await,
        ["2024-07-01|5", "2024-07-02|7", "2024-07-03|max"]
    );
    let report = kura_ga4::key_report(&p.wh).await.expect("report");
    let level = report.iter().find(|r| r.key == "level").expect("level");
    assert_eq!(level.column_type, "STRING");
    assert_eq!(level.type_changed_from, Some("INT64"));
    assert_eq!((level.int_values, level.string_values), (2, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_lines_fail_the_load_with_file_and_line_unless_allowed() {
    let p = project();
    let path = p.dir.path().join("export/events_20240801.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let good = event(
        "20240801",
        1,
        "page_view",
        "u1",
        vec![param("ga_session_id", json!(1))],
    );
    let other_day = event("20240802", 1, "page_view", "u1", vec![]);
    std::fs::write(
        &path,
        format!("{good}\n{{\"event_date\": \"2024\n{other_day}\n"),
    )
    .expect("write");
    let err = p
        .load(std::slice::from_ref(&path), 0)
        .await
        .expect_err("bad line");
    let message = err.to_string();
    assert!(message.contains("events_20240801.json:2:"), "{message}");
    assert!(message.contains("--max-bad-rows"), "{message}");
    assert!(!p
        .wh
        .store()
        .exists(&kura_engine::TableName::parse("raw.ga4_events").expect("name")));

    let out = p
        .load(std::slice::from_ref(&path), 2)
        .await
        .expect("allowed");
    assert_eq!((out.events, out.rejected), (1, 2));
    let reasons = p
        .rows("SELECT line, reason FROM raw.ga4_events__rejected ORDER BY line")
        .await;
    assert!(
        reasons[0].starts_with("2|invalid JSON, the line ends early: EOF while parsing a string"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("3|event_date `20240802`"),
        "{reasons:?}"
    );

    // A forced reload replaces the file's rejected lines with its own, as it does its rows.
    let request = Ga4LoadRequest {
        paths: vec![path],
        max_bad_rows: 2,
        force: true,
        property: None,
    };
    kura_ga4::load(&p.wh, &request, "alice")
        .await
        .expect("forced");
    assert_eq!(
        p.rows("SELECT count(*), count(DISTINCT load_id) FROM raw.ga4_events__rejected")
            .await,
        ["2|1"]
    );
    assert_eq!(p.rows("SELECT count(*) FROM raw.ga4_events").await, ["1"]);

    // A JSON file named like an export that holds something else is refused line by line.
    let orders = p.dir.path().join("export/events_20240805.json");
    std::fs::write(&orders, "{\"event_date\": \"20240805\", \"order_id\": 7}\n").expect("write");
    let err = p.load(&[orders], 0).await.expect_err("not an export");
    let message = err.to_string();
    assert!(message.contains("events_20240805.json:1:"), "{message}");
    assert!(message.contains("no event_name"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn parquet_shards_with_30_and_31_columns_load_by_name() {
    use arrow::datatypes::Schema;
    let p = project();
    let export = kura_ga4::schema::export_schema();
    // A 30-column shard: the export schema without event_original_occurrence_timestamp,
    // with its columns in another order, as an older export writes it.
    let mut fields: Vec<_> = export
        .fields()
        .iter()
        .filter(|f| f.name() != "event_original_occurrence_timestamp")
        .cloned()
        .collect();
    fields.reverse();
    let older = std::sync::Arc::new(Schema::new(fields));
    let lines: Vec<Value> = (0..3)
        .map(|i| {
            event(
                "20240901",
                i,
                "page_view",
                "u1",
                vec![param("ga_session_id", json!(9)), param("ratio", json!(0.5))],
            )
        })
        .collect();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut decoder = arrow::json::ReaderBuilder::new(older.clone())
        .build_decoder()
        .expect("decoder");
    decoder.decode(text.as_bytes()).expect("decode");
    let batch = decoder.flush().expect("flush").expect("rows");
    assert_eq!(batch.num_columns(), 30);
    let dir = p.dir.path().join("pq");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("events_20240901.parquet");
    let file = std::fs::File::create(&path).expect("create");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, older, None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    // And a 31-column NDJSON shard of the next day.
    let next = p.write_lines(
        "events_20240902.json.gz",
        &[event(
            "20240902",
            5,
            "scroll",
            "u1",
            vec![param("ga_session_id", json!(9)), param("ratio", json!(1))],
        )],
    );
    let out = p.load(&[path, next], 0).await.expect("load");
    assert_eq!(out.events, 4);
    assert_eq!(
        p.rows(
            "SELECT event_date, count(*), count(event_original_occurrence_timestamp), sum(param_ratio)
             FROM ga4.events GROUP BY 1 ORDER BY 1"
        )
        .await,
        ["2024-09-01|3|0|1.5", "2024-09-02|1|1|1.0"]
    );
    assert_eq!(
        p.rows(
            "SELECT DISTINCT device_category, device_web_info_browser, geo_city FROM ga4.events"
        )
        .await,
        ["mobile|Safari|東京"]
    );
}

/// The `event_date` partitions each commit of a Delta table added files to, in version order.
/// The days of the files each commit of a table adds, one entry per file.
fn days_per_commit(table_dir: &Path) -> Vec<Vec<String>> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(table_dir.join("_delta_log"))
        .expect("delta log")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    logs.sort();
    logs.iter()
        .map(|log| {
            let mut days: Vec<String> = std::fs::read_to_string(log)
                .expect("read commit")
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter_map(|action| {
                    action["add"]["partitionValues"]["event_date"]
                        .as_str()
                        .map(str::to_string)
                })
                .collect();
            days.sort();
            days
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn many_days_are_written_in_one_commit_and_rebuilt_whole() {
    let p = project();
    let files: Vec<PathBuf> = (1..=5)
        .map(|day| {
            let date = format!("2024060{day}");
            let events: Vec<Value> = (0..day)
                .map(|i| {
                    event(
                        &date,
                        i,
                        "page_view",
                        "u1",
                        vec![param("ga_session_id", json!(day)), param("n", json!(i))],
                    )
                })
                .collect();
            p.write_lines(&format!("events_{date}.json"), &events)
        })
        .collect();
    let out = p.load(&files, 0).await.expect("load");
    assert_eq!(out.events, 1 + 2 + 3 + 4 + 5);
    let counts = "SELECT event_date, count(*), sum(param_n) FROM ga4.events GROUP BY 1 ORDER BY 1";
    let expected = [
        "2024-06-01|1|0",
        "2024-06-02|2|1",
        "2024-06-03|3|3",
        "2024-06-04|4|6",
        "2024-06-05|5|10",
    ];
    assert_eq!(p.rows(counts).await, expected);
    // Every day in one commit, each day's rows in one file: a day's file is closed before
    // the writer moves on, so two writers never split a day.
    let all_days: Vec<String> = (1..=5).map(|d| format!("2024-06-0{d}")).collect();
    let warehouse = p.dir.path().join(".kura/warehouse");
    for table in ["ga4/events", "ga4/event_params"] {
        let commits = days_per_commit(&warehouse.join(table));
        assert_eq!(commits, std::slice::from_ref(&all_days), "{table}");
    }
    let raw = days_per_commit(&warehouse.join("raw/ga4_events"));
    assert_eq!(
        raw,
        [all_days
            .iter()
            .map(|d| d.replace('-', ""))
            .collect::<Vec<_>>()]
    );

    // A rebuild replaces every day in one commit, and loses none.
    kura_ga4::rebuild(&p.wh, "alice").await.expect("rebuild");
    assert_eq!(p.rows(counts).await, expected);
    let commits = days_per_commit(&warehouse.join("ga4/events"));
    assert_eq!(commits.len(), 2);
    assert_eq!(commits[1], all_days);
    assert_eq!(
        p.rows("SELECT count(*) FROM ga4.event_params WHERE event_date >= DATE '2024-06-01'")
            .await,
        ["30"]
    );
}

/// `ga4.sessions` and `ga4.pages` after a load, and the same tables recomputed whole by
/// `kura ga4 rebuild`: the update of the loaded days must give what a full recompute gives.
async fn assert_derived_as_rebuilt(p: &TestProject, step: &str) -> Vec<String> {
    let sessions = "SELECT * FROM ga4.sessions ORDER BY session_key";
    let pages = "SELECT * FROM ga4.pages ORDER BY event_date, page_location";
    let (updated, updated_pages) = (p.rows(sessions).await, p.rows(pages).await);
    kura_ga4::rebuild(&p.wh, "alice").await.expect("rebuild");
    assert_eq!(updated, p.rows(sessions).await, "sessions after {step}");
    assert_eq!(updated_pages, p.rows(pages).await, "pages after {step}");
    p.rows(
        "SELECT session_key, session_date, session_end_date, events, purchases FROM ga4.sessions
         ORDER BY session_key",
    )
    .await
}

fn session_event(date: &str, second: i64, name: &str, user: &str, session: i64) -> Value {
    event(
        date,
        second,
        name,
        user,
        vec![
            param("ga_session_id", json!(session)),
            param("page_location", json!(format!("/{name}"))),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_and_pages_are_updated_for_the_loaded_days_only() {
    let p = project();
    let day1 = vec![
        session_event("20240601", 86_100, "page_view", "u1", 1),
        session_event("20240601", 86_200, "page_view", "u1", 1),
        session_event("20240601", 36_000, "page_view", "u2", 2),
        session_event("20240601", 43_200, "page_view", "u3", 3),
    ];
    let file = p.write_lines("events_20240601.json", &day1);
    p.load(&[file], 0).await.expect("day 1");
    assert_eq!(
        assert_derived_as_rebuilt(&p, "day 1").await,
        [
            "u1.1|2024-06-01|2024-06-01|2|0",
            "u2.2|2024-06-01|2024-06-01|1|0",
            "u3.3|2024-06-01|2024-06-01|1|0",
        ]
    );

    // Day 3's intraday file holds a session the daily file will not have.
    let intraday = p.write_lines(
        "events_intraday_20240603.json",
        &[
            session_event("20240603", 100, "page_view", "u5", 5),
            session_event("20240603", 200, "page_view", "u6", 6),
        ],
    );
    p.load(&[intraday], 0).await.expect("day 3 intraday");
    assert_derived_as_rebuilt(&p, "day 3 intraday").await;

    // Day 2 continues u1's session across midnight: it keeps its first day as its partition.
    let day2 = p.write_lines(
        "events_20240602.json",
        &[
            session_event("20240602", 300, "purchase", "u1", 1),
            session_event("20240602", 500, "page_view", "u4", 4),
        ],
    );
    p.load(&[day2], 0).await.expect("day 2");
    let daily3 = p.write_lines(
        "events_20240603.json",
        &[session_event("20240603", 100, "page_view", "u5", 5)],
    );
    p.load(&[daily3], 0).await.expect("day 3 daily");
    assert_eq!(
        assert_derived_as_rebuilt(&p, "days 2 and 3").await,
        [
            "u1.1|2024-06-01|2024-06-02|3|1",
            "u2.2|2024-06-01|2024-06-01|1|0",
            "u3.3|2024-06-01|2024-06-01|1|0",
            "u4.4|2024-06-02|2024-06-02|1|0",
            "u5.5|2024-06-03|2024-06-03|1|0",
        ]
    );

    // Day 1 revised: u2's session is gone, u1's has one event less on day 1 and keeps its
    // day 2 purchase, which the update reads from the day its stored span reaches.
    let revised = p.write_lines("events_20240601.json", &[day1[1].clone(), day1[3].clone()]);
    let out = p.load(&[revised], 0).await.expect("day 1 revised");
    assert_eq!(out.days.len(), 1);
    assert_eq!(
        assert_derived_as_rebuilt(&p, "day 1 revised").await,
        [
            "u1.1|2024-06-01|2024-06-02|2|1",
            "u3.3|2024-06-01|2024-06-01|1|0",
            "u4.4|2024-06-02|2024-06-02|1|0",
            "u5.5|2024-06-03|2024-06-03|1|0",
        ]
    );
    assert_eq!(
        p.rows("SELECT event_date, page_location, page_views FROM ga4.pages ORDER BY 1, 2")
            .await,
        [
            "2024-06-01|/page_view|2",
            "2024-06-02|/page_view|1",
            "2024-06-03|/page_view|1",
        ]
    );

    // Tables of an older layout (unpartitioned, no session_end_date) are recomputed whole
    // on the next load.
    for (table, sql) in [
        ("sessions", "SELECT session_key, events FROM ga4.sessions"),
        ("pages", "SELECT page_location FROM ga4.pages"),
    ] {
        let old =
            p.wh.query(sql, &QueryContext::new("alice"))
                .await
                .expect(sql);
        let name = kura_engine::TableName::new("ga4", table).expect("name");
        p.wh.store()
            .open_or_new(&name)
            .await
            .expect("open")
            .write(old.batches)
            .with_save_mode(deltalake::protocol::SaveMode::Overwrite)
            .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite)
            .with_partition_columns(std::iter::empty::<String>())
            .await
            .expect("write the old layout");
    }
    let day4 = p.write_lines(
        "events_20240604.json",
        &[session_event("20240604", 100, "page_view", "u7", 7)],
    );
    p.load(&[day4], 0).await.expect("day 4");
    assert_eq!(
        assert_derived_as_rebuilt(&p, "day 4 over the old layout").await,
        [
            "u1.1|2024-06-01|2024-06-02|2|1",
            "u3.3|2024-06-01|2024-06-01|1|0",
            "u4.4|2024-06-02|2024-06-02|1|0",
            "u5.5|2024-06-03|2024-06-03|1|0",
            "u7.7|2024-06-04|2024-06-04|1|0",
        ]
    );
}

/// Every row of `table` as `column=value` pairs in column order by name, the rows sorted: the
/// same rows compare equal whatever order the columns were added in.
async fn table_rows(p: &TestProject, table: &str) -> Vec<String> {
    let result =
        p.wh.query(
            &format!("SELECT * FROM {table}"),
            &QueryContext::new("alice"),
        )
        .await
        .unwrap_or_else(|e| panic!("query {table}: {e}"));
    let mut rows = Vec::new();
    for b in &result.batches {
        let mut names: Vec<(String, usize)> = b
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().clone(), i))
            .collect();
        names.sort();
        let rendered = render(std::slice::from_ref(b));
        for line in rendered {
            let values: Vec<&str> = line.split('|').collect();
            let row: Vec<String> = names
                .iter()
                .map(|(name, i)| format!("{name}={}", values.get(*i).copied().unwrap_or("?")))
                .collect();
            rows.push(row.join("|"));
        }
    }
    rows.sort();
    rows
}

const FLAT_TABLES: [&str; 4] = [
    "ga4.events",
    "ga4.event_params",
    "ga4.user_properties",
    "ga4.items",
];

/// The flat tables as a load wrote them equal the same tables rebuilt from the raw table.
async fn assert_flat_as_rebuilt(p: &TestProject, step: &str) {
    let mut loaded = Vec::new();
    for table in FLAT_TABLES {
        loaded.push(table_rows(p, table).await);
    }
    kura_ga4::rebuild(&p.wh, "alice").await.expect("rebuild");
    for (table, rows) in FLAT_TABLES.iter().zip(loaded) {
        assert!(!rows.is_empty(), "{table} after {step} is empty");
        assert_eq!(rows, table_rows(p, table).await, "{table} after {step}");
    }
}

/// The Parquet files under `dir`, in any partition directory.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// The Parquet files under `dir` that no commit of its Delta table ever added: files a
/// failed or abandoned write left behind.
fn unreferenced_files(dir: &Path) -> Vec<String> {
    let mut tables = Vec::new();
    for dataset in ["raw", "ga4"] {
        for entry in std::fs::read_dir(dir.join(dataset))
            .into_iter()
            .flatten()
            .flatten()
        {
            tables.push(entry.path());
        }
    }
    let mut unreferenced = Vec::new();
    for table in tables {
        let mut added = std::collections::BTreeSet::new();
        for log in std::fs::read_dir(table.join("_delta_log"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            for action in text
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            {
                if let Some(path) = action["add"]["path"].as_str() {
                    added.insert(table.join(path.replace("%20", " ")));
                }
            }
        }
        for f in parquet_files(&table) {
            let decoded = PathBuf::from(f.to_string_lossy().replace("%20", " "));
            if !added.contains(&f) && !added.contains(&decoded) {
                unreferenced.push(f.display().to_string());
            }
        }
    }
    unreferenced
}

fn shop_event(date: &str, second: i64, user: &str, params: Vec<Value>) -> Value {
    let mut e = event(date, second, "purchase", user, params);
    e["user_properties"] = json!([
        {"key": "tier", "value": {"string_value": "金", "set_timestamp_micros": "1717200000000000"}},
        {"key": "orders", "value": {"int_value": second.to_string()}}
    ]);
    e["items"] = json!([
        {"item_id": "SKU1", "item_name": "抹茶", "price": 10.5, "quantity": "2",
         "item_params": [param("color", json!("green"))]},
        {"item_id": "SKU2", "item_name": "ほうじ茶", "price": 4.0, "quantity": "1",
         "item_params": [param("grams", json!(second))]}
    ]);
    e
}

#[tokio::test(flavor = "multi_thread")]
async fn flat_tables_are_written_during_the_load_unless_a_type_widens_on_the_way() {
    let p = project();
    let warehouse = p.dir.path().join(".kura/warehouse");
    // Day 2 brings a key day 1 lacks; both are loaded at once.
    let d1: Vec<Value> = (0..30)
        .map(|i| {
            shop_event(
                "20240901",
                i,
                &format!("u{}", i % 4),
                vec![
                    param("ga_session_id", json!(i % 4)),
                    param("value", json!(1.5)),
                ],
            )
        })
        .collect();
    let d2: Vec<Value> = (0..20)
        .map(|i| {
            shop_event(
                "20240902",
                i,
                "u1",
                vec![
                    param("ga_session_id", json!(7)),
                    param("value", json!(2.25)),
                    param("coupon", json!("秋")),
                ],
            )
        })
        .collect();
    let files = [
        p.write_lines("events_20240901.json", &d1),
        p.write_lines("events_20240902.json.gz", &d2),
    ];
    let out = p.load(&files, 0).await.expect("load");
    assert_eq!(out.flat_rebuilt, None);
    assert_eq!(
        p.rows("SELECT event_date, count(param_coupon), min(user_tier) FROM ga4.events GROUP BY 1 ORDER BY 1")
            .await,
        ["2024-09-01|0|金", "2024-09-02|20|金"]
    );
    assert_eq!(
        p.rows("SELECT count(*), sum(param_grams), count(param_color) FROM ga4.items")
            .await,
        [format!(
            "100|{}|50",
            (0..30).sum::<i64>() + (0..20).sum::<i64>()
        )]
    );
    assert_eq!(unreferenced_files(&warehouse), Vec::<String>::new());
    assert_flat_as_rebuilt(&p, "two days loaded at once").await;

    // One file whose first two stretches (16,384 lines each) send `level` as an int and whose
    // rest sends it as text: the column assigned on the way (INT64) is not the one the load
    // settles on (STRING), so the flat tables are rebuilt from the raw table. (Two threads
    // take the first two stretches; the third goes to whichever has finished one, so an int
    // stretch always assigns the column first.)
    let day: Vec<Value> = (0..40_000)
        .map(|i| {
            let level = if i < 32_768 {
                json!(i)
            } else {
                json!(format!("L{i}"))
            };
            event(
                "20240903",
                i,
                "page_view",
                "u2",
                vec![param("ga_session_id", json!(9)), param("level", level)],
            )
        })
        .collect();
    let path = p.write_lines("events_20240903.json", &day);
    let out = p.load(&[path], 0).await.expect("widening day");
    let reason = out.flat_rebuilt.clone().expect("rebuilt from raw");
    assert!(reason.contains("stopped fitting"), "{reason}");
    assert_eq!(
        p.rows("SELECT count(*), count(param_level), min(param_level), max(param_level) FROM ga4.events WHERE event_date = DATE '2024-09-03'")
            .await,
        ["40000|40000|0|L39999"]
    );
    assert_eq!(unreferenced_files(&warehouse), Vec::<String>::new());
    assert_flat_as_rebuilt(&p, "a type widened within a file").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_load_leaves_no_files_behind() {
    let p = project();
    let warehouse = p.dir.path().join(".kura/warehouse");
    let d1 = p.write_lines(
        "events_20241001.json",
        &[event(
            "20241001",
            1,
            "page_view",
            "u1",
            vec![param("ga_session_id", json!(1))],
        )],
    );
    p.load(&[d1], 0).await.expect("day 1");
    // Two stretches of good lines are decoded and written (each thread closes its files when
    // the load fails), then a bad line fails the load.
    let good: String = (0..40_000)
        .map(|i| {
            let e = event(
                "20241002",
                i,
                "page_view",
                "u2",
                vec![param("ga_session_id", json!(2)), param("n", json!(i))],
            );
            format!("{e}\n")
        })
        .collect();
    let path = p.dir.path().join("export/events_20241002.json");
    std::fs::write(&path, format!("{good}{{\"event_date\": \n")).expect("write");
    let err = p.load(&[path], 0).await.expect_err("bad line");
    assert!(
        err.to_string().contains("events_20241002.json:40001:"),
        "{err}"
    );
    assert_eq!(unreferenced_files(&warehouse), Vec::<String>::new());
    assert_eq!(
        p.rows("SELECT event_date, count(*) FROM ga4.events GROUP BY 1")
            .await,
        ["2024-10-01|1"]
    );
    assert_eq!(p.rows("SELECT count(*) FROM raw.ga4_events").await, ["1"]);
}

/// Feeds `contents` to a named pipe, one per opening by a reader, as a file that an export
/// job is still rewriting would read: planning sees one version, the load the next. Gives up
/// (returning how many were read) when no reader opens the pipe within 20 s.
///
/// After each version the feeder waits before it opens the pipe again: while the reader that
/// just read a version to its end still holds the pipe open, a new write end would join that
/// reader instead of waiting for the next one. Readers close the moment they reach the end.
#[cfg(target_os = "linux")]
fn feed_pipe(path: PathBuf, contents: Vec<String>) -> std::thread::JoinHandle<usize> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK on Linux: opening the write end fails at once while no reader has it open,
    // so the feeder can give up instead of blocking forever on a load that never reads.
    const O_NONBLOCK: i32 = 0o4000;
    std::thread::spawn(move || {
        let mut fed = 0;
        for text in contents {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            let mut pipe = loop {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(O_NONBLOCK)
                    .open(&path)
                {
                    Ok(pipe) => break pipe,
                    Err(_) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    Err(_) => return fed,
                }
            };
            let mut rest = text.as_bytes();
            while !rest.is_empty() {
                match pipe.write(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Err(_) => return fed,
                }
            }
            fed += 1;
            drop(pipe);
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        fed
    })
}

/// A reload whose file changes between planning (which hashes it to decide whether the day
/// changed) and reading fails, names the file, and writes nothing: the day keeps the rows
/// it had.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_changes_while_it_is_loaded_fails_the_load_and_keeps_the_day() {
    let p = project();
    let day = |users: &[&str]| -> String {
        users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let e = event(
                    "20241101",
                    i as i64,
                    "page_view",
                    u,
                    vec![param("ga_session_id", json!(1))],
                );
                format!("{e}\n")
            })
            .collect()
    };
    let path = p.write_lines("events_20241101.json", &[]);
    std::fs::write(&path, day(&["u1", "u2"])).expect("write");
    p.load(std::slice::from_ref(&path), 0)
        .await
        .expect("first load");

    std::fs::remove_file(&path).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    // Planning reads three events (not what the day holds, so the day is reloaded); the
    // load then reads four.
    let feeder = feed_pipe(
        path.clone(),
        vec![day(&["u1", "u2", "u3"]), day(&["u1", "u2", "u3", "u4"])],
    );
    let err = p
        .load(std::slice::from_ref(&path), 0)
        .await
        .expect_err("the file changed between planning and reading");
    assert_eq!(feeder.join().expect("feeder"), 2, "both versions were read");
    let text = err.to_string();
    assert!(
        text.contains("events_20241101.json") && text.contains("changed while it was being loaded"),
        "{text}"
    );
    assert_eq!(
        p.rows("SELECT user_pseudo_id FROM raw.ga4_events ORDER BY 1")
            .await,
        ["u1", "u2"]
    );
    assert_eq!(
        p.rows("SELECT user_pseudo_id FROM ga4.events ORDER BY 1")
            .await,
        ["u1", "u2"]
    );
    assert_eq!(
        unreferenced_files(&p.dir.path().join(".kura/warehouse")),
        Vec::<String>::new()
    );
}

/// `n` purchases (with user properties and items) of day `date`, one user and session, from
/// second `from`.
fn page_views(date: &str, from: i64, n: i64, user: &str) -> Vec<Value> {
    (from..from + n)
        .map(|i| {
            shop_event(
                date,
                i,
                user,
                vec![
                    param("ga_session_id", json!(1)),
                    param("page_location", json!(format!("/p{i}"))),
                ],
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_of_a_day_accumulate_and_each_reloads_alone() {
    let p = project();
    let shard0 = p.write_lines(
        "events_20241001_000000000000.json.gz",
        &page_views("20241001", 0, 5, "u0"),
    );
    let shard1 = p.write_lines(
        "events_20241001_000000000001.json.gz",
        &page_views("20241001", 100, 5, "u1"),
    );
    let out = p
        .load(&[shard0.clone(), shard1.clone()], 0)
        .await
        .expect("both shards");
    assert_eq!(out.events, 10);
    let counts = "SELECT (SELECT count(*) FROM raw.ga4_events), (SELECT count(*) FROM ga4.events), (SELECT count(*) FROM ga4.event_params)";
    assert_eq!(p.rows(counts).await, ["10|10|20"]);

    // The same shard again is skipped, and the day keeps both shards.
    let out = p
        .load(std::slice::from_ref(&shard1), 0)
        .await
        .expect("shard 1 again");
    assert!(out.days.is_empty(), "{:?}", out.files);
    assert_eq!(p.rows(counts).await, ["10|10|20"]);

    // A changed shard replaces its own rows only.
    let shard1 = p.write_lines(
        "events_20241001_000000000001.json.gz",
        &page_views("20241001", 100, 7, "u1"),
    );
    let out = p
        .load(std::slice::from_ref(&shard1), 0)
        .await
        .expect("changed shard 1");
    assert_eq!(loaded_rows(&out).len(), 1);
    assert_eq!(p.rows(counts).await, ["12|12|24"]);
    assert_eq!(
        p.rows("SELECT user_pseudo_id, count(*) FROM ga4.events GROUP BY 1 ORDER BY 1")
            .await,
        ["u0|5", "u1|7"]
    );
    assert_eq!(
        p.rows("SELECT _source_file, count(*) FROM raw.ga4_events GROUP BY 1 ORDER BY 1")
            .await,
        [
            "events_20241001_000000000000.json.gz|5",
            "events_20241001_000000000001.json.gz|7"
        ]
    );
    // Sessions and the key counts see both shards.
    assert_eq!(
        p.rows("SELECT user_pseudo_id, events FROM ga4.sessions ORDER BY 1")
            .await,
        ["u0|5", "u1|7"]
    );
    let report = kura_ga4::key_report(&p.wh).await.expect("report");
    let page = report
        .iter()
        .find(|r| r.key == "page_location")
        .expect("page_location");
    assert_eq!(page.count, 12);
    assert_flat_as_rebuilt(&p, "a shard reloaded").await;

    // Shards arriving one at a time give the same day.
    let q = project();
    for shard in [&shard0, &shard1] {
        q.load(std::slice::from_ref(shard), 0)
            .await
            .expect("one shard");
    }
    assert_eq!(q.rows(counts).await, ["12|12|24"]);

    // `--force` makes the files given the whole day: a day re-exported in fewer shards.
    let out = p
        .load_as(std::slice::from_ref(&shard0), None, true)
        .await
        .expect("forced");
    assert_eq!(out.events, 5);
    assert_eq!(p.rows(counts).await, ["5|5|10"]);
    assert_flat_as_rebuilt(&p, "a day forced to one shard").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn properties_are_kept_apart() {
    let p = project();
    // Two properties export files of the same name for the same day.
    let dir_a = p.dir.path().join("a");
    let dir_b = p.dir.path().join("b");
    for (dir, user, n) in [(&dir_a, "ua", 3), (&dir_b, "ub", 4)] {
        std::fs::create_dir_all(dir).expect("mkdir");
        let text: String = page_views("20241002", 0, n, user)
            .iter()
            .map(|e| format!("{e}\n"))
            .collect();
        std::fs::write(dir.join("events_20241002.json"), text).expect("write");
    }
    p.load_as(std::slice::from_ref(&dir_a), Some("shop"), false)
        .await
        .expect("property shop");
    p.load_as(std::slice::from_ref(&dir_b), Some("blog"), false)
        .await
        .expect("property blog");
    assert_eq!(
        p.rows("SELECT property, count(*), count(DISTINCT event_id) FROM ga4.events GROUP BY 1 ORDER BY 1")
            .await,
        ["blog|4|4", "shop|3|3"]
    );
    // The same user and session id in two properties are two sessions.
    std::fs::write(
        dir_b.join("events_20241002.json"),
        page_views("20241002", 0, 2, "ua")
            .iter()
            .map(|e| format!("{e}\n"))
            .collect::<String>(),
    )
    .expect("rewrite");
    p.load_as(std::slice::from_ref(&dir_b), Some("blog"), false)
        .await
        .expect("blog again");
    assert_eq!(
        p.rows("SELECT property, session_key, events FROM ga4.sessions ORDER BY 1")
            .await,
        ["blog|blog/ua.1|2", "shop|shop/ua.1|3"]
    );
    assert_eq!(
        p.rows("SELECT _property, count(*) FROM raw.ga4_events GROUP BY 1 ORDER BY 1")
            .await,
        ["blog|2", "shop|3"]
    );
    // A load without a property is a property of its own.
    p.load_as(std::slice::from_ref(&dir_a), None, false)
        .await
        .expect("no property");
    assert_eq!(
        p.rows("SELECT property, count(*) FROM ga4.events GROUP BY 1 ORDER BY 1 NULLS FIRST")
            .await,
        ["NULL|3", "blog|2", "shop|3"]
    );
    assert_flat_as_rebuilt(&p, "three properties").await;
}

/// The key report's columns that say how a key's type came about.
async fn key_types(p: &TestProject) -> Vec<String> {
    kura_ga4::key_report(&p.wh)
        .await
        .expect("report")
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {:?} {:?}",
                r.column, r.column_type, r.type_changed, r.type_changed_from, r.type_changed_on
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn key_types_and_names_do_not_depend_on_how_days_were_batched() {
    let day = |date: &str, params: Vec<Value>| {
        vec![event(
            date,
            1,
            "page_view",
            "u1",
            [vec![param("ga_session_id", json!(1))], params].concat(),
        )]
    };
    let days = [
        (
            "20241101",
            vec![
                param("plan_id", json!(1)),
                param("page-type", json!("a")),
                param("later", Value::Null),
            ],
        ),
        (
            "20241102",
            vec![param("plan_id", json!(2)), param("later", json!(5))],
        ),
        (
            "20241103",
            vec![
                param("plan_id", json!("gold")),
                param("Page Type", json!("b")),
            ],
        ),
    ];
    let together = project();
    let files: Vec<PathBuf> = days
        .iter()
        .map(|(d, params)| {
            together.write_lines(&format!("events_{d}.json"), &day(d, params.clone()))
        })
        .collect();
    let out = together.load(&files, 0).await.expect("all at once");
    assert!(out.widened.is_empty());
    let mixed: Vec<&str> = out
        .mixed_types
        .iter()
        .map(|(c, _)| c.column.as_str())
        .collect();
    assert_eq!(mixed, ["param_plan_id"]);
    let one_by_one = project();
    for (d, params) in &days {
        let f = one_by_one.write_lines(&format!("events_{d}.json"), &day(d, params.clone()));
        one_by_one.load(&[f], 0).await.expect("one day");
    }
    let report = key_types(&together).await;
    assert_eq!(report, key_types(&one_by_one).await);
    for expected in [
        "param_plan_id STRING true Some(\"INT64\") Some(2024-11-03)",
        // First seen with no value: typed by its first values, not a type change.
        "param_later INT64 false None None",
        // `page-type` was seen first, so it keeps the plain name.
        "param_page_type STRING false None None",
        "param_page_type_2 STRING false None None",
    ] {
        assert!(
            report.contains(&expected.to_string()),
            "{expected} in {report:#?}"
        );
    }
    let columns = "SELECT param_page_type, param_page_type_2, param_later, param_plan_id FROM ga4.events ORDER BY event_date";
    let expected = ["a|NULL|NULL|1", "NULL|NULL|5|2", "NULL|b|NULL|gold"];
    assert_eq!(together.rows(columns).await, expected);
    assert_eq!(one_by_one.rows(columns).await, expected);
    // The table function names and types the columns the same way.
    let flattened = columns.replace("ga4.events", "ga4_flatten('raw.ga4_events')");
    assert_eq!(together.rows(&flattened).await, expected);
    assert_eq!(
        together
            .rows("SELECT arrow_typeof(param_later) FROM ga4_flatten('raw.ga4_events') LIMIT 1")
            .await,
        ["Int64"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_without_an_engagement_signal_is_not_engaged() {
    let p = project();
    let f = p.write_lines(
        "events_20241104.json",
        &[
            event(
                "20241104",
                1,
                "page_view",
                "u1",
                vec![param("ga_session_id", json!(1))],
            ),
            event(
                "20241104",
                2,
                "page_view",
                "u2",
                vec![
                    param("ga_session_id", json!(2)),
                    param("session_engaged", json!("1")),
                ],
            ),
            // A session id but no user: counted as belonging to no session.
            json!({"event_date": "20241104", "event_timestamp": "1730678400000000",
                   "event_name": "page_view",
                   "event_params": [param("ga_session_id", json!(3))]}),
        ],
    );
    let out = p.load(&[f], 0).await.expect("load");
    assert_eq!(out.events_without_session, 1);
    assert_eq!(
        p.rows("SELECT user_pseudo_id, engaged FROM ga4.sessions ORDER BY 1")
            .await,
        ["u1|false", "u2|true"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ga4_flatten_reads_an_export_loaded_by_kura_load() {
    let p = project();
    let f = p.write_lines(
        "events_20241105.json",
        &[
            event(
                "20241105",
                1,
                "page_view",
                "u1",
                vec![
                    param("ga_session_id", json!(41)),
                    param("price", json!(2.5)),
                ],
            ),
            event(
                "20241105",
                2,
                "page_view",
                "u2",
                vec![param("ga_session_id", json!(42))],
            ),
        ],
    );
    // `kura load` infers `int_value` (JSON strings, as BigQuery writes INT64) as text.
    let table = kura_engine::TableName::parse("raw.export_copy").expect("name");
    p.wh.load(
        &kura_engine::load::LoadRequest::new(vec![f], table),
        "alice",
        std::sync::Arc::new(kura_engine::load::NoProgress),
    )
    .await
    .expect("kura load");
    assert_eq!(
        p.rows("SELECT user_pseudo_id, param_ga_session_id, arrow_typeof(param_ga_session_id), param_price FROM ga4_flatten('raw.export_copy') ORDER BY 1")
            .await,
        ["u1|41|Int64|2.5", "u2|42|Int64|NULL"]
    );
}
