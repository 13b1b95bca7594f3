//! Running checks: each [`CheckSpec`] becomes one GoogleSQL query that counts the rows
//! checked and the rows failing, and, when some fail, a second that fetches up to
//! [`SAMPLE_ROWS`] of them. Queries go through the warehouse like any other, so they are
//! access-checked and show up in the query log labelled `check=<id>`.

use std::time::Instant;

use arrow::array::{Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use kura_engine::{QueryContext, Warehouse};

use crate::results::{CheckResult, CheckStatus};
use crate::spec::{Bound, CheckKind, CheckSpec, OutlierMethod, Severity};
use crate::sql::{column, literal, table, RunScope};

/// How many failing rows are kept with a result.
pub const SAMPLE_ROWS: usize = 20;

/// A check of one table, ready to run.
#[derive(Debug, Clone)]
pub struct TableCheck {
    /// `dataset.table`.
    pub table: String,
    pub spec: CheckSpec,
}

impl TableCheck {
    /// The check's id in `_kura.check_results`: `marts.orders:not_null(order_id)`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.table, self.spec.display_name())
    }
}

/// Runs one check. A check that cannot run (a missing table or column, a query error) is a
/// result with status `error` and the reason, never an `Err`: one broken check must not hide
/// the others.
pub async fn run_check(wh: &Warehouse, check: &TableCheck, scope: &RunScope) -> CheckResult {
    let started_at = Utc::now();
    let timer = Instant::now();
    let ctx = scope
        .query_context()
        .with_label("check", check.id())
        .with_label("model", check.table.clone());
    let outcome = evaluate(wh, check, &ctx, scope).await;
    let finished_at = Utc::now();
    let mut result = CheckResult {
        check_id: check.id(),
        table: check.table.clone(),
        check_name: check.spec.display_name(),
        check_type: check.spec.kind.type_name().to_string(),
        column: Some(check.spec.kind.columns().join(", ")).filter(|c| !c.is_empty()),
        severity: check.spec.severity.as_str().to_string(),
        status: CheckStatus::Error.as_str().to_string(),
        element_count: None,
        failing_count: None,
        failing_percent: None,
        observed: None,
        message: String::new(),
        samples: "[]".to_string(),
        sql: String::new(),
        run_id: scope.run_id.clone(),
        principal: scope.principal.clone(),
        started_at,
        finished_at,
        duration_ms: timer.elapsed().as_millis() as i64,
    };
    match outcome {
        Ok(e) => {
            let failed = e.failing > 0;
            let status = match (failed, check.spec.severity) {
                (false, _) => CheckStatus::Pass,
                (true, Severity::Warn) => CheckStatus::Warn,
                (true, Severity::Error) => CheckStatus::Fail,
            };
            result.status = status.as_str().to_string();
            result.element_count = e.elements;
            result.failing_count = Some(e.failing);
            result.failing_percent = e
                .elements
                .filter(|n| *n > 0)
                .map(|n| 100.0 * e.failing as f64 / n as f64);
            result.observed = e.observed;
            result.message = e.message;
            result.samples = e.samples;
            result.sql = e.sql;
        }
        Err(failure) => {
            result.message = failure.message;
            result.sql = failure.sql;
        }
    }
    result
}

/// What a check found.
struct Evaluation {
    elements: Option<i64>,
    failing: i64,
    observed: Option<f64>,
    message: String,
    samples: String,
    sql: String,
}

/// Why a check could not run, and the query that failed.
struct Failure {
    message: String,
    sql: String,
}

/// The counting query and, for when rows fail, the query for samples.
struct CheckSql {
    count: String,
    samples: Option<String>,
}

async fn evaluate(
    wh: &Warehouse,
    check: &TableCheck,
    ctx: &QueryContext,
    scope: &RunScope,
) -> Result<Evaluation, Failure> {
    let t = table(&check.table).map_err(|message| Failure {
        message,
        sql: String::new(),
    })?;
    let filter = check
        .spec
        .filter
        .as_deref()
        .map_or_else(|| "TRUE".to_string(), |f| format!("({f})"));
    match &check.spec.kind {
        CheckKind::RowCount { min, max } => {
            let sql = format!("SELECT COUNT(*) AS n FROM {t} WHERE {filter}");
            let batches = query(wh, &sql, ctx).await?;
            let n = scalar_i64(&batches, 0).unwrap_or(0);
            let below = min.is_some_and(|lo| (n as u64) < lo);
            let above = max.is_some_and(|hi| (n as u64) > hi);
            let expected = match (min, max) {
                (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
                (Some(lo), None) => format!("at least {lo}"),
                (None, Some(hi)) => format!("at most {hi}"),
                (None, None) => "any".to_string(),
            };
            Ok(Evaluation {
                elements: Some(n),
                failing: i64::from(below || above),
                observed: Some(n as f64),
                message: format!("{n} rows; expected {expected}"),
                samples: "[]".into(),
                sql,
            })
        }
        CheckKind::Freshness {
            column: c,
            max_age_hours,
        } => {
            let sql = format!(
                "SELECT MAX({col}) AS newest FROM {t} WHERE {filter}",
                col = column(c)
            );
            let batches = query(wh, &sql, ctx).await?;
            let newest = newest_instant(&batches, &scope.timezone).map_err(|message| Failure {
                message,
                sql: sql.clone(),
            })?;
            let Some(newest) = newest else {
                return Ok(Evaluation {
                    elements: Some(0),
                    failing: 1,
                    observed: None,
                    message: format!("`{c}` has no values: the table is empty or all NULL"),
                    samples: "[]".into(),
                    sql,
                });
            };
            let age = (scope.now - newest).num_seconds() as f64 / 3600.0;
            Ok(Evaluation {
                elements: Some(1),
                failing: i64::from(age > *max_age_hours),
                observed: Some(age),
                message: format!(
                    "newest `{c}` is {age:.1} h old ({}); allowed {max_age_hours} h",
                    newest.format("%Y-%m-%d %H:%M:%S UTC")
                ),
                samples: "[]".into(),
                sql,
            })
        }
        CheckKind::Outliers {
            column: c,
            method,
            k,
        } => outliers(wh, ctx, &t, &filter, c, *method, *k).await,
        kind => {
            let plan = compile(kind, &t, &filter, wh, ctx).await?;
            counted(wh, ctx, plan).await
        }
    }
}

/// The checks whose result is "how many rows break a rule".
async fn compile(
    kind: &CheckKind,
    t: &str,
    filter: &str,
    wh: &Warehouse,
    ctx: &QueryContext,
) -> Result<CheckSql, Failure> {
    let counting = |failing: &str| {
        format!(
            "SELECT COUNT(*) AS element_count, COUNTIF({failing}) AS failing_count \
             FROM {t} WHERE {filter}"
        )
    };
    let sampling = |failing: &str| {
        format!("SELECT * FROM {t} WHERE {filter} AND ({failing}) LIMIT {SAMPLE_ROWS}")
    };
    Ok(match kind {
        CheckKind::NotNull { column: c } => {
            let failing = format!("{} IS NULL", column(c));
            CheckSql {
                count: counting(&failing),
                samples: Some(sampling(&failing)),
            }
        }
        CheckKind::AcceptedValues { column: c, values } => {
            let list = values
                .iter()
                .map(literal)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|message| Failure {
                    message,
                    sql: String::new(),
                })?
                .join(", ");
            let col = column(c);
            let failing = format!("{col} IS NOT NULL AND {col} NOT IN ({list})");
            CheckSql {
                count: counting(&failing),
                samples: Some(format!(
                    "SELECT {col} AS failing_value, COUNT(*) AS failing_rows FROM {t} \
                     WHERE {filter} AND ({failing}) GROUP BY failing_value \
                     ORDER BY failing_rows DESC, failing_value \
                     LIMIT {SAMPLE_ROWS}"
                )),
            }
        }
        CheckKind::AcceptedRange {
            column: c,
            min,
            max,
            inclusive,
        } => {
            let col = column(c);
            let (below, above) = if *inclusive { ("<", ">") } else { ("<=", ">=") };
            let mut conditions = Vec::new();
            if let Some(lo) = min {
                conditions.push(format!("{col} {below} {}", bound(lo)));
            }
            if let Some(hi) = max {
                conditions.push(format!("{col} {above} {}", bound(hi)));
            }
            let failing = conditions.join(" OR ");
            CheckSql {
                count: counting(&failing),
                samples: Some(sampling(&failing)),
            }
        }
        CheckKind::Unique { columns } => {
            let cols: Vec<String> = columns.to_vec().iter().map(|c| column(c)).collect();
            let keys = cols.join(", ");
            let not_null = cols
                .iter()
                .map(|c| format!("{c} IS NOT NULL"))
                .collect::<Vec<_>>()
                .join(" AND ");
            let groups = format!(
                "SELECT {keys}, COUNT(*) AS occurrences FROM {t} \
                 WHERE {filter} AND {not_null} GROUP BY {keys}"
            );
            CheckSql {
                count: format!(
                    "SELECT COALESCE(SUM(occurrences), 0) AS element_count, \
                     COALESCE(SUM(IF(occurrences > 1, occurrences, 0)), 0) AS failing_count \
                     FROM ({groups})"
                ),
                samples: Some(format!(
                    "SELECT * FROM ({groups}) WHERE occurrences > 1 \
                     ORDER BY occurrences DESC LIMIT {SAMPLE_ROWS}"
                )),
            }
        }
        CheckKind::Duplicates { columns } => {
            let names = match columns {
                Some(list) => list.to_vec(),
                None => {
                    let probe = format!("SELECT * FROM {t} LIMIT 0");
                    let schema = wh.query_schema(&probe, ctx).await.map_err(|e| Failure {
                        message: e.to_string(),
                        sql: probe.clone(),
                    })?;
                    schema.fields().iter().map(|f| f.name().clone()).collect()
                }
            };
            let keys = names
                .iter()
                .map(|c| column(c))
                .collect::<Vec<_>>()
                .join(", ");
            let groups = format!(
                "SELECT {keys}, COUNT(*) AS occurrences FROM {t} WHERE {filter} GROUP BY {keys}"
            );
            CheckSql {
                count: format!(
                    "SELECT COALESCE(SUM(occurrences), 0) AS element_count, \
                     COALESCE(SUM(occurrences - 1), 0) AS failing_count FROM ({groups})"
                ),
                samples: Some(format!(
                    "SELECT * FROM ({groups}) WHERE occurrences > 1 \
                     ORDER BY occurrences DESC LIMIT {SAMPLE_ROWS}"
                )),
            }
        }
        CheckKind::Relationships {
            column: c,
            to,
            field,
        } => {
            let parent = table(to).map_err(|message| Failure {
                message,
                sql: String::new(),
            })?;
            let joined = format!(
                "(SELECT {col} AS key_value FROM {t} WHERE {filter} AND {col} IS NOT NULL) AS child \
                 LEFT JOIN (SELECT DISTINCT {key} AS key_value FROM {parent}) AS parent \
                 ON child.key_value = parent.key_value",
                col = column(c),
                key = column(field),
            );
            CheckSql {
                count: format!(
                    "SELECT COUNT(*) AS element_count, COUNTIF(parent.key_value IS NULL) AS failing_count \
                     FROM {joined}"
                ),
                samples: Some(format!(
                    "SELECT child.key_value AS failing_value, COUNT(*) AS failing_rows FROM {joined} \
                     WHERE parent.key_value IS NULL GROUP BY child.key_value ORDER BY failing_rows DESC \
                     LIMIT {SAMPLE_ROWS}"
                )),
            }
        }
        // The assertion is the user's whole query, so `where` filters its rows: the failures.
        CheckKind::Sql { sql } => {
            let body = sql.trim().trim_end_matches(';');
            CheckSql {
                count: format!(
                    "SELECT CAST(NULL AS INT64) AS element_count, COUNT(*) AS failing_count \
                     FROM ({body}) WHERE {filter}"
                ),
                samples: Some(format!(
                    "SELECT * FROM ({body}) WHERE {filter} LIMIT {SAMPLE_ROWS}"
                )),
            }
        }
        CheckKind::RowCount { .. } | CheckKind::Freshness { .. } | CheckKind::Outliers { .. } => {
            return Err(Failure {
                message: format!("`{}` is not a counting check", kind.type_name()),
                sql: String::new(),
            })
        }
    })
}

async fn counted(
    wh: &Warehouse,
    ctx: &QueryContext,
    plan: CheckSql,
) -> Result<Evaluation, Failure> {
    let batches = query(wh, &plan.count, ctx).await?;
    let elements = scalar_i64(&batches, 0);
    let failing = scalar_i64(&batches, 1).unwrap_or(0);
    let mut samples = "[]".to_string();
    if failing > 0 {
        if let Some(sample_sql) = &plan.samples {
            let rows = query(wh, sample_sql, ctx).await?;
            samples = rows_json(&rows);
        }
    }
    let message = match elements {
        Some(n) => format!("{failing} of {n} rows fail"),
        None => format!("{failing} rows returned"),
    };
    Ok(Evaluation {
        elements,
        failing,
        observed: None,
        message,
        samples,
        sql: plan.count,
    })
}

#[allow(clippy::too_many_arguments)]
async fn outliers(
    wh: &Warehouse,
    ctx: &QueryContext,
    t: &str,
    filter: &str,
    c: &str,
    method: OutlierMethod,
    k: Option<f64>,
) -> Result<Evaluation, Failure> {
    let col = column(c);
    // DataFusion's exact `median` and `percentile_cont` (linear interpolation, as numpy's
    // default) are reachable from GoogleSQL; BigQuery's APPROX_QUANTILES would be inexact.
    let (low, high, stats_sql, k) = match method {
        OutlierMethod::Mad => {
            let k = k.unwrap_or(3.0);
            let median_sql =
                format!("SELECT median({col}) AS m FROM {t} WHERE {filter} AND {col} IS NOT NULL");
            let m = scalar_f64(&query(wh, &median_sql, ctx).await?, 0);
            let Some(m) = m else {
                return Ok(no_values(c, median_sql));
            };
            let mad_sql = format!(
                "SELECT median(ABS({col} - {m:?})) AS mad FROM {t} WHERE {filter} AND {col} IS NOT NULL"
            );
            let mad = scalar_f64(&query(wh, &mad_sql, ctx).await?, 0).unwrap_or(0.0);
            // 1.4826 makes the MAD estimate the standard deviation of normally distributed data.
            let sigma = 1.4826 * mad;
            (
                m - k * sigma,
                m + k * sigma,
                format!("{median_sql};\n{mad_sql}"),
                k,
            )
        }
        OutlierMethod::Iqr => {
            let k = k.unwrap_or(1.5);
            let sql = format!(
                "SELECT percentile_cont({col}, 0.25) AS q1, percentile_cont({col}, 0.75) AS q3 \
                 FROM {t} WHERE {filter} AND {col} IS NOT NULL"
            );
            let batches = query(wh, &sql, ctx).await?;
            let (Some(q1), Some(q3)) = (scalar_f64(&batches, 0), scalar_f64(&batches, 1)) else {
                return Ok(no_values(c, sql));
            };
            let iqr = q3 - q1;
            (q1 - k * iqr, q3 + k * iqr, sql, k)
        }
    };
    let failing = format!("{col} < {low:?} OR {col} > {high:?}");
    let count = format!(
        "SELECT COUNT({col}) AS element_count, COUNTIF({failing}) AS failing_count \
         FROM {t} WHERE {filter}"
    );
    let batches = query(wh, &count, ctx).await?;
    let elements = scalar_i64(&batches, 0);
    let failing_count = scalar_i64(&batches, 1).unwrap_or(0);
    let mut samples = "[]".to_string();
    if failing_count > 0 {
        let center = (low + high) / 2.0;
        let sample_sql = format!(
            "SELECT * FROM {t} WHERE {filter} AND ({failing}) \
             ORDER BY ABS({col} - {center:?}) DESC LIMIT {SAMPLE_ROWS}"
        );
        samples = rows_json(&query(wh, &sample_sql, ctx).await?);
    }
    let method_name = match method {
        OutlierMethod::Mad => format!("median ± {k}·MAD"),
        OutlierMethod::Iqr => format!("Tukey fences, k = {k}"),
    };
    Ok(Evaluation {
        elements,
        failing: failing_count,
        observed: None,
        message: format!(
            "{failing_count} of {} values outside [{low:.6}, {high:.6}] ({method_name})",
            elements.unwrap_or(0)
        ),
        samples,
        sql: format!("{stats_sql};\n{count}"),
    })
}

fn no_values(c: &str, sql: String) -> Evaluation {
    Evaluation {
        elements: Some(0),
        failing: 0,
        observed: None,
        message: format!("`{c}` has no values to bound"),
        samples: "[]".into(),
        sql,
    }
}

fn bound(b: &Bound) -> String {
    match b {
        Bound::Number(n) => format!("{n:?}"),
        Bound::Text(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
    }
}

async fn query(wh: &Warehouse, sql: &str, ctx: &QueryContext) -> Result<Vec<RecordBatch>, Failure> {
    wh.query(sql, ctx)
        .await
        .map(|r| r.batches)
        .map_err(|e| Failure {
            message: describe_error(&e),
            sql: sql.to_string(),
        })
}

/// The engine's message, made about the check: "No field named x" becomes a missing column.
fn describe_error(e: &kura_engine::EngineError) -> String {
    let text = e.to_string();
    if let Some(rest) = text.split("No field named ").nth(1) {
        let name = rest.split(['.', ' ', '\n']).next().unwrap_or(rest);
        return format!(
            "column `{}` does not exist ({text})",
            name.trim_matches('"')
        );
    }
    text
}

fn first_value(batches: &[RecordBatch], index: usize) -> Option<arrow::array::ArrayRef> {
    let batch = batches.iter().find(|b| b.num_rows() > 0)?;
    (index < batch.num_columns()).then(|| batch.column(index).slice(0, 1))
}

fn scalar_i64(batches: &[RecordBatch], index: usize) -> Option<i64> {
    let value = first_value(batches, index)?;
    let value = cast(&value, &DataType::Int64).ok()?;
    let ints = value.as_any().downcast_ref::<arrow::array::Int64Array>()?;
    (!ints.is_null(0)).then(|| ints.value(0))
}

fn scalar_f64(batches: &[RecordBatch], index: usize) -> Option<f64> {
    let value = first_value(batches, index)?;
    let value = cast(&value, &DataType::Float64).ok()?;
    let floats = value
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()?;
    (!floats.is_null(0)).then(|| floats.value(0))
}

/// The newest value of a time column as an instant. TIMESTAMP is an instant already; DATETIME
/// is wall-clock time in the project's zone; a DATE counts as fresh until its day ends there.
fn newest_instant(
    batches: &[RecordBatch],
    timezone: &str,
) -> Result<Option<DateTime<Utc>>, String> {
    let Some(value) = first_value(batches, 0) else {
        return Ok(None);
    };
    if value.is_null(0) {
        return Ok(None);
    }
    let zone: chrono_tz::Tz = timezone
        .parse()
        .map_err(|_| format!("the project's timezone `{timezone}` is not an IANA zone name"))?;
    let local = |naive: NaiveDateTime| {
        zone.from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    match value.data_type() {
        DataType::Timestamp(_, tz) => {
            let micros = cast(
                &value,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )
            .map_err(|e| e.to_string())?;
            let micros = micros
                .as_any()
                .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
                .map(|a| a.value(0))
                .ok_or("unreadable timestamp")?;
            let naive = DateTime::from_timestamp_micros(micros)
                .ok_or("timestamp out of range")?
                .naive_utc();
            Ok(if tz.is_some() {
                Some(naive.and_utc())
            } else {
                local(naive)
            })
        }
        DataType::Date32 | DataType::Date64 => {
            let days = cast(&value, &DataType::Date32).map_err(|e| e.to_string())?;
            let days = days
                .as_any()
                .downcast_ref::<arrow::array::Date32Array>()
                .map(|a| a.value(0))
                .ok_or("unreadable date")?;
            let day = NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|epoch| epoch.checked_add_signed(Duration::days(i64::from(days))))
                .ok_or("date out of range")?;
            let end = day
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .ok_or("date out of range")?;
            Ok(local(end))
        }
        other => Err(format!(
            "freshness needs a TIMESTAMP, DATETIME or DATE column, not {other}"
        )),
    }
}

/// Rows as a JSON array of objects, for the `samples` column.
pub fn rows_json(batches: &[RecordBatch]) -> String {
    let mut buffer = Vec::new();
    {
        let mut writer = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::JsonArray>(&mut buffer);
        for batch in batches {
            if writer.write(batch).is_err() {
                return "[]".to_string();
            }
        }
        if writer.finish().is_err() {
            return "[]".to_string();
        }
    }
    if buffer.is_empty() {
        "[]".to_string()
    } else {
        String::from_utf8(buffer).unwrap_or_else(|_| "[]".to_string())
    }
}
