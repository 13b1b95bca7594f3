//! What users declare: checks and a monitor per table, in a model's header or in a dataset's
//! `checks.toml`.
//!
//! ```toml
//! [[checks]]
//! type = "not_null"
//! column = "order_id"
//!
//! [[checks]]
//! type = "accepted_values"
//! column = "status"
//! values = ["placed", "shipped", "returned"]
//! severity = "warn"
//! where = "order_date >= '2024-01-01'"
//!
//! [monitor]
//! time_column = "ordered_at"
//! bucket = "day"
//! ```

use serde::{Deserialize, Serialize};

use crate::anomaly::{AnomalySettings, Direction, Seasonality};

/// How bad a failing check is. `error` fails `kura check` (non-zero exit) and stops the
/// models downstream in `kura run`; `warn` is reported and alerted only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warn,
    #[default]
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// One or several columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnList {
    One(String),
    Many(Vec<String>),
}

impl ColumnList {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            ColumnList::One(c) => vec![c.clone()],
            ColumnList::Many(cs) => cs.clone(),
        }
    }
}

/// A bound in `accepted_range`: a number, or a date/time literal as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bound {
    Number(f64),
    Text(String),
}

/// How outliers are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutlierMethod {
    /// median ± k·MAD, with MAD scaled by 1.4826 to estimate the standard deviation of normal
    /// data, so k = 3 means "three sigma" robustly.
    #[default]
    Mad,
    /// Tukey's fences: Q1 − k·IQR and Q3 + k·IQR (k = 1.5 is Tukey's "outer" default).
    Iqr,
}

/// What a check asserts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckKind {
    /// No NULLs in the column.
    NotNull { column: String },
    /// No two rows share a value of the columns (rows with a NULL key are ignored, as SQL does).
    Unique { columns: ColumnList },
    /// Every non-NULL value is one of `values`.
    AcceptedValues {
        column: String,
        values: Vec<toml::Value>,
    },
    /// Every non-NULL value exists in `to`'s `field` (a foreign key).
    Relationships {
        column: String,
        to: String,
        field: String,
    },
    /// Every non-NULL value lies within `min` and `max` (either may be left out).
    AcceptedRange {
        column: String,
        min: Option<Bound>,
        max: Option<Bound>,
        #[serde(default = "yes")]
        inclusive: bool,
    },
    /// The number of rows lies within `min` and `max`.
    RowCount { min: Option<u64>, max: Option<u64> },
    /// The newest value of a time column is at most `max_age_hours` old.
    Freshness { column: String, max_age_hours: f64 },
    /// Rows repeated on a key (all columns when `columns` is left out); the failing count is
    /// the rows a de-duplication would remove.
    Duplicates { columns: Option<ColumnList> },
    /// A query whose rows are the failures.
    Sql { sql: String },
    /// Values beyond a robust bound.
    Outliers {
        column: String,
        #[serde(default)]
        method: OutlierMethod,
        k: Option<f64>,
    },
}

fn yes() -> bool {
    true
}

impl CheckKind {
    /// The check's type as written (`not_null`).
    pub fn type_name(&self) -> &'static str {
        match self {
            CheckKind::NotNull { .. } => "not_null",
            CheckKind::Unique { .. } => "unique",
            CheckKind::AcceptedValues { .. } => "accepted_values",
            CheckKind::Relationships { .. } => "relationships",
            CheckKind::AcceptedRange { .. } => "accepted_range",
            CheckKind::RowCount { .. } => "row_count",
            CheckKind::Freshness { .. } => "freshness",
            CheckKind::Duplicates { .. } => "duplicates",
            CheckKind::Sql { .. } => "sql",
            CheckKind::Outliers { .. } => "outliers",
        }
    }

    /// The columns the check is about, for the results table and the check's id.
    pub fn columns(&self) -> Vec<String> {
        match self {
            CheckKind::NotNull { column }
            | CheckKind::AcceptedValues { column, .. }
            | CheckKind::Relationships { column, .. }
            | CheckKind::AcceptedRange { column, .. }
            | CheckKind::Freshness { column, .. }
            | CheckKind::Outliers { column, .. } => vec![column.clone()],
            CheckKind::Unique { columns } => columns.to_vec(),
            CheckKind::Duplicates { columns } => {
                columns.as_ref().map(ColumnList::to_vec).unwrap_or_default()
            }
            CheckKind::RowCount { .. } | CheckKind::Sql { .. } => Vec::new(),
        }
    }
}

/// The type names a check may have, for did-you-mean.
pub const CHECK_TYPES: &[&str] = &[
    "not_null",
    "unique",
    "accepted_values",
    "relationships",
    "accepted_range",
    "row_count",
    "freshness",
    "duplicates",
    "sql",
    "outliers",
];

/// A check as declared: what it asserts, how bad a failure is, and an optional filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSpec {
    /// A name, unique within the table; defaults to `<type>(<columns>)`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub severity: Severity,
    /// A GoogleSQL condition; only rows matching it are checked.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
    #[serde(flatten)]
    pub kind: CheckKind,
}

impl CheckSpec {
    /// The check's name within its table: its own, or `not_null(order_id)`.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        format!(
            "{}({})",
            self.kind.type_name(),
            self.kind.columns().join(", ")
        )
    }
}

/// The width of a monitor's time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketWidth {
    #[default]
    Day,
    Hour,
}

impl BucketWidth {
    pub fn as_str(self) -> &'static str {
        match self {
            BucketWidth::Day => "day",
            BucketWidth::Hour => "hour",
        }
    }

    pub fn duration(self) -> chrono::Duration {
        match self {
            BucketWidth::Day => chrono::Duration::days(1),
            BucketWidth::Hour => chrono::Duration::hours(1),
        }
    }
}

/// A table's monitor: metrics per time bucket of `time_column`, each checked for anomalies.
/// The anomaly settings sit next to the rest (`sensitivity = 2.5`), not in a sub-table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// A TIMESTAMP, DATETIME or DATE column that says when a row happened.
    pub time_column: String,
    #[serde(default)]
    pub bucket: BucketWidth,
    /// The columns whose null rate, distinct count and (numeric) mean/min/max are tracked;
    /// all top-level scalar columns when left out.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    pub training_buckets: Option<usize>,
    pub detection_buckets: Option<usize>,
    pub sensitivity: Option<f64>,
    pub direction: Option<Direction>,
    pub seasonality: Option<Seasonality>,
    pub min_training: Option<usize>,
}

impl MonitorSpec {
    /// The anomaly settings: the defaults with what was written.
    pub fn anomaly(&self) -> AnomalySettings {
        let d = AnomalySettings::default();
        AnomalySettings {
            training_buckets: self.training_buckets.unwrap_or(d.training_buckets),
            detection_buckets: self.detection_buckets.unwrap_or(d.detection_buckets),
            sensitivity: self.sensitivity.unwrap_or(d.sensitivity),
            direction: self.direction.unwrap_or(d.direction),
            seasonality: self.seasonality.unwrap_or(d.seasonality),
            min_training: self.min_training.unwrap_or(d.min_training),
        }
    }
}

/// Everything declared for one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableQuality {
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
    #[serde(default)]
    pub monitor: Option<MonitorSpec>,
}

/// The declarations of one table, with where they were written (for messages).
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredQuality {
    /// `dataset.table`.
    pub table: String,
    pub quality: TableQuality,
    /// The file they were declared in.
    pub source: std::path::PathBuf,
}

/// Parses a dataset's `checks.toml`: one table per top-level key.
///
/// ```toml
/// [orders]
/// monitor = { time_column = "ordered_at" }
///
/// [[orders.checks]]
/// type = "unique"
/// columns = "order_id"
/// ```
///
/// # Errors
/// The TOML error (with its line and column) or a semantic problem, as text.
pub fn parse_checks_file(text: &str) -> Result<Vec<(String, TableQuality)>, String> {
    let tables: std::collections::BTreeMap<String, TableQuality> =
        toml::from_str(text).map_err(|e| explain_toml_error(&e))?;
    for (table, quality) in &tables {
        validate(quality).map_err(|e| format!("[{table}]: {e}"))?;
    }
    Ok(tables.into_iter().collect())
}

/// Checks what serde cannot: unique names, sensible numbers, a valid anomaly setting.
///
/// # Errors
/// A message naming the check.
pub fn validate(quality: &TableQuality) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for check in &quality.checks {
        let name = check.display_name();
        if !names.insert(name.clone()) {
            return Err(format!(
                "two checks are named `{name}`; give one of them a `name = \"...\"`"
            ));
        }
        match &check.kind {
            CheckKind::AcceptedValues { values, .. } if values.is_empty() => {
                return Err(format!("`{name}`: `values` is empty"));
            }
            CheckKind::AcceptedRange {
                min: None,
                max: None,
                ..
            } => {
                return Err(format!("`{name}`: give `min`, `max` or both"));
            }
            CheckKind::RowCount {
                min: None,
                max: None,
            } => {
                return Err(format!("`{name}`: give `min`, `max` or both"));
            }
            CheckKind::RowCount {
                min: Some(lo),
                max: Some(hi),
            } if lo > hi => {
                return Err(format!("`{name}`: `min` ({lo}) is above `max` ({hi})"));
            }
            CheckKind::Freshness { max_age_hours, .. } if *max_age_hours <= 0.0 => {
                return Err(format!("`{name}`: `max_age_hours` must be above 0"));
            }
            CheckKind::Outliers { k: Some(k), .. } if *k <= 0.0 => {
                return Err(format!("`{name}`: `k` must be above 0"));
            }
            CheckKind::Unique { columns } if columns.to_vec().is_empty() => {
                return Err(format!("`{name}`: `columns` is empty"));
            }
            _ => {}
        }
    }
    if let Some(monitor) = &quality.monitor {
        monitor
            .anomaly()
            .validate()
            .map_err(|e| format!("[monitor]: {e}"))?;
    }
    Ok(())
}

/// Turns serde's "unknown variant" into a did-you-mean over the check types.
pub fn explain_toml_error(error: &toml::de::Error) -> String {
    let message = error.message().to_string();
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some(end) = rest.find('`') {
            let written = &rest[..end];
            if let Some(near) = closest(written, CHECK_TYPES) {
                return format!(
                    "unknown check type `{written}`; did you mean `{near}`? (types: {})",
                    CHECK_TYPES.join(", ")
                );
            }
            return format!(
                "unknown check type `{written}` (types: {})",
                CHECK_TYPES.join(", ")
            );
        }
    }
    // The full text names the line and column and quotes it.
    error.to_string().trim().to_string()
}

fn closest<'a>(written: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (edit_distance(written, o), *o))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_file_parses_every_type() {
        let text = r#"
[orders]
monitor = { time_column = "ordered_at", bucket = "hour", sensitivity = 2.5 }

[[orders.checks]]
type = "not_null"
column = "order_id"

[[orders.checks]]
type = "unique"
columns = ["order_id", "line"]
severity = "warn"
where = "status != 'test'"

[[orders.checks]]
type = "accepted_values"
column = "status"
values = ["placed", "shipped"]

[[orders.checks]]
type = "relationships"
column = "customer_id"
to = "marts.customers"
field = "customer_id"

[[orders.checks]]
type = "accepted_range"
column = "amount"
min = 0
max = 10000.5

[[orders.checks]]
type = "row_count"
min = 1

[[orders.checks]]
type = "freshness"
column = "ordered_at"
max_age_hours = 24

[[orders.checks]]
type = "duplicates"

[[orders.checks]]
type = "sql"
name = "no_negative_totals"
sql = "SELECT * FROM marts.orders WHERE total < 0"

[[orders.checks]]
type = "outliers"
column = "amount"
method = "iqr"
k = 1.5
"#;
        let tables = parse_checks_file(text).expect("parses");
        assert_eq!(tables.len(), 1);
        let (table, quality) = &tables[0];
        assert_eq!(table, "orders");
        let types: Vec<&str> = quality.checks.iter().map(|c| c.kind.type_name()).collect();
        assert_eq!(types, CHECK_TYPES);
        assert_eq!(quality.checks[1].severity, Severity::Warn);
        assert_eq!(
            quality.checks[1].filter.as_deref(),
            Some("status != 'test'")
        );
        assert_eq!(quality.checks[1].display_name(), "unique(order_id, line)");
        assert_eq!(quality.checks[8].display_name(), "no_negative_totals");
        let monitor = quality.monitor.as_ref().expect("monitor");
        assert_eq!(monitor.bucket, BucketWidth::Hour);
        assert!((monitor.anomaly().sensitivity - 2.5).abs() < 1e-12);
    }

    #[test]
    fn an_unknown_type_gets_a_did_you_mean() {
        let err = parse_checks_file("[[t.checks]]\ntype = \"not_nul\"\ncolumn = \"a\"\n")
            .expect_err("unknown type");
        assert!(err.contains("did you mean `not_null`"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_an_error() {
        let err = parse_checks_file("[[t.checks]]\ntype = \"not_null\"\ncolum = \"a\"\n")
            .expect_err("unknown key");
        assert!(err.contains("colum"), "{err}");
    }

    #[test]
    fn duplicate_names_and_empty_bounds_are_errors() {
        let twice = "[[t.checks]]\ntype = \"not_null\"\ncolumn = \"a\"\n\
                     [[t.checks]]\ntype = \"not_null\"\ncolumn = \"a\"\n";
        assert!(parse_checks_file(twice)
            .expect_err("twice")
            .contains("two checks are named `not_null(a)`"));
        let unbounded = "[[t.checks]]\ntype = \"row_count\"\n";
        assert!(parse_checks_file(unbounded)
            .expect_err("unbounded")
            .contains("give `min`, `max` or both"));
    }
}
