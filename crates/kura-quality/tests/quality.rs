//! Checks, monitors and alerts end to end on the embedded warehouse, with alerts delivered to
//! a real HTTP listener and a real SMTP server (aiosmtpd) on loopback.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use kura_alert::testing::{http_server, SmtpServer, OK};
use kura_alert::{
    AlertSettings, ChannelConfig, EmailChannel, RetryPolicy, Severity, SmtpTls, WebhookChannel,
};
use kura_engine::load::{LoadMode, LoadRequest, NoProgress};
use kura_engine::{Project, QueryContext, TableName, Warehouse};
use kura_quality::alerts::alert_history;
use kura_quality::monitor::{monitor_history, MonitorMetric};
use kura_quality::results::check_history;
use kura_quality::spec::parse_checks_file;
use kura_quality::{
    raise_alerts, run_checks, run_monitors, CheckResult, RunScope, TableCheck, TableMonitor,
};

struct Fixture {
    dir: tempfile::TempDir,
    wh: Warehouse,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = kura_engine::project::config_template("test", "alice");
    std::fs::write(dir.path().join("kura.toml"), config).expect("write kura.toml");
    let wh = Warehouse::open(Project::open(dir.path()).expect("open project")).expect("open");
    Fixture { dir, wh }
}

impl Fixture {
    async fn load(&self, table: &str, csv: &str, mode: LoadMode) {
        let path = self
            .dir
            .path()
            .join(format!("{}-{}.csv", table, uuid::Uuid::new_v4()));
        std::fs::write(&path, csv).expect("write csv");
        let mut req = LoadRequest::new(vec![path], TableName::parse(table).expect("name"));
        req.mode = mode;
        self.wh
            .load(&req, "alice", Arc::new(NoProgress))
            .await
            .expect("load");
    }

    fn scope(&self, now: DateTime<Utc>) -> RunScope {
        let mut scope = RunScope::new("alice", "UTC");
        scope.now = now;
        scope
    }
}

/// Checks parsed from a checks.toml text for one table.
fn checks(table: &str, toml: &str) -> Vec<TableCheck> {
    let parsed = parse_checks_file(toml).expect("valid checks");
    parsed
        .into_iter()
        .flat_map(|(_, q)| {
            q.checks.into_iter().map(|spec| TableCheck {
                table: table.to_string(),
                spec,
            })
        })
        .collect()
}

fn find<'a>(results: &'a [CheckResult], name: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check_name == name)
        .unwrap_or_else(|| panic!("no result for {name}: {results:#?}"))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

const ORDERS: &str = "order_id,customer_id,status,amount,ordered_at
1,10,placed,20.5,2026-11-20T08:00:00Z
2,11,shipped,35,2026-11-20T08:30:00Z
3,10,shipped,41,2026-11-20T09:00:00Z
3,12,lost,-5,2026-11-20T09:10:00Z
4,,placed,28,2026-11-20T09:20:00Z
5,99,placed,1000000,2026-11-20T09:30:00Z
6,11,placed,33,2026-11-20T09:40:00Z
7,12,shipped,30,2026-11-20T09:50:00Z
8,10,placed,25,2026-11-20T10:00:00Z
8,10,placed,25,2026-11-20T10:00:00Z
";

const CUSTOMERS: &str = "customer_id,name
10,Aiko
11,Ben
12,Chie
";

#[tokio::test]
async fn every_check_type_passes_and_fails() {
    let f = fixture();
    f.load("shop.orders", ORDERS, LoadMode::Append).await;
    f.load("shop.customers", CUSTOMERS, LoadMode::Append).await;
    let list = checks(
        "shop.orders",
        r#"
[orders]
[[orders.checks]]
type = "not_null"
column = "order_id"

[[orders.checks]]
type = "not_null"
column = "customer_id"

[[orders.checks]]
type = "unique"
columns = "order_id"

[[orders.checks]]
name = "unique_id_and_customer"
type = "unique"
columns = ["order_id", "customer_id"]
where = "order_id < 8"

[[orders.checks]]
type = "accepted_values"
column = "status"
values = ["placed", "shipped"]
severity = "warn"

[[orders.checks]]
name = "status_known"
type = "accepted_values"
column = "status"
values = ["placed", "shipped", "lost"]

[[orders.checks]]
type = "relationships"
column = "customer_id"
to = "shop.customers"
field = "customer_id"

[[orders.checks]]
name = "customers_known_below_5"
type = "relationships"
column = "customer_id"
to = "shop.customers"
field = "customer_id"
where = "order_id < 5"

[[orders.checks]]
type = "accepted_range"
column = "amount"
min = 0
max = 1000

[[orders.checks]]
name = "amount_in_wide_range"
type = "accepted_range"
column = "amount"
min = -10
max = 2000000

[[orders.checks]]
name = "a_few_rows"
type = "row_count"
min = 1
max = 100

[[orders.checks]]
name = "many_rows"
type = "row_count"
min = 100

[[orders.checks]]
name = "fresh_within_day"
type = "freshness"
column = "ordered_at"
max_age_hours = 24

[[orders.checks]]
name = "fresh_within_hour"
type = "freshness"
column = "ordered_at"
max_age_hours = 1

[[orders.checks]]
type = "duplicates"

[[orders.checks]]
name = "duplicate_customers_first_three"
type = "duplicates"
columns = ["customer_id"]
where = "order_id <= 2"

[[orders.checks]]
name = "no_negative_amounts"
type = "sql"
sql = "SELECT order_id, amount FROM shop.orders WHERE amount < 0"

[[orders.checks]]
name = "no_huge_refunds"
type = "sql"
sql = "SELECT order_id FROM shop.orders WHERE amount < -1000"

[[orders.checks]]
name = "no_negative_amounts_after_3"
type = "sql"
sql = "SELECT order_id, amount FROM shop.orders WHERE amount < 0"
where = "order_id > 3"

[[orders.checks]]
name = "unique_id_and_customer_all"
type = "unique"
columns = ["order_id", "customer_id"]

[[orders.checks]]
name = "duplicate_customers"
type = "duplicates"
columns = ["customer_id"]

[[orders.checks]]
name = "at_most_five_rows"
type = "row_count"
max = 5

[[orders.checks]]
name = "amount_outliers_mad"
type = "outliers"
column = "amount"

[[orders.checks]]
name = "amount_outliers_iqr"
type = "outliers"
column = "amount"
method = "iqr"

[[orders.checks]]
name = "no_outliers_without_the_big_one"
type = "outliers"
column = "amount"
method = "iqr"
k = 3
where = "amount BETWEEN 0 AND 100"
"#,
    );
    let scope = f.scope(at("2026-11-20T12:00:00Z"));
    let results = run_checks(&f.wh, &list, &scope).await.expect("checks run");
    let status = |name: &str| find(&results, name).status.clone();
    let failing = |name: &str| find(&results, name).failing_count;

    assert_eq!(status("not_null(order_id)"), "pass");
    assert_eq!(status("not_null(customer_id)"), "fail");
    assert_eq!(failing("not_null(customer_id)"), Some(1));
    assert_eq!(
        find(&results, "not_null(customer_id)").element_count,
        Some(10)
    );
    let sample = find(&results, "not_null(customer_id)").samples.clone();
    assert!(sample.contains("\"order_id\":4"), "{sample}");
    assert!(
        (find(&results, "not_null(customer_id)")
            .failing_percent
            .expect("percent")
            - 10.0)
            .abs()
            < 1e-9
    );

    // Ids 3 and 8 each appear twice: four rows share a key.
    assert_eq!(status("unique(order_id)"), "fail");
    assert_eq!(failing("unique(order_id)"), Some(4));
    let sample = find(&results, "unique(order_id)").samples.clone();
    assert!(sample.contains("\"occurrences\":2"), "{sample}");
    assert_eq!(status("unique_id_and_customer"), "pass");
    // Without the filter, order 8 of customer 10 appears twice (order 3 has two customers).
    assert_eq!(status("unique_id_and_customer_all"), "fail");
    assert_eq!(failing("unique_id_and_customer_all"), Some(2));

    assert_eq!(status("accepted_values(status)"), "warn");
    assert_eq!(failing("accepted_values(status)"), Some(1));
    assert!(find(&results, "accepted_values(status)")
        .samples
        .contains("\"failing_value\":\"lost\""));
    assert_eq!(status("status_known"), "pass");

    assert_eq!(status("relationships(customer_id)"), "fail");
    assert_eq!(failing("relationships(customer_id)"), Some(1));
    assert!(find(&results, "relationships(customer_id)")
        .samples
        .contains("\"failing_value\":99"));
    assert_eq!(status("customers_known_below_5"), "pass");

    assert_eq!(status("accepted_range(amount)"), "fail");
    assert_eq!(failing("accepted_range(amount)"), Some(2));
    assert_eq!(status("amount_in_wide_range"), "pass");

    assert_eq!(status("a_few_rows"), "pass");
    assert_eq!(find(&results, "a_few_rows").observed, Some(10.0));
    assert_eq!(status("many_rows"), "fail");
    assert_eq!(status("at_most_five_rows"), "fail");
    assert_eq!(find(&results, "at_most_five_rows").observed, Some(10.0));

    assert_eq!(status("fresh_within_day"), "pass");
    assert_eq!(status("fresh_within_hour"), "fail");
    assert!((find(&results, "fresh_within_hour").observed.expect("age") - 2.0).abs() < 1e-9);

    // One row is an exact copy; among orders 1 and 2 no customer repeats.
    assert_eq!(status("duplicates()"), "fail");
    assert_eq!(failing("duplicates()"), Some(1));
    assert_eq!(status("duplicate_customers_first_three"), "pass");
    // Customers 10 (4 rows), 11 (2), 12 (2), 99 and NULL (1 each): a de-duplication on
    // customer_id keeps 5 of the 10 rows.
    assert_eq!(status("duplicate_customers"), "fail");
    assert_eq!(failing("duplicate_customers"), Some(5));

    assert_eq!(status("no_negative_amounts"), "fail");
    assert_eq!(failing("no_negative_amounts"), Some(1));
    assert!(find(&results, "no_negative_amounts").samples.contains("-5"));
    assert_eq!(status("no_huge_refunds"), "pass");
    // `where` filters an assertion's failure rows: order 3's refund is before the cut.
    assert_eq!(status("no_negative_amounts_after_3"), "pass");

    // Amounts: 20.5 35 41 -5 28 1e6 33 30 25 25. median 29, |x - 29|: 8.5 6 12 34 1 999971 4
    // 1 4 4 -> MAD 5, sigma 7.413, bounds 29 ± 22.239: -5, 1e6 (and nothing else) outside.
    let mad = find(&results, "amount_outliers_mad");
    assert_eq!(mad.status, "fail", "{mad:?}");
    assert_eq!(mad.failing_count, Some(2), "{}", mad.message);
    assert!(mad.message.contains("[6.761"), "{}", mad.message);
    assert!(
        mad.samples.starts_with("[{\"order_id\":5"),
        "{}",
        mad.samples
    );
    // Quartiles (linear): q1 25, q3 34.5, IQR 9.5: fences 10.75 and 48.75.
    let iqr = find(&results, "amount_outliers_iqr");
    assert_eq!(iqr.failing_count, Some(2), "{}", iqr.message);
    assert!(
        iqr.message.contains("[10.750000, 48.750000]"),
        "{}",
        iqr.message
    );
    assert_eq!(status("no_outliers_without_the_big_one"), "pass");

    // Every result is recorded, with its SQL and the run id.
    let history = check_history(&f.wh).await.expect("history");
    assert_eq!(history.len(), list.len());
    assert!(history
        .iter()
        .all(|r| r.run_id == scope.run_id && !r.sql.is_empty()));
    let stored = history
        .iter()
        .find(|r| r.check_name == "not_null(customer_id)")
        .expect("stored");
    assert_eq!(
        stored.samples,
        find(&results, "not_null(customer_id)").samples
    );
    assert!(kura_quality::any_error(&results));

    // The checks' queries are in the query log under their labels.
    let logged =
        f.wh.query(
            "SELECT COUNT(*) AS n FROM _kura.query_log, UNNEST(labels) AS l WHERE l.key = 'check'",
            &QueryContext::new("alice"),
        )
        .await
        .expect("query log");
    let n = arrow::compute::cast(
        logged.batches[0].column(0),
        &arrow::datatypes::DataType::Int64,
    )
    .expect("count");
    let n = n
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .expect("ints")
        .value(0);
    assert!(n >= list.len() as i64, "{n} logged check queries");
}

#[tokio::test]
async fn a_broken_check_is_an_error_result_and_the_others_still_run() {
    let f = fixture();
    f.load("shop.orders", ORDERS, LoadMode::Append).await;
    let mut list = checks(
        "shop.orders",
        "[o]\n[[o.checks]]\ntype = \"not_null\"\ncolumn = \"no_such_column\"\n\
         [[o.checks]]\ntype = \"not_null\"\ncolumn = \"order_id\"\n",
    );
    list.extend(checks(
        "shop.missing_table",
        "[o]\n[[o.checks]]\ntype = \"row_count\"\nmin = 1\n",
    ));
    let results = run_checks(&f.wh, &list, &f.scope(Utc::now()))
        .await
        .expect("checks run");
    let missing_column = find(&results, "not_null(no_such_column)");
    assert_eq!(missing_column.status, "error");
    assert!(
        missing_column.message.contains("no_such_column"),
        "{}",
        missing_column.message
    );
    assert_eq!(find(&results, "not_null(order_id)").status, "pass");
    let missing_table = find(&results, "row_count()");
    assert_eq!(missing_table.status, "error");
    assert!(
        missing_table.message.contains("missing_table"),
        "{}",
        missing_table.message
    );
    assert!(kura_quality::any_error(&results));
}

/// `days` days of events ending the day before `now`, `per_day(day)` rows a day; `score` is
/// NULL in the rows `null_from(day)` says.
fn events_csv(
    now: DateTime<Utc>,
    days: i64,
    per_day: impl Fn(i64) -> i64,
    null_share: impl Fn(i64) -> f64,
) -> String {
    let mut csv = String::from("event_id,user_id,score,happened_at,amount\n");
    let mut id = 0;
    let start = now.date_naive() - Duration::days(days);
    for day in 0..days {
        let date = start + Duration::days(day);
        let rows = per_day(day);
        let nulls = (rows as f64 * null_share(day)).round() as i64;
        for i in 0..rows {
            id += 1;
            let t = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
                + Duration::seconds(i * 86_000 / rows.max(1));
            let score = if i < nulls {
                String::new()
            } else {
                format!("{}", 50 + (i * 7 + day * 3) % 20)
            };
            csv.push_str(&format!(
                "{id},{},{score},{},{}.25\n",
                i % 97,
                t.format("%Y-%m-%dT%H:%M:%SZ"),
                i % 50
            ));
        }
    }
    csv
}

fn metric<'a>(
    metrics: &'a [MonitorMetric],
    name: &str,
    column: Option<&str>,
    bucket: &str,
) -> &'a MonitorMetric {
    metrics
        .iter()
        .find(|m| {
            m.metric == name
                && m.column.as_deref() == column
                && m.bucket.format("%Y-%m-%d").to_string() == bucket
        })
        .unwrap_or_else(|| panic!("no {name} {column:?} at {bucket}"))
}

#[tokio::test]
async fn monitors_find_a_volume_spike_a_null_jump_and_a_schema_change() {
    let f = fixture();
    let now = at("2026-11-26T06:00:00Z");
    // 30 days; the last day has three times the rows and half its scores missing.
    let csv = events_csv(
        now,
        30,
        |d| if d == 29 { 600 } else { 200 + (d * 37) % 11 },
        |d| if d == 29 { 0.5 } else { 0.0 },
    );
    f.load("app.events", &csv, LoadMode::Append).await;
    let spec: kura_quality::MonitorSpec = toml::from_str(
        "time_column = \"happened_at\"\ncolumns = [\"score\", \"user_id\", \"amount\"]\n",
    )
    .expect("monitor spec");
    let monitors = vec![TableMonitor {
        table: "app.events".into(),
        spec,
    }];
    let scope = f.scope(now);
    let outcomes = run_monitors(&f.wh, &monitors, &scope)
        .await
        .expect("monitors run");
    let outcome = &outcomes[0];
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    // The scan's query-log entry is written with the metrics, labelled with the monitor.
    let logged =
        f.wh.query_internal(
            "SELECT rows_returned FROM kura._kura.query_log \
             WHERE statement LIKE '%_kura_bucket%' AND statement LIKE '%app.events%'",
        )
        .await
        .expect("query log");
    let logged_rows: Vec<i64> = logged
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .expect("rows_returned is INT64")
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(logged_rows, vec![outcome.rows_scanned as i64]);
    // The scan covered the window: 14 training + 2 detection days.
    assert_eq!(
        outcome.rows_scanned,
        600 + 15 * 200 + (14..29).map(|d| (d * 37) % 11).sum::<i64>() as u64
    );

    let volume = metric(&outcome.metrics, "row_count", None, "2026-11-25");
    assert!(volume.assessed && volume.is_anomaly, "{volume:?}");
    assert_eq!(volume.value, Some(600.0));
    let mean = volume.training_mean.expect("training mean");
    assert!((200.0..=211.0).contains(&mean), "{mean}");
    assert!(volume.expected_high.expect("high") < 600.0);
    assert!(volume.score.expect("score") > 3.0);
    assert_eq!(volume.training_size, 14);
    let day_before = metric(&outcome.metrics, "row_count", None, "2026-11-24");
    assert!(
        day_before.assessed && !day_before.is_anomaly,
        "{day_before:?}"
    );

    let nulls = metric(&outcome.metrics, "null_rate", Some("score"), "2026-11-25");
    assert!(nulls.is_anomaly, "{nulls:?}");
    assert_eq!(nulls.value, Some(0.5));
    let user_nulls = metric(&outcome.metrics, "null_rate", Some("user_id"), "2026-11-25");
    assert!(!user_nulls.is_anomaly, "{user_nulls:?}");
    // Scores stay within 50..69 every day: no anomaly in their mean.
    let score_max = metric(&outcome.metrics, "max", Some("score"), "2026-11-25");
    assert!(!score_max.is_anomaly, "{score_max:?}");

    // A float column gets mean, min and max but no distinct count.
    let amount_max = metric(&outcome.metrics, "max", Some("amount"), "2026-11-25");
    assert_eq!(amount_max.value, Some(49.25));
    assert!(!outcome
        .metrics
        .iter()
        .any(|m| m.metric == "distinct_count" && m.column.as_deref() == Some("amount")));

    // Recorded, with the anomaly fields.
    let stored = monitor_history(&f.wh, Some("app.events"))
        .await
        .expect("history");
    assert_eq!(stored.len(), outcome.metrics.len());
    assert!(stored
        .iter()
        .any(|m| m.metric == "row_count" && m.is_anomaly && m.score.is_some()));

    // A new column appears: the next run reports a schema change.
    let extra = "event_id,user_id,score,happened_at,amount,channel\n\
                 999999,1,55,2026-11-26T01:00:00Z,1.5,web\n";
    let path = f.dir.path().join("extra.csv");
    std::fs::write(&path, extra).expect("write");
    let mut req = LoadRequest::new(vec![path], TableName::parse("app.events").expect("name"));
    req.mode = LoadMode::Append;
    f.wh.load(&req, "alice", Arc::new(NoProgress))
        .await
        .expect("load with a new column");
    let later = f.scope(now + Duration::hours(1));
    let outcomes = run_monitors(&f.wh, &monitors, &later)
        .await
        .expect("monitors run");
    let change = outcomes[0]
        .metrics
        .iter()
        .find(|m| m.metric == "schema_change")
        .expect("a schema change");
    assert!(change.is_anomaly);
    assert!(
        change
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("added `channel` STRING"),
        "{change:?}"
    );
}

/// Rows of `events_csv`'s shape at the given instants, one score each.
fn rows_at(times: impl IntoIterator<Item = DateTime<Utc>>) -> String {
    let mut csv = String::from("event_id,user_id,score,happened_at,amount\n");
    for (id, t) in times.into_iter().enumerate() {
        csv.push_str(&format!(
            "{id},{},{},{},1.5\n",
            id % 7,
            50 + id % 5,
            t.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    csv
}

fn monitor(table: &str, spec: &str) -> TableMonitor {
    TableMonitor {
        table: table.into(),
        spec: toml::from_str(spec).expect("monitor spec"),
    }
}

#[tokio::test]
async fn hourly_buckets_find_a_spike_in_the_last_whole_hour() {
    let f = fixture();
    let now = at("2026-11-26T06:30:00Z");
    let first = at("2026-11-25T10:00:00Z");
    // 10 rows an hour for 20 hours, 50 in the last whole hour (05:00), 3 in the current one.
    let times = (0..20).flat_map(|h| {
        let rows = if h == 19 { 50 } else { 10 };
        (0..rows).map(move |i| first + Duration::hours(h) + Duration::seconds(i * 3600 / rows))
    });
    let current = (0..3).map(|i| at("2026-11-26T06:00:00Z") + Duration::minutes(i * 5));
    f.load("app.hits", &rows_at(times.chain(current)), LoadMode::Append)
        .await;
    let outcomes = run_monitors(
        &f.wh,
        &[monitor(
            "app.hits",
            "time_column = \"happened_at\"\nbucket = \"hour\"\ncolumns = [\"score\"]\n",
        )],
        &f.scope(now),
    )
    .await
    .expect("monitors run");
    let outcome = &outcomes[0];
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    // 14 training + 2 detection hours before 06:00, from 14:00 the day before, and the
    // current hour (read for the newest row, not judged).
    assert_eq!(outcome.rows_scanned, 15 * 10 + 50 + 3);
    let volume = |hour: &str| {
        outcome
            .metrics
            .iter()
            .find(|m| {
                m.metric == "row_count" && m.bucket.format("%Y-%m-%d %H:%M").to_string() == hour
            })
            .unwrap_or_else(|| panic!("no row count for {hour}"))
    };
    let spike = volume("2026-11-26 05:00");
    assert_eq!(spike.bucket_width, "hour");
    assert_eq!(spike.value, Some(50.0));
    assert!(spike.assessed && spike.is_anomaly, "{spike:?}");
    assert_eq!(spike.training_size, 14);
    let calm = volume("2026-11-26 04:00");
    assert!(calm.assessed && !calm.is_anomaly, "{calm:?}");
    // The current hour is still filling: its figures are not judged (freshness and the
    // schema are, as of now).
    assert!(outcome
        .metrics
        .iter()
        .filter(|m| m.bucket.format("%H:%M").to_string() == "06:00")
        .filter(|m| !matches!(m.metric.as_str(), "freshness_hours" | "schema"))
        .all(|m| !m.assessed && !m.is_anomaly));
}

#[tokio::test]
async fn weekday_seasonality_trains_on_the_same_weekday_of_earlier_weeks() {
    let f = fixture();
    // Monday morning; 15 weeks of days: 200 rows on weekdays, 50 on Saturdays and Sundays,
    // except 120 on the last Sunday.
    let now = at("2026-11-23T06:00:00Z");
    let days = 105;
    let start = now.date_naive() - Duration::days(days);
    let times = (0..days).flat_map(|d| {
        let date = start + Duration::days(d);
        let weekend = matches!(date.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
        let rows = match (weekend, d == days - 1) {
            (_, true) => 120,
            (true, false) => 50,
            (false, false) => 200,
        };
        let midnight = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
        (0..rows).map(move |i| midnight + Duration::seconds(i * 86_000 / rows))
    });
    f.load("app.visits", &rows_at(times), LoadMode::Append)
        .await;
    let run = |seasonality: &str| {
        let spec = format!(
            "time_column = \"happened_at\"\ncolumns = [\"score\"]\nseasonality = \"{seasonality}\"\n"
        );
        let monitors = [monitor("app.visits", &spec)];
        let scope = f.scope(now);
        let wh = &f.wh;
        async move {
            let outcomes = run_monitors(wh, &monitors, &scope)
                .await
                .expect("monitors run");
            assert!(outcomes[0].error.is_none(), "{:?}", outcomes[0].error);
            outcomes.into_iter().next().expect("one outcome")
        }
    };
    let sunday = |outcome: &kura_quality::MonitorOutcome| {
        metric(&outcome.metrics, "row_count", None, "2026-11-22").clone()
    };

    let seasonal = run("day_of_week").await;
    // The window spans 14 weeks of training plus the 2 detection days.
    assert_eq!(seasonal.rows_scanned, 14 * (5 * 200 + 2 * 50) + 50 + 120);
    let judged = sunday(&seasonal);
    assert_eq!(judged.training_size, 14);
    assert_eq!(judged.training_mean, Some(50.0));
    assert!(judged.assessed && judged.is_anomaly, "{judged:?}");
    let saturday = metric(&seasonal.metrics, "row_count", None, "2026-11-21");
    assert!(saturday.assessed && !saturday.is_anomaly, "{saturday:?}");

    // Against the 14 days before it (10 weekdays, 4 weekend days) the busy Sunday is within
    // the spread: only the weekday comparison sees it.
    let plain = run("none").await;
    let judged = sunday(&plain);
    let mean = judged.training_mean.expect("mean");
    assert!(
        (mean - (10.0 * 200.0 + 4.0 * 50.0) / 14.0).abs() < 1e-9,
        "{judged:?}"
    );
    assert!(judged.assessed && !judged.is_anomaly, "{judged:?}");
}

#[tokio::test]
async fn freshness_is_judged_against_earlier_runs() {
    let f = fixture();
    let spec = "time_column = \"happened_at\"\nbucket = \"hour\"\ncolumns = [\"score\"]\nmin_training = 3\n";
    let monitors = [monitor("app.feed", spec)];
    let freshness = |outcome: &kura_quality::MonitorOutcome| {
        outcome
            .metrics
            .iter()
            .find(|m| m.metric == "freshness_hours")
            .cloned()
            .expect("a freshness metric")
    };
    // Hourly runs, each 10 minutes after a new row arrived.
    let first = at("2026-11-26T00:10:00Z");
    for run in 0..5 {
        let now = first + Duration::hours(run);
        f.load(
            "app.feed",
            &rows_at([now - Duration::minutes(10)]),
            LoadMode::Append,
        )
        .await;
        let outcomes = run_monitors(&f.wh, &monitors, &f.scope(now))
            .await
            .expect("monitors run");
        let fresh = freshness(&outcomes[0]);
        assert!(
            (fresh.value.expect("age") - 1.0 / 6.0).abs() < 1e-9,
            "{fresh:?}"
        );
        assert!(!fresh.is_anomaly, "{fresh:?}");
        if run >= 3 {
            assert!(fresh.assessed, "{fresh:?}");
        }
    }
    // Then nothing new for five hours.
    let stale_at = first + Duration::hours(9);
    let outcomes = run_monitors(&f.wh, &monitors, &f.scope(stale_at))
        .await
        .expect("monitors run");
    let stale = freshness(&outcomes[0]);
    assert!(
        (stale.value.expect("age") - (5.0 + 1.0 / 6.0)).abs() < 1e-9,
        "{stale:?}"
    );
    assert!(stale.assessed && stale.is_anomaly, "{stale:?}");
    assert_eq!(stale.training_size, 5);
}

#[tokio::test]
async fn schema_changes_name_added_removed_and_retyped_columns() {
    let f = fixture();
    let now = at("2026-11-26T06:00:00Z");
    f.load(
        "app.orders",
        "order_id,score,amount,happened_at\n1,5,2.5,2026-11-25T10:00:00Z\n",
        LoadMode::Append,
    )
    .await;
    let monitors = [monitor("app.orders", "time_column = \"happened_at\"\n")];
    let first = run_monitors(&f.wh, &monitors, &f.scope(now))
        .await
        .expect("monitors run");
    assert!(!first[0].metrics.iter().any(|m| m.metric == "schema_change"));
    f.load(
        "app.orders",
        "order_id,score,channel,happened_at\n1,high,web,2026-11-25T10:00:00Z\n",
        LoadMode::Replace,
    )
    .await;
    let later = run_monitors(&f.wh, &monitors, &f.scope(now + Duration::hours(1)))
        .await
        .expect("monitors run");
    assert!(later[0].error.is_none(), "{:?}", later[0].error);
    let change = later[0]
        .metrics
        .iter()
        .find(|m| m.metric == "schema_change")
        .expect("a schema change");
    assert!(change.is_anomaly);
    let detail = change.detail.as_deref().unwrap_or("");
    for expected in [
        "added `channel` STRING",
        "removed `amount`",
        "retyped `score` INT64 → STRING",
    ] {
        assert!(detail.contains(expected), "{expected}: {detail}");
    }
}

#[tokio::test]
async fn every_monitor_scan_is_logged_once() {
    // Each scan's log entry is written while the next monitor runs, the last one with the
    // metrics; a monitor that fails before its scan has none, and does not stop the others.
    let f = fixture();
    f.load("shop.orders", ORDERS, LoadMode::Append).await;
    f.load("shop.orders_copy", ORDERS, LoadMode::Append).await;
    let spec = |time: &str| -> kura_quality::MonitorSpec {
        toml::from_str(&format!("time_column = \"{time}\"\n")).expect("spec")
    };
    let monitors = [
        ("shop.orders", "ordered_at"),
        ("shop.orders", "created"),
        ("shop.orders_copy", "ordered_at"),
    ]
    .map(|(table, time)| TableMonitor {
        table: table.into(),
        spec: spec(time),
    });
    let outcomes = run_monitors(&f.wh, &monitors, &f.scope(at("2026-11-22T00:00:00Z")))
        .await
        .expect("monitors run");
    assert!(outcomes[0].error.is_none(), "{:?}", outcomes[0].error);
    assert!(outcomes[1].error.is_some());
    assert!(outcomes[2].error.is_none(), "{:?}", outcomes[2].error);
    let orders = monitor_scans(&f, "shop.orders").await;
    let copy = monitor_scans(&f, "shop.orders_copy").await;
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(copy.len(), 1, "{copy:?}");
}

#[tokio::test]
async fn a_monitor_on_a_missing_column_reports_an_error() {
    let f = fixture();
    f.load("shop.orders", ORDERS, LoadMode::Append).await;
    let spec: kura_quality::MonitorSpec =
        toml::from_str("time_column = \"created\"\n").expect("spec");
    let outcomes = run_monitors(
        &f.wh,
        &[TableMonitor {
            table: "shop.orders".into(),
            spec,
        }],
        &f.scope(Utc::now()),
    )
    .await
    .expect("runs");
    let error = outcomes[0].error.as_deref().expect("an error");
    assert!(error.contains("`created`"), "{error}");
}

fn channels(webhook_url: String, smtp_port: u16) -> AlertSettings {
    AlertSettings {
        channels: vec![
            ChannelConfig::Webhook(WebhookChannel {
                name: "slack".into(),
                url: Some(webhook_url),
                url_env: None,
                min_severity: Severity::Warn,
            }),
            ChannelConfig::Email(EmailChannel {
                name: "mail".into(),
                smtp_host: "127.0.0.1".into(),
                smtp_port,
                tls: SmtpTls::None,
                username: None,
                password_env: None,
                from: "kura <alerts@example.com>".into(),
                to: vec!["data-team@example.com".into()],
                min_severity: Severity::Warn,
            }),
        ],
        retry: RetryPolicy {
            attempts: 3,
            initial_backoff_ms: 50,
            deadline_secs: 3,
        },
    }
}

#[tokio::test]
async fn alerts_reach_webhook_and_mail_once_until_the_check_recovers() {
    let f = fixture();
    f.load("shop.orders", ORDERS, LoadMode::Append).await;
    let list = checks(
        "shop.orders",
        "[o]\n[[o.checks]]\ntype = \"not_null\"\ncolumn = \"customer_id\"\n",
    );
    let (addr, mut requests) = http_server(vec![OK]).await;
    let smtp = SmtpServer::start();
    let settings = channels(format!("http://{addr}/hook"), smtp.port);

    let run = |now: DateTime<Utc>| {
        let scope = f.scope(now);
        let (wh, list, settings) = (&f.wh, &list, &settings);
        async move {
            let results = run_checks(wh, list, &scope).await.expect("checks");
            raise_alerts(wh, settings, "test", &results, &[], &scope)
                .await
                .expect("alerts")
        }
    };

    // Failing: one alert, delivered to both channels.
    let first = run(Utc::now()).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].event, "firing");
    assert!(first[0].delivered, "{}", first[0].deliveries);
    let request = requests.try_recv().expect("the webhook was called");
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    let text = body["text"].as_str().expect("text");
    assert!(text.contains("not_null(customer_id)"), "{text}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("not_null(customer_id)"), "{}", mails[0]);

    // Still failing: nothing new is sent.
    let second = run(Utc::now()).await;
    assert!(second.is_empty(), "{second:?}");
    assert!(requests.try_recv().is_err());
    assert_eq!(smtp.messages().len(), 1);

    // Fixed: a resolved event, sent once.
    let fixed = ORDERS.replace("4,,placed", "4,10,placed");
    f.load("shop.orders", &fixed, LoadMode::Replace).await;
    let third = run(Utc::now()).await;
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].event, "resolved");
    assert!(requests.try_recv().is_ok());
    assert!(run(Utc::now()).await.is_empty());

    // Broken again: it alerts again.
    f.load("shop.orders", ORDERS, LoadMode::Replace).await;
    let again = run(Utc::now()).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].event, "firing");

    let history = alert_history(&f.wh).await.expect("history");
    let events: Vec<&str> = history.iter().map(|a| a.event.as_str()).collect();
    assert_eq!(events, ["firing", "resolved", "firing"]);
}

/// Monitors alert like checks: an anomalous series fires once, a monitor that cannot run
/// fires as an error, both resolve when healthy again, and the report shows the series.
#[tokio::test]
async fn anomalies_alert_once_resolve_and_show_in_the_report() {
    let f = fixture();
    let now = at("2026-11-26T06:00:00Z");
    let steady = |d: i64| 200 + (d * 37) % 11;
    let spiky = events_csv(now, 30, |d| if d == 29 { 600 } else { steady(d) }, |_| 0.0);
    f.load("app.events", &spiky, LoadMode::Append).await;
    let monitors = [
        monitor(
            "app.events",
            "time_column = \"happened_at\"\ncolumns = [\"score\"]\n",
        ),
        monitor("app.missing", "time_column = \"happened_at\"\n"),
    ];
    let (addr, mut requests) = http_server(vec![OK]).await;
    let mut settings = channels(format!("http://{addr}/hook"), 0);
    settings.channels.truncate(1);
    let run = |now: DateTime<Utc>| {
        let scope = f.scope(now);
        let (wh, monitors, settings) = (&f.wh, &monitors, &settings);
        async move {
            let outcomes = run_monitors(wh, monitors, &scope)
                .await
                .expect("monitors run");
            raise_alerts(wh, settings, "test", &[], &outcomes, &scope)
                .await
                .expect("alerts")
        }
    };

    let first = run(now).await;
    let fired: Vec<(&str, &str, &str)> = first
        .iter()
        .map(|a| (a.alert_key.as_str(), a.event.as_str(), a.severity.as_str()))
        .collect();
    assert_eq!(
        fired,
        [
            ("anomaly:app.events:row_count", "firing", "warn"),
            ("monitor:app.missing", "firing", "error"),
        ],
        "{first:#?}"
    );
    assert!(first.iter().all(|a| a.delivered), "{first:#?}");
    assert!(
        first[0]
            .title
            .contains("row_count = 600 in bucket 2026-11-25 00:00"),
        "{}",
        first[0].title
    );
    assert!(first[1].title.contains("app.missing"), "{}", first[1].title);
    for _ in 0..2 {
        let request = requests.try_recv().expect("a webhook call per alert");
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
        assert!(body["text"].as_str().is_some(), "{body}");
    }

    // The report shows the anomalous series with its expected range.
    let report = kura_quality::quality_report(&f.wh).await.expect("report");
    let events = report
        .tables
        .iter()
        .find(|t| t.table == "app.events")
        .expect("app.events in the report");
    let volume = events
        .series
        .iter()
        .find(|s| s.series == "app.events:row_count")
        .expect("the volume series");
    assert_eq!(volume.status, "anomalous");
    assert_eq!(volume.value, Some(600.0));
    assert!(volume.expected_high.expect("high") < 600.0);
    assert_eq!(volume.recent.len(), 16);
    let markdown = report.render_markdown();
    assert!(
        markdown.contains("| `app.events:row_count` | ✗ anomalous | 600 |"),
        "{markdown}"
    );

    // An hour later nothing has changed: nothing is sent again.
    assert!(run(now + Duration::hours(1)).await.is_empty());
    assert!(requests.try_recv().is_err());

    // The spike is gone (the day reloaded with its usual rows) and the table exists: both
    // problems resolve.
    let clean = events_csv(now, 30, steady, |_| 0.0);
    f.load("app.events", &clean, LoadMode::Replace).await;
    f.load("app.missing", &clean, LoadMode::Append).await;
    let resolved = run(now + Duration::hours(2)).await;
    let events: Vec<(&str, &str)> = resolved
        .iter()
        .map(|a| (a.alert_key.as_str(), a.event.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("anomaly:app.events:row_count", "resolved"),
            ("monitor:app.missing", "resolved"),
        ],
        "{resolved:#?}"
    );
    let report = kura_quality::quality_report(&f.wh).await.expect("report");
    assert!(report.tables.iter().all(|t| t.open_alerts.is_empty()));
}

#[tokio::test]
async fn an_unreachable_channel_is_recorded_undelivered_within_the_bound_and_retried_next_run() {
    let f = fixture();
    f.load("shop.orders", ORDERS, LoadMode::Append).await;
    let list = checks(
        "shop.orders",
        "[o]\n[[o.checks]]\ntype = \"not_null\"\ncolumn = \"customer_id\"\nseverity = \"warn\"\n\
         [[o.checks]]\ntype = \"accepted_values\"\ncolumn = \"status\"\nvalues = [\"paid\"]\n\
         severity = \"warn\"\n",
    );
    let dead = kura_alert::testing::closed_port();
    let mut settings = channels(format!("http://127.0.0.1:{dead}/hook"), dead);
    settings.channels.truncate(1);
    let scope = f.scope(Utc::now());
    let results = run_checks(&f.wh, &list, &scope).await.expect("checks");
    assert_eq!(results[0].status, "warn");
    assert_eq!(results[1].status, "warn");
    let started = std::time::Instant::now();
    let first = raise_alerts(&f.wh, &settings, "test", &results, &[], &scope)
        .await
        .expect("alerts");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|a| !a.delivered));
    assert!(
        first[0].deliveries.contains("\"attempts\":3"),
        "{}",
        first[0].deliveries
    );
    // The run's alerts share the channel: once it has failed one, the rest wait for next run.
    assert!(
        first[1].deliveries.contains("\"attempts\":0")
            && first[1]
                .deliveries
                .contains("failed an earlier alert of this run"),
        "{}",
        first[1].deliveries
    );
    // Not delivered, so the next run tries again instead of staying quiet.
    let second = raise_alerts(&f.wh, &settings, "test", &results, &[], &scope)
        .await
        .expect("alerts");
    assert_eq!(second.len(), 2);
}

#[tokio::test]
async fn a_result_keeps_at_most_twenty_sample_rows() {
    let f = fixture();
    let mut csv = String::from("id,email\n");
    for id in 0..25 {
        csv.push_str(&format!("{id},\n"));
    }
    f.load("shop.signups", &csv, LoadMode::Append).await;
    let list = checks(
        "shop.signups",
        "[s]\n[[s.checks]]\ntype = \"not_null\"\ncolumn = \"email\"\n",
    );
    let results = run_checks(&f.wh, &list, &f.scope(Utc::now()))
        .await
        .expect("checks");
    assert_eq!(results[0].failing_count, Some(25));
    let samples: Vec<serde_json::Value> =
        serde_json::from_str(&results[0].samples).expect("samples are JSON");
    assert_eq!(samples.len(), 20);
}

#[tokio::test]
async fn quality_report_shows_last_results_trends_and_open_alerts() {
    let f = fixture();
    f.load("shop.orders", ORDERS, LoadMode::Append).await;
    let list = checks(
        "shop.orders",
        "[o]\n[[o.checks]]\ntype = \"not_null\"\ncolumn = \"customer_id\"\n\
         [[o.checks]]\ntype = \"not_null\"\ncolumn = \"order_id\"\n",
    );
    let settings = AlertSettings {
        channels: Vec::new(),
        retry: RetryPolicy::default(),
    };
    for _ in 0..2 {
        let scope = f.scope(Utc::now());
        let results = run_checks(&f.wh, &list, &scope).await.expect("checks");
        raise_alerts(&f.wh, &settings, "test", &results, &[], &scope)
            .await
            .expect("alerts");
    }
    let report = kura_quality::quality_report(&f.wh).await.expect("report");
    assert_eq!(report.tables.len(), 1);
    let table = &report.tables[0];
    assert_eq!(table.table, "shop.orders");
    let failing = table
        .checks
        .iter()
        .find(|c| c.name == "not_null(customer_id)")
        .expect("check");
    assert_eq!(failing.trend, ["fail", "fail"]);
    assert_eq!(table.open_alerts.len(), 1);
    assert!(report.has_problems());
    let markdown = report.render_markdown();
    assert!(
        markdown.contains("| `not_null(customer_id)` | ✗ fail | 1 | ✗✗ |"),
        "{markdown}"
    );
    let text = report.render_text();
    assert!(
        text.contains("alert open: shop.orders: not_null(customer_id) failed"),
        "{text}"
    );
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["tables"][0]["checks"][0]["status"], "fail");
}

/// Day buckets are the project zone's days: by offset arithmetic when the window has one UTC
/// offset (UTC, Asia/Kolkata at +05:30), by converting each row when it spans a daylight-saving
/// change (America/New_York on 2026-03-08). Every bucket's row count equals a count made here
/// with chrono-tz from the same instants.
#[tokio::test]
async fn monitor_day_buckets_follow_the_project_zone() {
    let f = fixture();
    let now = at("2026-03-20T12:00:00Z");
    // One event every 37 minutes for 20 days: every hour of the day, in every zone, is hit.
    let first = at("2026-02-28T00:00:00Z");
    let instants: Vec<DateTime<Utc>> = (0..20 * 24 * 60 / 37)
        .map(|i| first + Duration::minutes(37 * i))
        .collect();
    let mut csv = String::from("event_id,happened_at\n");
    for (i, t) in instants.iter().enumerate() {
        csv.push_str(&format!("{i},{}\n", t.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    f.load("app.ticks", &csv, LoadMode::Append).await;
    let spec: kura_quality::MonitorSpec =
        toml::from_str("time_column = \"happened_at\"\ncolumns = [\"event_id\"]\n")
            .expect("monitor spec");
    let monitors = vec![TableMonitor {
        table: "app.ticks".into(),
        spec,
    }];
    for zone_name in ["UTC", "Asia/Kolkata", "America/New_York"] {
        let zone: chrono_tz::Tz = zone_name.parse().expect("zone");
        let mut scope = RunScope::new("alice", zone_name);
        scope.now = now;
        let outcomes = run_monitors(&f.wh, &monitors, &scope)
            .await
            .expect("monitors run");
        assert!(outcomes[0].error.is_none(), "{:?}", outcomes[0].error);
        let counts: Vec<(String, f64)> = outcomes[0]
            .metrics
            .iter()
            .filter(|m| m.metric == "row_count")
            .map(|m| {
                (
                    m.bucket.format("%Y-%m-%d %H:%M").to_string(),
                    m.value.unwrap_or(0.0),
                )
            })
            .collect();
        assert_eq!(counts.len(), 16, "{zone_name}: {counts:?}");
        for (bucket, value) in &counts {
            let expected = instants
                .iter()
                .filter(|t| t.with_timezone(&zone).format("%Y-%m-%d 00:00").to_string() == *bucket)
                .count();
            assert_eq!(*value, expected as f64, "{zone_name} {bucket}");
        }
        // The days are local days: in Kolkata the first event of a UTC day at 00:00 is 05:30.
        assert!(
            counts.iter().all(|(b, _)| b.ends_with("00:00")),
            "{counts:?}"
        );
    }
}

/// The monitor's one-pass figures equal the engine's own aggregates, bucket by bucket: exact
/// row and null counts, mean, min and max; distinct counts within the sketch's error (exact for
/// small sets). The table is loaded in three appends, so its scan has several files and the
/// partitions' profiles are merged.
#[tokio::test]
async fn monitor_figures_equal_the_engines_aggregates() {
    let f = fixture();
    let now = at("2026-11-26T06:00:00Z");
    let start = at("2026-11-06T00:00:00Z");
    let header = "event_id,happened_at,user_id,amount,country,is_new,signup\n";
    let countries = ["JP", "US", "DE", "GB", "FR"];
    for part in 0..3 {
        let mut csv = String::from(header);
        for i in (part..24_000).step_by(3) {
            let t = start + Duration::seconds(i as i64 * 72);
            let user = if i % 11 == 0 {
                String::new()
            } else {
                ((i * 7_919) % 5_003).to_string()
            };
            let amount = if i % 13 == 0 {
                String::new()
            } else {
                format!("{}.{:02}", (i * 31) % 997, i % 100)
            };
            let country = if i % 17 == 0 { "" } else { countries[i % 5] };
            csv.push_str(&format!(
                "{i},{},{user},{amount},{country},{},2026-{:02}-{:02}\n",
                t.format("%Y-%m-%dT%H:%M:%SZ"),
                i % 4 == 0,
                1 + i % 12,
                1 + i % 28
            ));
        }
        f.load("app.events", &csv, LoadMode::Append).await;
    }
    let spec: kura_quality::MonitorSpec = toml::from_str(
        "time_column = \"happened_at\"\n\
         columns = [\"user_id\", \"amount\", \"country\", \"is_new\", \"signup\"]\n",
    )
    .expect("monitor spec");
    let monitors = vec![TableMonitor {
        table: "app.events".into(),
        spec,
    }];
    let outcomes = run_monitors(&f.wh, &monitors, &f.scope(now))
        .await
        .expect("monitors run");
    let outcome = &outcomes[0];
    assert!(outcome.error.is_none(), "{:?}", outcome.error);

    let exact =
        f.wh.query(
            "SELECT FORMAT_DATE('%Y-%m-%d', DATE(happened_at)) AS day, COUNT(*) AS n,
                    COUNTIF(user_id IS NULL) AS user_nulls, COUNT(DISTINCT user_id) AS users,
                    AVG(user_id) AS user_mean, MIN(user_id) AS user_min, MAX(user_id) AS user_max,
                    COUNTIF(amount IS NULL) AS amount_nulls, AVG(amount) AS amount_mean,
                    MIN(amount) AS amount_min, MAX(amount) AS amount_max,
                    COUNTIF(country IS NULL) AS country_nulls,
                    COUNT(DISTINCT country) AS countries, COUNT(DISTINCT is_new) AS flags,
                    COUNT(DISTINCT signup) AS signups
             FROM app.events WHERE happened_at >= TIMESTAMP '2026-11-10 00:00:00+00'
             GROUP BY day ORDER BY day",
            &QueryContext::new("alice"),
        )
        .await
        .expect("exact aggregates");
    let batch = arrow::compute::concat_batches(&exact.schema, &exact.batches).expect("concat");
    assert_eq!(batch.num_rows(), 16, "every day of the window has rows");
    let number = |name: &str, row: usize| -> f64 {
        let column = batch.column_by_name(name).expect("column");
        let value =
            arrow::compute::cast(&column.slice(row, 1), &arrow::datatypes::DataType::Float64)
                .expect("cast");
        value
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .expect("floats")
            .value(0)
    };
    let days = batch
        .column_by_name("day")
        .expect("day")
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("text")
        .clone();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    for row in 0..batch.num_rows() {
        let day = days.value(row);
        let value = |name: &str, column: Option<&str>| {
            metric(&outcome.metrics, name, column, day)
                .value
                .unwrap_or_else(|| panic!("{name} {column:?} {day} has no value"))
        };
        let n = number("n", row);
        assert_eq!(value("row_count", None), n, "{day}");
        for (column, nulls) in [
            ("user_id", "user_nulls"),
            ("amount", "amount_nulls"),
            ("country", "country_nulls"),
        ] {
            let rate = value("null_rate", Some(column));
            assert!(
                close(rate * n, number(nulls, row)),
                "{day} {column}: {rate}"
            );
        }
        for (column, prefix) in [("user_id", "user"), ("amount", "amount")] {
            for metric_name in ["mean", "min", "max"] {
                let (got, want) = (
                    value(metric_name, Some(column)),
                    number(&format!("{prefix}_{metric_name}"), row),
                );
                assert!(
                    close(got, want),
                    "{day} {metric_name}({column}): {got} vs {want}"
                );
            }
        }
        // A handful of values is counted exactly; dozens (84 signup dates) and a thousand-odd
        // users within three standard errors of the sketch.
        for (column, exact_name) in [("country", "countries"), ("is_new", "flags")] {
            assert_eq!(
                value("distinct_count", Some(column)),
                number(exact_name, row),
                "{day} distinct {column}"
            );
        }
        for (column, exact_name) in [("signup", "signups"), ("user_id", "users")] {
            let (estimate, exact) = (
                value("distinct_count", Some(column)),
                number(exact_name, row),
            );
            assert!(
                (estimate - exact).abs() <= 0.025 * exact,
                "{day}: {estimate} distinct {column} estimated, {exact} exact"
            );
        }
    }
}

/// A table's own columns named like the scan's outputs (`bucket`, `newest`, `c0`) are
/// monitored like any other.
#[tokio::test]
async fn a_monitor_on_columns_named_bucket_and_newest_runs() {
    let f = fixture();
    let now = at("2026-11-26T06:00:00Z");
    let mut csv = String::from("happened_at,bucket,newest,c0\n");
    for i in 0..400 {
        let t = at("2026-11-20T00:00:00Z") + Duration::minutes(20 * i);
        csv.push_str(&format!(
            "{},{},b{},{}\n",
            t.format("%Y-%m-%dT%H:%M:%SZ"),
            i % 7,
            i % 3,
            i % 5
        ));
    }
    f.load("app.odd", &csv, LoadMode::Append).await;
    let spec: kura_quality::MonitorSpec =
        toml::from_str("time_column = \"happened_at\"\n").expect("monitor spec");
    let monitors = vec![TableMonitor {
        table: "app.odd".into(),
        spec,
    }];
    let outcomes = run_monitors(&f.wh, &monitors, &f.scope(now))
        .await
        .expect("monitors run");
    assert!(outcomes[0].error.is_none(), "{:?}", outcomes[0].error);
    assert_eq!(outcomes[0].rows_scanned, 400);
    let day = "2026-11-21";
    assert_eq!(
        metric(&outcomes[0].metrics, "max", Some("bucket"), day).value,
        Some(6.0)
    );
    assert_eq!(
        metric(&outcomes[0].metrics, "distinct_count", Some("newest"), day).value,
        Some(3.0)
    );
    assert_eq!(
        metric(&outcomes[0].metrics, "min", Some("c0"), day).value,
        Some(0.0)
    );
}

/// The scan statements of the monitors run so far, for `table`.
async fn monitor_scans(f: &Fixture, table: &str) -> Vec<String> {
    let logged =
        f.wh.query_internal(
            "SELECT statement FROM kura._kura.query_log WHERE statement LIKE '%_kura_bucket%'",
        )
        .await
        .expect("query log");
    logged
        .iter()
        .flat_map(|b| {
            let column =
                arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).expect("text");
            column
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("strings")
                .iter()
                .map(|s| s.unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| s.ends_with(&format!("FROM {table}")) || s.contains(&format!("FROM {table} ")))
        .collect()
}

#[tokio::test]
async fn the_window_filter_is_left_out_only_when_statistics_show_every_row_in_it() {
    let f = fixture();
    let now = at("2026-11-26T06:00:00Z");
    // Rows on the window's 16 days only; then the same rows and one older row and one row
    // without a time.
    let mut recent = String::from("id,happened_at\n");
    for day in 0..16 {
        for i in 0..=day {
            let t = at("2026-11-10T01:00:00Z") + Duration::days(day) + Duration::minutes(i);
            recent.push_str(&format!("{day}{i},{}\n", t.format("%Y-%m-%dT%H:%M:%SZ")));
        }
    }
    let older = format!("{recent}900,2026-11-09T10:00:00Z\n901,\n");
    f.load("app.recent", &recent, LoadMode::Append).await;
    f.load("app.older", &older, LoadMode::Append).await;
    f.wh.store()
        .write_view(
            &TableName::new("app", "recent_view").expect("name"),
            "SELECT * FROM app.recent",
        )
        .expect("view");
    let spec: kura_quality::MonitorSpec =
        toml::from_str("time_column = \"happened_at\"\n").expect("spec");
    let monitors: Vec<TableMonitor> = ["app.recent", "app.older", "app.recent_view"]
        .into_iter()
        .map(|table| TableMonitor {
            table: table.into(),
            spec: spec.clone(),
        })
        .collect();
    let outcomes = run_monitors(&f.wh, &monitors, &f.scope(now))
        .await
        .expect("monitors run");
    for outcome in &outcomes {
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
    }

    let recent_scan = monitor_scans(&f, "app.recent").await;
    assert_eq!(recent_scan.len(), 1, "{recent_scan:?}");
    assert!(!recent_scan[0].contains("WHERE"), "{recent_scan:?}");
    for table in ["app.older", "app.recent_view"] {
        let scans = monitor_scans(&f, table).await;
        assert_eq!(scans.len(), 1, "{scans:?}");
        assert!(scans[0].contains("WHERE"), "{table}: {scans:?}");
    }

    // The same rows per day either way: the older row and the row without a time are not
    // counted, and no bucket before the window appears.
    let row_counts = |table: &'static str| {
        let wh = &f.wh;
        async move {
            let mut counts: Vec<(String, Option<f64>)> = monitor_history(wh, Some(table))
                .await
                .expect("history")
                .into_iter()
                .filter(|m| m.metric == "row_count")
                .map(|m| (m.bucket.to_string(), m.value))
                .collect();
            counts.sort_by(|a, b| a.0.cmp(&b.0));
            counts
        }
    };
    let expected: Vec<(String, Option<f64>)> = (0..16)
        .map(|day| {
            let bucket = at("2026-11-10T00:00:00Z") + Duration::days(day);
            (
                bucket.naive_utc().to_string(),
                Some(f64::from(day as u32 + 1)),
            )
        })
        .collect();
    assert_eq!(row_counts("app.recent").await, expected);
    assert_eq!(row_counts("app.older").await, expected);
    assert_eq!(row_counts("app.recent_view").await, expected);
}
