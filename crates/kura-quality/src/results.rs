//! `_kura.check_results`: one row per check per run, so the table is also the history.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use kura_engine::{EngineError, Warehouse};
use serde::{Deserialize, Serialize};

/// The table's name in `_kura`.
pub const CHECK_RESULTS_TABLE: &str = "check_results";

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckStatus {
    Pass,
    /// Failing rows, severity warn.
    Warn,
    /// Failing rows, severity error.
    Fail,
    /// The check could not run (a missing table or column, a broken query).
    Error,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
            CheckStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pass" => CheckStatus::Pass,
            "warn" => CheckStatus::Warn,
            "fail" => CheckStatus::Fail,
            "error" => CheckStatus::Error,
            _ => return None,
        })
    }
}

/// One check's result in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `marts.orders:not_null(order_id)`; stable across runs while the check is unchanged.
    pub check_id: String,
    /// The table checked (`dataset.table`), a model or not.
    pub table: String,
    pub check_name: String,
    pub check_type: String,
    /// The columns checked, comma-separated; none for row counts and SQL assertions.
    pub column: Option<String>,
    pub severity: String,
    /// pass, warn, fail or error.
    pub status: String,
    /// The rows (or values, or groups) the check looked at.
    pub element_count: Option<i64>,
    pub failing_count: Option<i64>,
    pub failing_percent: Option<f64>,
    /// The measured value for checks of one number: row count, freshness age in hours.
    pub observed: Option<f64>,
    /// One line for people: what was found, or why the check could not run.
    pub message: String,
    /// Up to 20 failing rows, as a JSON array of objects.
    pub samples: String,
    /// The query (or queries, `;`-separated) the check ran.
    pub sql: String,
    pub run_id: String,
    pub principal: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: i64,
}

impl CheckResult {
    pub fn status(&self) -> CheckStatus {
        CheckStatus::parse(&self.status).unwrap_or(CheckStatus::Error)
    }

    /// Whether the result should alert: anything but a pass.
    pub fn is_problem(&self) -> bool {
        self.status() != CheckStatus::Pass
    }
}

/// The Arrow schema of `_kura.check_results`.
pub fn check_results_schema() -> SchemaRef {
    let text = |n: &str, nullable| Field::new(n, DataType::Utf8, nullable);
    let time = |n: &str| {
        Field::new(
            n,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        )
    };
    Arc::new(Schema::new(vec![
        text("check_id", false),
        text("table", false),
        text("check_name", false),
        text("check_type", false),
        text("column", true),
        text("severity", false),
        text("status", false),
        Field::new("element_count", DataType::Int64, true),
        Field::new("failing_count", DataType::Int64, true),
        Field::new("failing_percent", DataType::Float64, true),
        Field::new("observed", DataType::Float64, true),
        text("message", false),
        text("samples", false),
        text("sql", false),
        text("run_id", false),
        text("principal", false),
        time("started_at"),
        time("finished_at"),
        Field::new("duration_ms", DataType::Int64, false),
    ]))
}

/// Appends results in one commit.
///
/// # Errors
/// [`EngineError`] when the commit fails.
pub async fn record_check_results(
    wh: &Warehouse,
    results: &[CheckResult],
) -> Result<(), EngineError> {
    wh.append_system_rows(CHECK_RESULTS_TABLE, check_results_schema(), results)
        .await
}

/// Every recorded result, oldest first.
///
/// # Errors
/// [`EngineError`] when the table cannot be read.
pub async fn check_history(wh: &Warehouse) -> Result<Vec<CheckResult>, EngineError> {
    let mut rows: Vec<CheckResult> = wh
        .read_system_rows(
            CHECK_RESULTS_TABLE,
            "SELECT * FROM kura._kura.check_results",
        )
        .await?;
    rows.sort_by_key(|a| a.started_at);
    Ok(rows)
}
