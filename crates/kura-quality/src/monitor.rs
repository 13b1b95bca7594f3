//! Monitors: metrics per time bucket of a table, computed in one scan, each series checked for
//! anomalies, and written to `_kura.monitor_metrics`.
//!
//! Per bucket of the time column (in the project's zone): the row count (volume); per monitored
//! column its null rate and approximate distinct count, and for numeric columns mean, min and
//! max. Per run: the table's freshness (hours since its newest row) and its schema. Only whole
//! buckets are judged: the current, still-filling bucket would look like a drop every run.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::Array;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use kura_engine::{EngineError, PendingLog, TableName, Warehouse};
use serde::{Deserialize, Serialize};

use crate::anomaly::{
    assess, AnomalySettings, Assessment, AssessmentStatus, Direction, Point, Seasonality,
};
use crate::bucket_profile::{BucketProfile, ColumnKind, ProfileLayout};
use crate::spec::{BucketWidth, MonitorSpec};
use crate::sql::{column, string_literal, table, RunScope};

/// Where a monitor's window starts, in the time column's terms.
enum WindowStart {
    /// A TIMESTAMP column: an instant.
    Instant(DateTime<Utc>),
    /// A DATETIME or DATE column: a wall-clock time in the project's zone.
    WallClock(NaiveDateTime),
}

impl WindowStart {
    /// Whether the Delta log's statistics of `table` show every row's `column` non-NULL and
    /// at or after the start. False whenever they cannot say (a view, a file without
    /// statistics, a value not read as a time).
    async fn holds_every_row(&self, wh: &Warehouse, table: &str, column: &str) -> bool {
        let Some(name) = table
            .split_once('.')
            .and_then(|(dataset, table)| TableName::new(dataset, table).ok())
        else {
            return false;
        };
        let Ok(Some(stats)) = wh.column_stats(&name, column).await else {
            return false;
        };
        stats.nulls == 0
            && stats.file_mins.iter().all(|min| {
                let Some(min) = min.as_str() else {
                    return false;
                };
                match self {
                    Self::Instant(start) => {
                        DateTime::parse_from_rfc3339(min).is_ok_and(|m| m >= *start)
                    }
                    Self::WallClock(start) => {
                        let wall = min.trim_end_matches('Z');
                        NaiveDateTime::parse_from_str(wall, "%Y-%m-%dT%H:%M:%S%.f")
                            .ok()
                            .or_else(|| {
                                chrono::NaiveDate::parse_from_str(wall, "%Y-%m-%d")
                                    .ok()
                                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                            })
                            .is_some_and(|m| m >= *start)
                    }
                }
            })
    }
}

/// The table's name in `_kura`.
pub const MONITOR_METRICS_TABLE: &str = "monitor_metrics";

/// A table's monitor, ready to run.
#[derive(Debug, Clone)]
pub struct TableMonitor {
    /// `dataset.table`.
    pub table: String,
    pub spec: MonitorSpec,
}

/// One metric of one bucket, with its anomaly assessment when it was in the detection window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorMetric {
    pub table: String,
    /// The column, or none for table metrics (row_count, freshness_hours, schema).
    pub column: Option<String>,
    /// row_count, null_rate, distinct_count, mean, min, max, freshness_hours, schema_change.
    pub metric: String,
    /// The bucket's start, wall-clock time in the project's zone.
    pub bucket: NaiveDateTime,
    pub bucket_width: String,
    pub value: Option<f64>,
    /// For schema metrics: the columns, or what changed.
    pub detail: Option<String>,
    /// Whether this bucket was judged (in the detection window) or only training.
    pub assessed: bool,
    /// normal, anomalous, insufficient_training, no_value; `training` for training buckets.
    pub status: String,
    pub is_anomaly: bool,
    pub score: Option<f64>,
    pub expected_low: Option<f64>,
    pub expected_high: Option<f64>,
    pub training_mean: Option<f64>,
    pub training_stddev: Option<f64>,
    pub training_size: i64,
    pub sensitivity: f64,
    pub run_id: String,
    pub computed_at: DateTime<Utc>,
}

impl MonitorMetric {
    /// A metric of `bucket` not judged (yet): a training bucket until an assessment is added.
    fn unjudged(
        table: &str,
        column: Option<String>,
        metric: &str,
        bucket: NaiveDateTime,
        width: BucketWidth,
        value: Option<f64>,
        scope: &RunScope,
    ) -> Self {
        MonitorMetric {
            table: table.to_string(),
            column,
            metric: metric.to_string(),
            bucket,
            bucket_width: width.as_str().to_string(),
            value,
            detail: None,
            assessed: false,
            status: "training".to_string(),
            is_anomaly: false,
            score: None,
            expected_low: None,
            expected_high: None,
            training_mean: None,
            training_stddev: None,
            training_size: 0,
            sensitivity: 0.0,
            run_id: scope.run_id.clone(),
            computed_at: scope.now,
        }
    }

    /// The series this metric belongs to: `marts.orders:null_rate(status)`.
    pub fn series_id(&self) -> String {
        match &self.column {
            Some(c) => format!("{}:{}({c})", self.table, self.metric),
            None => format!("{}:{}", self.table, self.metric),
        }
    }
}

/// A monitor's run: its metrics, or why it could not run.
#[derive(Debug, Clone)]
pub struct MonitorOutcome {
    pub table: String,
    pub metrics: Vec<MonitorMetric>,
    pub error: Option<String>,
    /// Rows the scan read.
    pub rows_scanned: u64,
}

impl MonitorOutcome {
    /// The assessed metrics found anomalous.
    pub fn anomalies(&self) -> impl Iterator<Item = &MonitorMetric> {
        self.metrics.iter().filter(|m| m.is_anomaly)
    }
}

/// The Arrow schema of `_kura.monitor_metrics`.
pub fn monitor_metrics_schema() -> SchemaRef {
    let text = |n: &str, nullable| Field::new(n, DataType::Utf8, nullable);
    let float = |n: &str| Field::new(n, DataType::Float64, true);
    Arc::new(Schema::new(vec![
        text("table", false),
        text("column", true),
        text("metric", false),
        Field::new(
            "bucket",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        text("bucket_width", false),
        float("value"),
        text("detail", true),
        Field::new("assessed", DataType::Boolean, false),
        text("status", false),
        Field::new("is_anomaly", DataType::Boolean, false),
        float("score"),
        float("expected_low"),
        float("expected_high"),
        float("training_mean"),
        float("training_stddev"),
        Field::new("training_size", DataType::Int64, false),
        Field::new("sensitivity", DataType::Float64, false),
        text("run_id", false),
        Field::new(
            "computed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// Appends metrics in one commit.
///
/// # Errors
/// [`EngineError`] when the commit fails.
pub async fn record_monitor_metrics(
    wh: &Warehouse,
    metrics: &[MonitorMetric],
) -> Result<(), EngineError> {
    wh.append_system_rows(MONITOR_METRICS_TABLE, monitor_metrics_schema(), metrics)
        .await
}

/// The recorded metrics of a table (all tables when `table` is none), oldest run first.
///
/// # Errors
/// [`EngineError`] when the table cannot be read.
pub async fn monitor_history(
    wh: &Warehouse,
    table: Option<&str>,
) -> Result<Vec<MonitorMetric>, EngineError> {
    let filter = table
        .map(|t| format!(" WHERE \"table\" = '{}'", t.replace('\'', "''")))
        .unwrap_or_default();
    let mut rows: Vec<MonitorMetric> = wh
        .read_system_rows(
            MONITOR_METRICS_TABLE,
            &format!("SELECT * FROM kura._kura.monitor_metrics{filter}"),
        )
        .await?;
    rows.sort_by_key(|a| a.computed_at);
    Ok(rows)
}

/// The earlier runs' `freshness_hours` metrics of a table's newest `buckets` buckets (however
/// old: runs may be far apart), and its last `schema` metric, oldest run first. Not the whole
/// history, so that a run does not slow down as the history grows.
async fn judging_history(
    wh: &Warehouse,
    table: &str,
    buckets: usize,
) -> Result<Vec<MonitorMetric>, EngineError> {
    let table = format!("\"table\" = '{}'", table.replace('\'', "''"));
    let mut rows: Vec<MonitorMetric> = wh
        .read_system_rows(
            MONITOR_METRICS_TABLE,
            &format!(
                "SELECT * FROM kura._kura.monitor_metrics WHERE {table} AND (\
                 (metric = 'freshness_hours' AND bucket >= (SELECT MIN(bucket) FROM (\
                   SELECT DISTINCT bucket FROM kura._kura.monitor_metrics \
                   WHERE {table} AND metric = 'freshness_hours' \
                   ORDER BY bucket DESC LIMIT {buckets}))) \
                 OR (metric = 'schema' AND computed_at = (\
                   SELECT MAX(computed_at) FROM kura._kura.monitor_metrics \
                   WHERE {table} AND metric = 'schema')))"
            ),
        )
        .await?;
    rows.sort_by_key(|a| a.computed_at);
    Ok(rows)
}

/// Runs one monitor. Problems (a missing table or column, a time column of the wrong type)
/// come back in [`MonitorOutcome::error`], so other monitors still run. The scan's query-log
/// entry (when it got as far as the scan) comes back unwritten, for the caller to write
/// alongside other work ([`crate::run_monitors`]).
pub(crate) async fn run_monitor<'a>(
    wh: &'a Warehouse,
    monitor: &TableMonitor,
    scope: &RunScope,
) -> (MonitorOutcome, Option<PendingLog<'a>>) {
    let mut outcome = MonitorOutcome {
        table: monitor.table.clone(),
        metrics: Vec::new(),
        error: None,
        rows_scanned: 0,
    };
    let mut log = None;
    match measure(wh, monitor, scope, &mut log).await {
        Ok((metrics, rows)) => {
            outcome.metrics = metrics;
            outcome.rows_scanned = rows;
        }
        Err(message) => outcome.error = Some(message),
    }
    (outcome, log)
}

/// Measures a table; the scan's log entry goes to `log` as soon as the scan has run, whatever
/// happens after it.
async fn measure<'a>(
    wh: &'a Warehouse,
    monitor: &TableMonitor,
    scope: &RunScope,
    log: &mut Option<PendingLog<'a>>,
) -> Result<(Vec<MonitorMetric>, u64), String> {
    let spec = &monitor.spec;
    let settings = spec.anomaly();
    settings.validate()?;
    let t = table(&monitor.table)?;
    let ctx = scope
        .query_context()
        .with_label("monitor", monitor.table.clone())
        .with_label("model", monitor.table.clone());
    let schema = wh
        .query_schema(&format!("SELECT * FROM {t} LIMIT 0"), &ctx)
        .await
        .map_err(|e| e.to_string())?;
    let zone: chrono_tz::Tz = scope.timezone.parse().map_err(|_| {
        format!(
            "the project's timezone `{}` is not an IANA zone name",
            scope.timezone
        )
    })?;

    let time_field = schema.field_with_name(&spec.time_column).map_err(|_| {
        format!(
            "time column `{}` does not exist in `{}`",
            spec.time_column, monitor.table
        )
    })?;
    let time_type = time_field.data_type().clone();

    let columns = monitored_columns(&schema, spec)?;

    // The window: enough whole buckets for training and detection, ending at the current
    // bucket's start. With weekday seasonality, training takes the same weekday from earlier
    // weeks, so the window spans that many weeks.
    let width = spec.bucket.duration();
    let now_local = scope.now.with_timezone(&zone).naive_local();
    let current = truncate(now_local, spec.bucket);
    let per_season = match (settings.seasonality, spec.bucket) {
        (Seasonality::None, _) => 1,
        (Seasonality::DayOfWeek, BucketWidth::Day) => 7,
        (Seasonality::DayOfWeek, BucketWidth::Hour) => 7 * 24,
    };
    let buckets = settings.training_buckets * per_season + settings.detection_buckets;
    let start = current - width * i32::try_from(buckets).map_err(|_| "window too long")?;

    let bucket_width = match spec.bucket {
        BucketWidth::Day => "DAY",
        BucketWidth::Hour => "HOUR",
    };
    let time = column(&spec.time_column);
    let zone_literal = string_literal(&scope.timezone);
    let fmt = |d: NaiveDateTime| d.format("%Y-%m-%d %H:%M:%S").to_string();
    let mut zone_offset = None;
    let (bucket_expr, lower_bound, window_start) = match &time_type {
        DataType::Timestamp(_, Some(_)) => {
            let start_utc = zone
                .from_local_datetime(&start)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or("the window's start does not exist in the project's zone")?;
            let bucket = match fixed_offset(&zone, start_utc, buckets, width) {
                // One UTC offset over the whole window (no daylight-saving change in it): the
                // local bucket is integer arithmetic on the instant, far cheaper than converting
                // every row to a zone's wall clock. The scan returns the instant in
                // microseconds and the fold finds its bucket (the bucket's local start in
                // microseconds, which reads back as a DATETIME).
                Some(offset) => {
                    zone_offset = Some(i64::from(offset) * 1_000_000);
                    format!("UNIX_MICROS({time})")
                }
                None => {
                    format!("DATETIME_TRUNC(DATETIME({time}, {zone_literal}), {bucket_width})")
                }
            };
            (
                bucket,
                format!("{time} >= TIMESTAMP '{}+00:00'", fmt(start_utc.naive_utc())),
                WindowStart::Instant(start_utc),
            )
        }
        DataType::Timestamp(_, None) => (
            format!("DATETIME_TRUNC({time}, {bucket_width})"),
            format!("{time} >= DATETIME '{}'", fmt(start)),
            WindowStart::WallClock(start),
        ),
        DataType::Date32 | DataType::Date64 if spec.bucket == BucketWidth::Day => (
            format!("CAST({time} AS DATETIME)"),
            format!("{time} >= DATE '{}'", start.format("%Y-%m-%d")),
            WindowStart::WallClock(start),
        ),
        other => {
            return Err(format!(
                "time column `{}` is {other}; a monitor needs TIMESTAMP, DATETIME or (for daily \
                 buckets) DATE",
                spec.time_column
            ))
        }
    };

    // One scan: the engine reads and filters the table, and each of its output partitions is
    // folded into a profile per bucket on its own thread (see `bucket_profile`).
    // Positional aliases: a table's own `bucket` or `newest` column, or a column listed twice,
    // must not clash with the scan's other outputs (the fold reads them by position).
    let mut selects = vec![
        format!("{bucket_expr} AS _kura_bucket"),
        format!("{time} AS _kura_newest"),
    ];
    selects.extend(
        columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("{} AS c{i}", column(name))),
    );
    // The window's filter is left out when the table's statistics show that every row is in
    // it: on a table holding only the window (a retention-limited table, a benchmark), the
    // filter read the time column a second time and compared every row, a tenth of the scan.
    let filter = if window_start
        .holds_every_row(wh, &monitor.table, &spec.time_column)
        .await
    {
        String::new()
    } else {
        format!(" WHERE {lower_bound}")
    };
    let sql = format!("SELECT {} FROM {t}{filter}", selects.join(", "));
    let layout = Arc::new(ProfileLayout {
        first_bucket: start.and_utc().timestamp_micros(),
        width: width.num_microseconds().ok_or("bucket too wide")?,
        window: buckets,
        zone_offset,
        kinds: columns.iter().map(|(_, kind)| *kind).collect(),
    });
    // The earlier runs' figures that freshness and schema are judged against are read while
    // the scan runs: the read mostly waits on the Delta log, the scan mostly computes. `join`,
    // not `try_join`: a failed history read must not cut the scan short before it is logged.
    let ((folded, pending), history) = futures::join!(
        wh.query_fold_log_later(
            &sql,
            &ctx,
            || BucketProfile::new(layout.clone()),
            BucketProfile::fold,
        ),
        judging_history(wh, &monitor.table, buckets + 1),
    );
    *log = Some(pending);
    let folded = folded.map_err(|e| e.to_string())?;
    let history = history.map_err(|e| e.to_string())?;
    let rows_scanned = folded.rows;
    let mut partitions = folded.partitions.into_iter();
    let mut profile = partitions
        .next()
        .unwrap_or_else(|| BucketProfile::new(layout.clone()));
    for other in partitions {
        profile.merge(other);
    }
    let newest = match profile.newest() {
        Some(array) => instants(array, &time_type, &zone)?
            .into_iter()
            .next()
            .flatten(),
        None => None,
    };

    // Values per bucket, by metric name (`c3_nulls`, `c3_mean`, ...).
    let mut by_bucket: BTreeMap<NaiveDateTime, BTreeMap<String, Option<f64>>> = BTreeMap::new();
    for figures in profile.figures() {
        let Some(bucket) = DateTime::from_timestamp_micros(figures.key).map(|t| t.naive_utc())
        else {
            continue;
        };
        let values = by_bucket.entry(bucket).or_default();
        values.insert("row_count".into(), Some(figures.rows as f64));
        for (i, c) in figures.columns.iter().enumerate() {
            values.insert(format!("c{i}_nulls"), Some(c.nulls as f64));
            values.insert(format!("c{i}_distinct"), c.distinct);
            values.insert(format!("c{i}_mean"), c.mean);
            values.insert(format!("c{i}_min"), c.min);
            values.insert(format!("c{i}_max"), c.max);
        }
    }

    let mut metrics = Vec::new();
    let whole: Vec<NaiveDateTime> = (0..buckets)
        .map(|i| start + width * i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    let value_of = |bucket: &NaiveDateTime, key: &str| -> Option<f64> {
        by_bucket
            .get(bucket)
            .and_then(|v| v.get(key).copied().flatten())
    };
    let rows_of = |bucket: &NaiveDateTime| value_of(bucket, "row_count").unwrap_or(0.0);

    let mut series: Vec<(Option<String>, &'static str, Vec<Point>)> = Vec::new();
    // Volume: an empty bucket is zero rows, which is exactly what a volume monitor looks for.
    series.push((
        None,
        "row_count",
        whole
            .iter()
            .map(|b| Point {
                bucket: *b,
                value: Some(rows_of(b)),
            })
            .collect(),
    ));
    for (i, (name, kind)) in columns.iter().enumerate() {
        let rate = whole
            .iter()
            .map(|b| {
                let rows = rows_of(b);
                Point {
                    bucket: *b,
                    value: (rows > 0.0)
                        .then(|| value_of(b, &format!("c{i}_nulls")).unwrap_or(0.0) / rows),
                }
            })
            .collect();
        series.push((Some(name.clone()), "null_rate", rate));
        let mut per_metric = Vec::new();
        if kind.counts_distinct() {
            per_metric.push(("distinct_count", "distinct"));
        }
        if kind.numeric() {
            per_metric.extend([("mean", "mean"), ("min", "min"), ("max", "max")]);
        }
        for (metric, suffix) in per_metric {
            let points = whole
                .iter()
                .map(|b| Point {
                    bucket: *b,
                    value: if rows_of(b) > 0.0 {
                        value_of(b, &format!("c{i}_{suffix}"))
                    } else {
                        None
                    },
                })
                .collect();
            series.push((Some(name.clone()), metric, points));
        }
    }

    for (col, metric, points) in series {
        let assessments = assess(&points, &settings);
        let judged: BTreeMap<NaiveDateTime, &Assessment> =
            assessments.iter().map(|a| (a.bucket, a)).collect();
        for point in &points {
            let mut base = MonitorMetric::unjudged(
                &monitor.table,
                col.clone(),
                metric,
                point.bucket,
                spec.bucket,
                point.value,
                scope,
            );
            base.sensitivity = settings.sensitivity;
            metrics.push(match judged.get(&point.bucket) {
                Some(a) => with_assessment(base, a),
                None => base,
            });
        }
    }

    // Freshness and schema are judged against earlier runs (`history`, read alongside the
    // scan): only the freshness of the newest buckets training can use, and the last schema.
    metrics.push(freshness_metric(
        monitor,
        scope,
        spec.bucket,
        current,
        newest,
        &history,
        &settings,
    ));
    metrics.extend(schema_metrics(
        monitor,
        scope,
        spec.bucket,
        current,
        &schema,
        &history,
    ));
    Ok((metrics, rows_scanned))
}

fn with_assessment(mut metric: MonitorMetric, a: &Assessment) -> MonitorMetric {
    metric.assessed = true;
    metric.status = match a.status {
        AssessmentStatus::Normal => "normal",
        AssessmentStatus::Anomalous => "anomalous",
        AssessmentStatus::InsufficientTraining => "insufficient_training",
        AssessmentStatus::NoValue => "no_value",
    }
    .to_string();
    metric.is_anomaly = a.is_anomaly;
    metric.score = a.score;
    metric.expected_low = a.expected_low;
    metric.expected_high = a.expected_high;
    metric.training_mean = a.training_mean;
    metric.training_stddev = a.training_stddev;
    metric.training_size = i64::try_from(a.training_size).unwrap_or(i64::MAX);
    metric
}

/// Hours since the newest row, judged against the same metric of earlier runs: only a rise
/// (staler data) is an anomaly.
fn freshness_metric(
    monitor: &TableMonitor,
    scope: &RunScope,
    width: BucketWidth,
    current: NaiveDateTime,
    newest: Option<DateTime<Utc>>,
    history: &[MonitorMetric],
    settings: &AnomalySettings,
) -> MonitorMetric {
    let value = newest.map(|n| (scope.now - n).num_seconds() as f64 / 3600.0);
    // One value per bucket: the latest run's in each.
    let mut earlier: BTreeMap<NaiveDateTime, Option<f64>> = BTreeMap::new();
    for m in history.iter().filter(|m| m.metric == "freshness_hours") {
        if m.bucket < current {
            earlier.insert(m.bucket, m.value);
        }
    }
    let mut points: Vec<Point> = earlier
        .into_iter()
        .map(|(bucket, value)| Point { bucket, value })
        .collect();
    points.push(Point {
        bucket: current,
        value,
    });
    let freshness_settings = AnomalySettings {
        detection_buckets: 1,
        direction: Direction::Spike,
        ..settings.clone()
    };
    let mut base = MonitorMetric::unjudged(
        &monitor.table,
        None,
        "freshness_hours",
        current,
        width,
        value,
        scope,
    );
    base.detail = newest.map(|n| n.to_rfc3339());
    base.sensitivity = settings.sensitivity;
    match assess(&points, &freshness_settings).last() {
        Some(a) if a.bucket == current => with_assessment(base, a),
        _ => base,
    }
}

/// The table's columns now (`schema`), and a `schema_change` anomaly when they differ from
/// the last recorded run.
fn schema_metrics(
    monitor: &TableMonitor,
    scope: &RunScope,
    width: BucketWidth,
    current: NaiveDateTime,
    schema: &SchemaRef,
    history: &[MonitorMetric],
) -> Vec<MonitorMetric> {
    let now: BTreeMap<String, String> = schema
        .fields()
        .iter()
        .map(|f| {
            (
                f.name().clone(),
                kura_engine::load::bigquery_type_name(f.data_type()),
            )
        })
        .collect();
    let described = serde_json::to_string(&now).unwrap_or_default();
    let base = |metric: &str, detail: String, anomaly: bool| MonitorMetric {
        detail: Some(detail),
        assessed: true,
        status: if anomaly { "anomalous" } else { "normal" }.to_string(),
        is_anomaly: anomaly,
        ..MonitorMetric::unjudged(
            &monitor.table,
            None,
            metric,
            current,
            width,
            Some(now.len() as f64),
            scope,
        )
    };
    let mut out = vec![base("schema", described, false)];
    let previous = history
        .iter()
        .rev()
        .find(|m| m.metric == "schema")
        .and_then(|m| m.detail.as_deref())
        .and_then(|d| serde_json::from_str::<BTreeMap<String, String>>(d).ok());
    if let Some(before) = previous {
        let mut changes = Vec::new();
        for (name, ty) in &now {
            match before.get(name) {
                None => changes.push(format!("added `{name}` {ty}")),
                Some(old) if old != ty => changes.push(format!("retyped `{name}` {old} → {ty}")),
                _ => {}
            }
        }
        for name in before.keys().filter(|n| !now.contains_key(*n)) {
            changes.push(format!("removed `{name}`"));
        }
        if !changes.is_empty() {
            out.push(base("schema_change", changes.join("; "), true));
        }
    }
    out
}

fn monitored_columns(
    schema: &Schema,
    spec: &MonitorSpec,
) -> Result<Vec<(String, ColumnKind)>, String> {
    let kind_of = |dt: &DataType| -> Option<ColumnKind> {
        match dt {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => Some(ColumnKind::Integer),
            DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => Some(ColumnKind::Continuous),
            DataType::List(_)
            | DataType::LargeList(_)
            | DataType::Struct(_)
            | DataType::Map(_, _) => None,
            _ => Some(ColumnKind::Other),
        }
    };
    match &spec.columns {
        Some(names) => names
            .iter()
            .map(|n| {
                let field = schema
                    .field_with_name(n)
                    .map_err(|_| format!("monitored column `{n}` does not exist"))?;
                let kind = kind_of(field.data_type()).ok_or_else(|| {
                    format!(
                        "monitored column `{n}` is {}; only scalar columns are monitored",
                        field.data_type()
                    )
                })?;
                Ok((n.clone(), kind))
            })
            .collect(),
        None => Ok(schema
            .fields()
            .iter()
            .filter(|f| f.name() != &spec.time_column)
            .filter_map(|f| kind_of(f.data_type()).map(|k| (f.name().clone(), k)))
            .collect()),
    }
}

/// The zone's UTC offset in seconds when it is the same at every bucket start of the window
/// (`buckets` of `width` from `start`, and the end of the last), else `None`. A daylight-saving
/// change moves the offset, so it shows between two consecutive bucket starts.
fn fixed_offset(
    zone: &chrono_tz::Tz,
    start: DateTime<Utc>,
    buckets: usize,
    width: Duration,
) -> Option<i32> {
    use chrono::Offset;
    let offset_at = |t: DateTime<Utc>| {
        zone.offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let first = offset_at(start);
    let mut t = start;
    for _ in 0..buckets {
        t += width;
        if offset_at(t) != first {
            return None;
        }
    }
    Some(first)
}

fn truncate(t: NaiveDateTime, width: BucketWidth) -> NaiveDateTime {
    let date = t.date();
    match width {
        BucketWidth::Day => date.and_hms_opt(0, 0, 0).unwrap_or(t),
        BucketWidth::Hour => date.and_hms_opt(t.hour(), 0, 0).unwrap_or(t),
    }
}

fn naive_times(array: &arrow::array::ArrayRef) -> Result<Vec<Option<NaiveDateTime>>, String> {
    let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))
        .map_err(|e| format!("bucket column: {e}"))?;
    let micros = micros
        .as_any()
        .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
        .ok_or("bucket column is not a timestamp")?;
    Ok((0..micros.len())
        .map(|i| {
            (!micros.is_null(i))
                .then(|| DateTime::from_timestamp_micros(micros.value(i)).map(|t| t.naive_utc()))
                .flatten()
        })
        .collect())
}

/// The newest-value column as instants: TIMESTAMP as is, DATETIME in the project's zone, a
/// DATE at the end of its day there.
fn instants(
    array: &arrow::array::ArrayRef,
    time_type: &DataType,
    zone: &chrono_tz::Tz,
) -> Result<Vec<Option<DateTime<Utc>>>, String> {
    let local = |naive: NaiveDateTime| {
        zone.from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    match time_type {
        DataType::Timestamp(_, Some(_)) => Ok(naive_times(array)?
            .into_iter()
            .map(|t| t.map(|t| t.and_utc()))
            .collect()),
        DataType::Timestamp(_, None) => Ok(naive_times(array)?
            .into_iter()
            .map(|t| t.and_then(local))
            .collect()),
        _ => {
            let as_time = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))
                .map_err(|e| format!("time column: {e}"))?;
            Ok(naive_times(&as_time)?
                .into_iter()
                .map(|t| t.map(|t| t + Duration::days(1)).and_then(local))
                .collect())
        }
    }
}

/// One line about an anomalous metric, for alerts and reports.
pub fn describe_anomaly(metric: &MonitorMetric) -> String {
    match metric.metric.as_str() {
        "schema_change" => format!(
            "{}: schema changed: {}",
            metric.table,
            metric.detail.as_deref().unwrap_or("")
        ),
        _ => format!(
            "{}: {} = {} in bucket {} (expected {} to {}, z = {})",
            metric.series_id(),
            metric.metric,
            fmt_num(metric.value),
            metric.bucket.format("%Y-%m-%d %H:%M"),
            fmt_num(metric.expected_low),
            fmt_num(metric.expected_high),
            fmt_num(metric.score),
        ),
    }
}

fn fmt_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 1000.0 || v == v.trunc() => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
        None => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::fixed_offset;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn a_window_without_a_daylight_saving_change_has_one_offset() {
        let day = Duration::days(1);
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(
            fixed_offset(&chrono_tz::Asia::Tokyo, start, 16, day),
            Some(9 * 3600)
        );
        assert_eq!(
            fixed_offset(&chrono_tz::Asia::Kolkata, start, 16, day),
            Some(5 * 3600 + 1800)
        );
        // New York moves its clocks on 2026-03-08: a window across it has no single offset.
        let ny = chrono_tz::America::New_York;
        assert_eq!(fixed_offset(&ny, start, 16, day), None);
        assert_eq!(fixed_offset(&ny, start, 6, day), Some(-5 * 3600));
        let hours = Duration::hours(1);
        let before = Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap();
        assert_eq!(fixed_offset(&ny, before, 3, hours), None);
    }
}
