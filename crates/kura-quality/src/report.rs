//! `kura quality report`: the state of every checked or monitored table, from the history
//! tables: the last result of each check with its trend, the last judgement of each monitored
//! series with its recent values, and the alerts still open.

use std::collections::BTreeMap;

use kura_engine::{EngineError, Warehouse};
use serde::Serialize;

use crate::alerts::alert_history;
use crate::monitor::monitor_history;
use crate::results::check_history;

/// How many past results a trend shows.
const TREND_LENGTH: usize = 10;

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub tables: Vec<TableState>,
}

/// One table's state.
#[derive(Debug, Clone, Serialize)]
pub struct TableState {
    pub table: String,
    pub checks: Vec<CheckState>,
    pub series: Vec<SeriesState>,
    /// Alerts fired and not yet resolved.
    pub open_alerts: Vec<String>,
}

/// A check's last result and its trend.
#[derive(Debug, Clone, Serialize)]
pub struct CheckState {
    pub check_id: String,
    pub name: String,
    pub status: String,
    pub failing_count: Option<i64>,
    pub failing_percent: Option<f64>,
    pub message: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// Oldest first, newest last: pass, warn, fail or error.
    pub trend: Vec<String>,
}

/// A monitored series' last judgement.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesState {
    pub series: String,
    pub status: String,
    pub value: Option<f64>,
    pub expected_low: Option<f64>,
    pub expected_high: Option<f64>,
    pub score: Option<f64>,
    /// The series' values over the last run's window, oldest first.
    pub recent: Vec<Option<f64>>,
}

/// Builds the report from `_kura.check_results`, `_kura.monitor_metrics` and `_kura.alerts`.
///
/// # Errors
/// [`EngineError`] when a history table cannot be read.
pub async fn quality_report(wh: &Warehouse) -> Result<QualityReport, EngineError> {
    let mut tables: BTreeMap<String, TableState> = BTreeMap::new();
    let entry = |name: &str| -> TableState {
        TableState {
            table: name.to_string(),
            checks: Vec::new(),
            series: Vec::new(),
            open_alerts: Vec::new(),
        }
    };

    let mut by_check: BTreeMap<String, Vec<crate::results::CheckResult>> = BTreeMap::new();
    for r in check_history(wh).await? {
        by_check.entry(r.check_id.clone()).or_default().push(r);
    }
    for (id, results) in by_check {
        let Some(last) = results.last() else { continue };
        let trend = results
            .iter()
            .rev()
            .take(TREND_LENGTH)
            .rev()
            .map(|r| r.status.clone())
            .collect();
        let state = CheckState {
            check_id: id,
            name: last.check_name.clone(),
            status: last.status.clone(),
            failing_count: last.failing_count,
            failing_percent: last.failing_percent,
            message: last.message.clone(),
            at: last.started_at,
            trend,
        };
        tables
            .entry(last.table.clone())
            .or_insert_with(|| entry(&last.table))
            .checks
            .push(state);
    }

    let metrics = monitor_history(wh, None).await?;
    let mut latest_run: BTreeMap<&str, (&chrono::DateTime<chrono::Utc>, &str)> = BTreeMap::new();
    for m in &metrics {
        let newer = latest_run
            .get(m.table.as_str())
            .is_none_or(|(at, _)| m.computed_at > **at);
        if newer {
            latest_run.insert(&m.table, (&m.computed_at, &m.run_id));
        }
    }
    let mut series: BTreeMap<(String, String), SeriesState> = BTreeMap::new();
    for m in &metrics {
        if latest_run.get(m.table.as_str()).map(|(_, run)| *run) != Some(m.run_id.as_str()) {
            continue;
        }
        if m.metric == "schema" {
            continue;
        }
        let state = series
            .entry((m.table.clone(), m.series_id()))
            .or_insert_with(|| SeriesState {
                series: m.series_id(),
                status: "training".into(),
                value: None,
                expected_low: None,
                expected_high: None,
                score: None,
                recent: Vec::new(),
            });
        state.recent.push(m.value);
        if m.assessed {
            // The newest assessed bucket decides; an anomaly in an earlier detection bucket
            // still shows.
            if state.status != "anomalous" || m.is_anomaly {
                state.status = m.status.clone();
                state.value = m.value;
                state.expected_low = m.expected_low;
                state.expected_high = m.expected_high;
                state.score = m.score;
            }
        }
    }
    for ((table, _), state) in series {
        tables
            .entry(table.clone())
            .or_insert_with(|| entry(&table))
            .series
            .push(state);
    }

    let mut open: BTreeMap<String, crate::alerts::AlertRecord> = BTreeMap::new();
    for a in alert_history(wh).await? {
        open.insert(a.alert_key.clone(), a);
    }
    for a in open.into_values().filter(|a| a.event == "firing") {
        tables
            .entry(a.table.clone())
            .or_insert_with(|| entry(&a.table))
            .open_alerts
            .push(a.title);
    }
    Ok(QualityReport {
        tables: tables.into_values().collect(),
    })
}

fn status_mark(status: &str) -> char {
    match status {
        "pass" | "normal" => '✓',
        "warn" => '!',
        "fail" | "anomalous" => '✗',
        "error" => 'E',
        _ => '·',
    }
}

/// A sparkline of values (`▁▃█`), blanks for empty buckets.
fn sparkline(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = present
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(v) if hi > lo => {
                let i = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
            Some(_) => BARS[3],
        })
        .collect()
}

fn number(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v == v.trunc() && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
    }
}

impl QualityReport {
    /// Whether anything is failing, anomalous or alerting.
    pub fn has_problems(&self) -> bool {
        self.tables.iter().any(|t| {
            !t.open_alerts.is_empty()
                || t.checks.iter().any(|c| c.status != "pass")
                || t.series.iter().any(|s| s.status == "anomalous")
        })
    }

    /// Plain text for a terminal.
    pub fn render_text(&self) -> String {
        if self.tables.is_empty() {
            return "no checks or monitors have run yet; declare them in a model's header or a \
                    dataset's checks.toml, then run `kura check` or `kura monitor`\n"
                .into();
        }
        let mut out = String::new();
        for t in &self.tables {
            out.push_str(&format!("{}\n", t.table));
            for c in &t.checks {
                let trend: String = c.trend.iter().map(|s| status_mark(s)).collect();
                out.push_str(&format!(
                    "  {} {:<5} {:<40} {:<10} {}\n",
                    status_mark(&c.status),
                    c.status,
                    c.name,
                    trend,
                    c.message
                ));
            }
            for s in &t.series {
                if s.status == "training" {
                    continue;
                }
                let short = s.series.split_once(':').map_or(s.series.as_str(), |x| x.1);
                out.push_str(&format!(
                    "  {} {:<9} {:<40} {} value {} expected {}..{}\n",
                    status_mark(&s.status),
                    s.status,
                    short,
                    sparkline(&s.recent),
                    number(s.value),
                    number(s.expected_low),
                    number(s.expected_high)
                ));
            }
            for a in &t.open_alerts {
                out.push_str(&format!("  alert open: {a}\n"));
            }
        }
        out
    }

    /// A Markdown summary, for a pull request or a chat message.
    pub fn render_markdown(&self) -> String {
        let mut out = String::from("## Data quality\n\n");
        if self.tables.is_empty() {
            out.push_str("No checks or monitors have run yet.\n");
            return out;
        }
        for t in &self.tables {
            out.push_str(&format!("### `{}`\n\n", t.table));
            if !t.checks.is_empty() {
                out.push_str(
                    "| check | status | failing | trend | message |\n|---|---|---|---|---|\n",
                );
                for c in &t.checks {
                    let trend: String = c.trend.iter().map(|s| status_mark(s)).collect();
                    out.push_str(&format!(
                        "| `{}` | {} {} | {} | {} | {} |\n",
                        c.name,
                        status_mark(&c.status),
                        c.status,
                        c.failing_count.map_or("-".into(), |n| n.to_string()),
                        trend,
                        c.message.replace('|', "\\|")
                    ));
                }
                out.push('\n');
            }
            let judged: Vec<&SeriesState> =
                t.series.iter().filter(|s| s.status != "training").collect();
            if !judged.is_empty() {
                out.push_str("| monitor | status | value | expected | z | recent |\n|---|---|---|---|---|---|\n");
                for s in judged {
                    out.push_str(&format!(
                        "| `{}` | {} {} | {} | {} to {} | {} | {} |\n",
                        s.series,
                        status_mark(&s.status),
                        s.status,
                        number(s.value),
                        number(s.expected_low),
                        number(s.expected_high),
                        number(s.score),
                        sparkline(&s.recent)
                    ));
                }
                out.push('\n');
            }
            for a in &t.open_alerts {
                out.push_str(&format!("- open alert: {a}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_and_leaves_gaps() {
        assert_eq!(sparkline(&[Some(0.0), Some(7.0), None, Some(3.5)]), "▁█ ▅");
        assert_eq!(sparkline(&[Some(2.0), Some(2.0)]), "▄▄");
    }
}
