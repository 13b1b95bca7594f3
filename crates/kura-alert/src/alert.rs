//! What is being alerted: one event, rendered the same way for every channel.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How bad an alert is.
///
/// Ordered (`Warn < Error`) so a channel's `min_severity` can be compared with an alert's.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look; the data is still usable.
    #[default]
    Warn,
    /// The data is wrong or late; someone should act.
    Error,
}

impl Severity {
    /// The name used in configuration and in messages (`"warn"`, `"error"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened. Kept to the events kura raises so channels can word them consistently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A data-quality check failed.
    CheckFailed,
    /// A metric left its expected range.
    Anomaly,
    /// Something that alerted before is healthy again.
    Recovered,
}

impl AlertKind {
    /// Human wording used in messages (`"check failed"`, `"anomaly"`, `"recovered"`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::CheckFailed => "check failed",
            AlertKind::Anomaly => "anomaly",
            AlertKind::Recovered => "recovered",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert to deliver.
///
/// The caller builds it once; every channel renders it from these fields, so a webhook message and
/// an email about the same event say the same thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Stable identity of what is alerting, e.g. `check:marts.orders:not_null:order_id`; the
    /// caller de-duplicates on it.
    pub key: String,
    /// How bad it is; channels with a higher `min_severity` do not receive it.
    pub severity: Severity,
    /// What happened.
    pub kind: AlertKind,
    /// One line summary, e.g. `marts.orders: not_null(order_id) failed: 12 of 10 000 rows (0.12%)`.
    /// Newlines are replaced by spaces where a channel needs one line (subject, header).
    pub title: String,
    /// Details shown under the title, verbatim: the SQL that failed, sample rows, thresholds.
    pub lines: Vec<String>,
    /// The table concerned, when there is one.
    pub table: Option<String>,
    /// When the problem was detected.
    pub at: DateTime<Utc>,
    /// The kura run that raised it, so a reader can find its logs.
    pub run_id: String,
    /// The kura project it belongs to, for readers who receive alerts from several.
    pub project: String,
}

impl Alert {
    /// The title on one line, safe for a subject or a header.
    pub(crate) fn one_line_title(&self) -> String {
        self.title
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The title with a `[kura]` prefix and, for errors, `ERROR:` so they stand out in an inbox
    /// or a notification list.
    pub(crate) fn headline(&self) -> String {
        match self.severity {
            Severity::Error => format!("[kura] ERROR: {}", self.one_line_title()),
            Severity::Warn => format!("[kura] {}", self.one_line_title()),
        }
    }
}
