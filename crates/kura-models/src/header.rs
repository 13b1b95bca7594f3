//! A model's header: an optional TOML block comment at the top of its file.
//!
//! ```sql
//! /* kura
//! materialized = "incremental"     # view (default) | table | incremental
//! partition_by = "order_date"      # DATE or TIMESTAMP column
//! lookback_days = 3                # partitions rebuilt each run, for late data
//! unique_key = ["order_id"]        # merge by key instead of replacing partitions
//! cluster_by = ["customer_id"]     # rows sorted by these before writing
//! on_schema_change = "fail"        # or "add_columns"
//! description = "One row per order."
//! owner = "data-team"
//! tags = ["finance"]
//! grants = ["group:analysts"]      # who reads it, instead of its dataset's readers
//! lint_ignore = ["K302"]
//!
//! [columns]
//! order_id = "The order's id, from the shop system."
//!
//! [[checks]]                       # see kura-quality: not_null, unique, accepted_values, ...
//! type = "unique"
//! columns = "order_id"
//!
//! [monitor]                        # volume, nulls, distincts, mean/min/max per day
//! time_column = "ordered_at"
//! */
//! SELECT ...
//! ```
//!
//! A block comment keeps the file valid GoogleSQL for any other tool (the BigQuery console,
//! an editor's formatter), and TOML is what `kura.toml` already uses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The comment that opens a header.
pub const HEADER_START: &str = "/* kura";

/// How a model is materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Materialization {
    #[default]
    View,
    Table,
    Incremental,
}

impl Materialization {
    pub fn as_str(self) -> &'static str {
        match self {
            Materialization::View => "view",
            Materialization::Table => "table",
            Materialization::Incremental => "incremental",
        }
    }
}

/// What an incremental model does when its columns change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSchemaChange {
    #[default]
    Fail,
    AddColumns,
}

/// One column or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Columns {
    One(String),
    Many(Vec<String>),
}

impl Columns {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Columns::One(c) => vec![c.clone()],
            Columns::Many(cs) => cs.clone(),
        }
    }
}

/// A model's settings. Every key is optional; unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelHeader {
    #[serde(default)]
    pub materialized: Materialization,
    pub partition_by: Option<String>,
    pub lookback_days: Option<u32>,
    pub unique_key: Option<Columns>,
    #[serde(default)]
    pub cluster_by: Vec<String>,
    #[serde(default)]
    pub on_schema_change: OnSchemaChange,
    pub description: Option<String>,
    pub owner: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who reads the model's table or view (`group:NAME`, `user:NAME`, a principal or `*`).
    /// When set, it replaces the dataset's read grants for this one relation; the dataset's
    /// writers still read it, since they build it. Empty: the dataset's grants apply.
    #[serde(default)]
    pub grants: Vec<String>,
    #[serde(default)]
    pub lint_ignore: Vec<String>,
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Data checks run after each build and by `kura check` (see kura-quality's `CheckSpec`).
    #[serde(default)]
    pub checks: Vec<kura_quality::CheckSpec>,
    /// Metrics per time bucket with anomaly detection, run by `kura monitor`.
    #[serde(default)]
    pub monitor: Option<kura_quality::MonitorSpec>,
}

/// The keys a header may hold, for did-you-mean.
pub const HEADER_KEYS: &[&str] = &[
    "materialized",
    "partition_by",
    "lookback_days",
    "unique_key",
    "cluster_by",
    "on_schema_change",
    "description",
    "owner",
    "tags",
    "grants",
    "lint_ignore",
    "columns",
    "checks",
    "monitor",
];

/// Where a header is in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderText<'a> {
    /// The TOML between `/* kura` and `*/`.
    pub toml: &'a str,
    /// The 1-based line of the TOML's first line.
    pub first_line: u64,
    /// The byte offset just after the closing `*/`, where the SQL starts.
    pub end: usize,
}

/// Finds the header: a `/* kura` comment before anything but whitespace.
///
/// # Errors
/// A message when the comment is never closed.
pub fn find_header(text: &str) -> Result<Option<HeaderText<'_>>, String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with(HEADER_START) {
        return Ok(None);
    }
    let start = text.len() - trimmed.len() + HEADER_START.len();
    let Some(end) = text[start..].find("*/") else {
        return Err("the `/* kura` header is not closed with `*/`".into());
    };
    let first_line = text[..start].matches('\n').count() as u64 + 1;
    Ok(Some(HeaderText {
        toml: &text[start..start + end],
        first_line,
        end: start + end + 2,
    }))
}

impl ModelHeader {
    /// The partition column and lookback of an incremental model (3 days unless set).
    pub fn incremental_window(&self) -> Option<(String, u32)> {
        self.partition_by
            .clone()
            .map(|c| (c, self.lookback_days.unwrap_or(3)))
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_header_and_its_line() {
        let text = "\n/* kura\nmaterialized = \"table\"\n*/\nSELECT 1";
        let h = find_header(text).unwrap().unwrap();
        assert_eq!(h.first_line, 2);
        let header: ModelHeader = toml::from_str(h.toml).unwrap();
        assert_eq!(header.materialized, Materialization::Table);
        assert!(find_header("SELECT 1").unwrap().is_none());
        assert!(find_header("/* kura\nowner = 'x'").is_err());
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(
            did_you_mean("materialised", HEADER_KEYS),
            Some("materialized")
        );
        assert_eq!(did_you_mean("owners", HEADER_KEYS), Some("owner"));
        assert_eq!(did_you_mean("zzzzzz", HEADER_KEYS), None);
    }
}
