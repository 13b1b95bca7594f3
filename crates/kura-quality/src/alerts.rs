//! Which results alert, and the alert history in `_kura.alerts`.
//!
//! A problem alerts once: when it starts (or after its last alert could not be delivered), not
//! on every run while it lasts. When the check passes again, or the series is judged normal,
//! a `resolved` event closes it, so the next failure alerts again.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use kura_alert::{deliver_all, Alert, AlertKind, AlertSettings, Severity as AlertSeverity};
use kura_engine::{EngineError, Warehouse};
use serde::{Deserialize, Serialize};

use crate::monitor::{describe_anomaly, MonitorOutcome};
use crate::results::{CheckResult, CheckStatus};
use crate::sql::RunScope;

/// The table's name in `_kura`.
pub const ALERTS_TABLE: &str = "alerts";

/// One alert event: a problem starting (`firing`) or ending (`resolved`), with its delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// What the alert is about, stable across runs: `check:marts.orders:not_null(order_id)`,
    /// `anomaly:marts.orders:row_count`, `monitor:marts.orders`.
    pub alert_key: String,
    /// firing or resolved.
    pub event: String,
    /// warn or error.
    pub severity: String,
    /// check, anomaly or monitor.
    pub kind: String,
    pub table: String,
    pub title: String,
    pub detail: String,
    /// Whether every channel took it (true when none is configured: nothing is owed).
    pub delivered: bool,
    /// Per channel: name, type, delivered, attempts, error; a JSON array.
    pub deliveries: String,
    pub run_id: String,
    pub at: DateTime<Utc>,
}

/// The Arrow schema of `_kura.alerts`.
pub fn alerts_schema() -> SchemaRef {
    let text = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("alert_key"),
        text("event"),
        text("severity"),
        text("kind"),
        text("table"),
        text("title"),
        text("detail"),
        Field::new("delivered", DataType::Boolean, false),
        text("deliveries"),
        text("run_id"),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// Every alert event, oldest first.
///
/// # Errors
/// [`EngineError`] when the table cannot be read.
pub async fn alert_history(wh: &Warehouse) -> Result<Vec<AlertRecord>, EngineError> {
    let mut rows: Vec<AlertRecord> = wh
        .read_system_rows(ALERTS_TABLE, "SELECT * FROM kura._kura.alerts")
        .await?;
    rows.sort_by_key(|a| a.at);
    Ok(rows)
}

/// A problem found in this run, or a sign that one is over.
#[derive(Debug, Clone)]
struct Signal {
    key: String,
    kind: &'static str,
    table: String,
    /// None: healthy now.
    problem: Option<(AlertSeverity, String, Vec<String>)>,
}

fn signals(checks: &[CheckResult], monitors: &[MonitorOutcome]) -> Vec<Signal> {
    let mut out = Vec::new();
    for r in checks {
        let problem = match r.status() {
            CheckStatus::Pass => None,
            status => {
                let severity = if status == CheckStatus::Warn {
                    AlertSeverity::Warn
                } else {
                    AlertSeverity::Error
                };
                let verb = match status {
                    CheckStatus::Error => "could not run",
                    _ => "failed",
                };
                let mut lines = vec![r.message.clone()];
                if r.samples != "[]" {
                    lines.push(format!("samples: {}", truncate(&r.samples, 1500)));
                }
                lines.push(format!("sql: {}", truncate(&r.sql, 1500)));
                Some((
                    severity,
                    format!("{}: {} {verb}: {}", r.table, r.check_name, r.message),
                    lines,
                ))
            }
        };
        out.push(Signal {
            key: format!("check:{}", r.check_id),
            kind: "check",
            table: r.table.clone(),
            problem,
        });
    }
    for m in monitors {
        if let Some(error) = &m.error {
            out.push(Signal {
                key: format!("monitor:{}", m.table),
                kind: "monitor",
                table: m.table.clone(),
                problem: Some((
                    AlertSeverity::Error,
                    format!("{}: monitor could not run: {error}", m.table),
                    vec![error.clone()],
                )),
            });
            continue;
        }
        out.push(Signal {
            key: format!("monitor:{}", m.table),
            kind: "monitor",
            table: m.table.clone(),
            problem: None,
        });
        // A series alerts on its newest anomalous bucket; it is healthy when every assessed
        // bucket is normal.
        let mut by_series: BTreeMap<String, (bool, Vec<&crate::monitor::MonitorMetric>)> =
            BTreeMap::new();
        for metric in m.metrics.iter().filter(|x| x.assessed) {
            let key = match metric.metric.as_str() {
                "schema" | "schema_change" => format!("{}:schema", metric.table),
                _ => metric.series_id(),
            };
            let entry = by_series.entry(key).or_insert((true, Vec::new()));
            if metric.is_anomaly {
                entry.1.push(metric);
            } else if metric.status != "normal" {
                entry.0 = false;
            }
        }
        for (series, (judged, anomalies)) in by_series {
            let problem = anomalies.last().map(|latest| {
                let lines = anomalies.iter().map(|a| describe_anomaly(a)).collect();
                (
                    AlertSeverity::Warn,
                    format!("anomaly: {}", describe_anomaly(latest)),
                    lines,
                )
            });
            if problem.is_none() && !judged {
                continue;
            }
            out.push(Signal {
                key: format!("anomaly:{series}"),
                kind: "anomaly",
                table: m.table.clone(),
                problem,
            });
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Sends what needs sending and records it: new problems fire, problems whose last alert was
/// delivered stay quiet, problems that are over resolve. Delivery of all of them is bounded by
/// the settings' one deadline, so a dead webhook cannot hold the run longer than that.
///
/// # Errors
/// [`EngineError`] when the history cannot be read or written.
pub async fn raise_alerts(
    wh: &Warehouse,
    settings: &AlertSettings,
    project: &str,
    checks: &[CheckResult],
    monitors: &[MonitorOutcome],
    scope: &RunScope,
) -> Result<Vec<AlertRecord>, EngineError> {
    let history = alert_history(wh).await?;
    let mut last: BTreeMap<&str, &AlertRecord> = BTreeMap::new();
    for record in &history {
        last.insert(record.alert_key.as_str(), record);
    }
    let mut raised = Vec::new();
    let mut alerts = Vec::new();
    for signal in signals(checks, monitors) {
        let previous = last.get(signal.key.as_str()).copied();
        let firing = previous.is_some_and(|p| p.event == "firing");
        let (event, severity, title, lines) = match signal.problem {
            Some((severity, title, lines)) => {
                if firing && previous.is_some_and(|p| p.delivered) {
                    continue;
                }
                ("firing", severity, title, lines)
            }
            None if firing => {
                let title = previous.map_or_else(String::new, |p| format!("resolved: {}", p.title));
                ("resolved", AlertSeverity::Warn, title, Vec::new())
            }
            None => continue,
        };
        let alert = Alert {
            key: signal.key.clone(),
            severity,
            kind: match (event, signal.kind) {
                ("resolved", _) => AlertKind::Recovered,
                (_, "anomaly") => AlertKind::Anomaly,
                _ => AlertKind::CheckFailed,
            },
            title,
            lines,
            table: Some(signal.table.clone()),
            at: scope.now,
            run_id: scope.run_id.clone(),
            project: project.to_string(),
        };
        raised.push((signal.key, signal.kind, signal.table, event));
        alerts.push(alert);
    }
    // All of the run's alerts in one call: its deadline bounds the run, however many there are.
    let deliveries = deliver_all(&alerts, settings).await;
    let mut records = Vec::with_capacity(raised.len());
    for (((key, kind, table, event), alert), deliveries) in
        raised.into_iter().zip(alerts).zip(deliveries)
    {
        let delivered = deliveries.iter().all(|d| d.delivered);
        let described: Vec<serde_json::Value> = deliveries
            .iter()
            .map(|d| {
                serde_json::json!({
                    "channel": d.channel,
                    "type": d.channel_type,
                    "delivered": d.delivered,
                    "attempts": d.attempts,
                    "error": d.error,
                    "elapsed_ms": d.elapsed.as_millis() as u64,
                })
            })
            .collect();
        records.push(AlertRecord {
            alert_key: key,
            event: event.to_string(),
            severity: match alert.severity {
                AlertSeverity::Warn => "warn",
                AlertSeverity::Error => "error",
            }
            .to_string(),
            kind: kind.to_string(),
            table,
            title: alert.title,
            detail: alert.lines.join("\n"),
            delivered,
            deliveries: serde_json::Value::Array(described).to_string(),
            run_id: scope.run_id.clone(),
            at: Utc::now(),
        });
    }
    wh.append_system_rows(ALERTS_TABLE, alerts_schema(), &records)
        .await?;
    Ok(records)
}
