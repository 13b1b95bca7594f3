//! kura's data quality: checks on the data itself, monitors with anomaly detection, and alerts.
//!
//! - [`spec`]: what users declare per table (in a model's header or a dataset's `checks.toml`).
//! - [`check`]: each check as one counting query plus a sample of failing rows;
//!   results in `_kura.check_results` ([`results`]).
//! - [`monitor`]: every metric of a table in one scan per run, per time bucket, judged by
//!   [`anomaly`] (z-scores against a training window); results in `_kura.monitor_metrics`.
//!   The scan folds the table's rows into a profile per bucket (`bucket_profile`), with
//!   HyperLogLog sketches for the distinct counts (`distinct_sketch`).
//! - [`alerts`]: de-duplicated alerts through kura-alert's channels, recorded in `_kura.alerts`.
//! - [`report`]: the state per table, for `kura quality report`.

pub mod alerts;
pub mod anomaly;
mod bucket_profile;
pub mod check;
mod distinct_sketch;
pub mod monitor;
pub mod report;
pub mod results;
pub mod spec;
pub mod sql;

use futures::stream::{self, StreamExt};
use kura_engine::{EngineError, Warehouse};

pub use alerts::{raise_alerts, AlertRecord};
pub use check::TableCheck;
pub use monitor::{MonitorOutcome, TableMonitor};
pub use report::{quality_report, QualityReport};
pub use results::{CheckResult, CheckStatus};
pub use spec::{CheckSpec, DeclaredQuality, MonitorSpec, Severity, TableQuality};
pub use sql::RunScope;

impl DeclaredQuality {
    /// The table's checks, ready to run.
    pub fn table_checks(&self) -> impl Iterator<Item = TableCheck> + '_ {
        self.quality.checks.iter().map(|spec| TableCheck {
            table: self.table.clone(),
            spec: spec.clone(),
        })
    }

    /// The table's monitor, ready to run, if it has one.
    pub fn table_monitor(&self) -> Option<TableMonitor> {
        self.quality.monitor.as_ref().map(|spec| TableMonitor {
            table: self.table.clone(),
            spec: spec.clone(),
        })
    }
}

/// How many checks run at once: enough to overlap small queries, few enough not to starve a
/// model build running next to them.
const CHECKS_AT_ONCE: usize = 4;

/// Runs checks (several at once, results in the given order) and records every result in one
/// commit.
///
/// # Errors
/// [`EngineError`] only when the results cannot be recorded; a check that cannot run is a
/// result with status `error`.
pub async fn run_checks(
    wh: &Warehouse,
    checks: &[TableCheck],
    scope: &RunScope,
) -> Result<Vec<CheckResult>, EngineError> {
    let results: Vec<CheckResult> = stream::iter(checks)
        .map(|c| check::run_check(wh, c, scope))
        .buffered(CHECKS_AT_ONCE)
        .collect()
        .await;
    results::record_check_results(wh, &results).await?;
    Ok(results)
}

/// Runs monitors one after another (each is a full scan; running them together would only
/// compete for the same cores) and records their metrics in one commit.
///
/// # Errors
/// [`EngineError`] only when the metrics cannot be recorded.
pub async fn run_monitors(
    wh: &Warehouse,
    monitors: &[TableMonitor],
    scope: &RunScope,
) -> Result<Vec<MonitorOutcome>, EngineError> {
    let mut outcomes = Vec::with_capacity(monitors.len());
    // Each scan's query-log entry (a commit of about 10 ms) is written while the next monitor
    // runs, and the last one alongside the metrics, instead of holding up what follows it. One
    // at a time: the entries go to the same table.
    let mut pending = None;
    for m in monitors {
        let ((outcome, log), written) = futures::join!(
            monitor::run_monitor(wh, m, scope),
            write_log(pending.take()),
        );
        written?;
        outcomes.push(outcome);
        pending = log;
    }
    let metrics: Vec<monitor::MonitorMetric> = outcomes
        .iter()
        .flat_map(|o| o.metrics.iter().cloned())
        .collect();
    let (recorded, written) = futures::join!(
        monitor::record_monitor_metrics(wh, &metrics),
        write_log(pending),
    );
    recorded?;
    written?;
    Ok(outcomes)
}

async fn write_log(log: Option<kura_engine::PendingLog<'_>>) -> Result<(), EngineError> {
    match log {
        Some(log) => log.write().await,
        None => Ok(()),
    }
}

/// Whether any result should fail the run: an error-severity check that failed or could not
/// run.
pub fn any_error(results: &[CheckResult]) -> bool {
    results.iter().any(|r| {
        r.severity == "error" && matches!(r.status(), CheckStatus::Fail | CheckStatus::Error)
    })
}
