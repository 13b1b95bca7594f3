//! The `[lint]` table of `kura.toml`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rules::{rule, rules};

/// The zone local wall-clock times are in when a project does not say.
pub const DEFAULT_LOCAL_ZONE: &str = "Asia/Tokyo";

/// How much a finding matters: errors fail `kura lint` (exit 1), warnings are printed only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wrong data or a broken layer: fails the run.
    Error,
    /// A smell worth fixing: reported, does not fail.
    #[serde(alias = "warning")]
    Warn,
}

impl Severity {
    /// The word used in `kura.toml` and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Project-wide lint settings, read from the `[lint]` table of `kura.toml`.
///
/// Every key is optional (a missing table is [`LintConfig::default`]); unknown keys are errors
/// so a typo does not silently switch a rule off. Codes are checked by [`LintConfig::validate`],
/// which the caller runs after deserialising, because serde cannot say which codes exist.
///
/// ```toml
/// [lint]
/// ignore = ["K302"]
/// severity = { K301 = "error", K501 = "warn" }
/// raw_datasets = ["raw"]
/// staging_datasets = ["stg", "staging"]
/// mart_datasets = ["marts", "mart"]
/// local_zone = "Asia/Tokyo"
/// rebuild_window_days = 30
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LintConfig {
    /// The IANA zone local wall-clock (DATETIME) values are in. `None` means the project's
    /// zone, else [`DEFAULT_LOCAL_ZONE`]; the caller may fill it from project settings.
    pub local_zone: Option<String>,
    /// Datasets holding data as loaded, read only by staging models (K101).
    pub raw_datasets: Vec<String>,
    /// Datasets of staging models, the only ones allowed to read raw data (K101).
    pub staging_datasets: Vec<String>,
    /// Datasets of marts, the models consumers read (K302, K401, K402).
    pub mart_datasets: Vec<String>,
    /// Codes never reported in this project.
    pub ignore: Vec<String>,
    /// Severity per code, replacing the rule's default.
    pub severity: BTreeMap<String, Severity>,
    /// How many days of query log K501 weighs rebuilds against reads over. The caller
    /// gathers [`crate::Usage`] over this window; the rule only reports it.
    pub rebuild_window_days: u32,
}

impl Default for LintConfig {
    fn default() -> Self {
        LintConfig {
            local_zone: None,
            raw_datasets: vec!["raw".to_string()],
            staging_datasets: vec!["stg".to_string(), "staging".to_string()],
            mart_datasets: vec!["marts".to_string(), "mart".to_string()],
            ignore: Vec::new(),
            severity: BTreeMap::new(),
            rebuild_window_days: 30,
        }
    }
}

impl LintConfig {
    /// The project's local zone: [`LintConfig::local_zone`] or [`DEFAULT_LOCAL_ZONE`].
    pub fn local_zone(&self) -> &str {
        self.local_zone.as_deref().unwrap_or(DEFAULT_LOCAL_ZONE)
    }

    /// Checks that every code named in `ignore` and `severity` exists.
    ///
    /// # Errors
    /// [`LintError::UnknownCode`] for the first code no rule has.
    pub fn validate(&self) -> Result<(), LintError> {
        validate_codes(&self.ignore, "[lint] ignore")?;
        for code in self.severity.keys() {
            check_code(code, "[lint] severity")?;
        }
        Ok(())
    }

    /// The severity a rule's findings are reported at in this project.
    pub(crate) fn severity_of(&self, code: &str, default: Severity) -> Severity {
        self.severity.get(code).copied().unwrap_or(default)
    }

    pub(crate) fn is_raw(&self, dataset: &str) -> bool {
        contains(&self.raw_datasets, dataset)
    }

    pub(crate) fn is_staging(&self, dataset: &str) -> bool {
        contains(&self.staging_datasets, dataset)
    }

    pub(crate) fn is_mart(&self, dataset: &str) -> bool {
        contains(&self.mart_datasets, dataset)
    }
}

/// Dataset names compare case-insensitively, as BigQuery's do by default.
fn contains(list: &[String], dataset: &str) -> bool {
    list.iter().any(|d| d.eq_ignore_ascii_case(dataset))
}

/// Checks lint codes written by a user, such as a model header's `lint_ignore`.
///
/// `origin` says where they were written (`"[lint] ignore"`, `"models/marts/orders.sql header"`)
/// and appears in the error.
///
/// # Errors
/// [`LintError::UnknownCode`] for the first code no rule has.
pub fn validate_codes(codes: &[String], origin: &str) -> Result<(), LintError> {
    codes.iter().try_for_each(|code| check_code(code, origin))
}

fn check_code(code: &str, origin: &str) -> Result<(), LintError> {
    if rule(code).is_some() {
        return Ok(());
    }
    let by_name = rules()
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(code))
        .map(|r| r.code);
    Err(LintError::UnknownCode {
        code: code.to_string(),
        origin: origin.to_string(),
        suggestion: by_name,
    })
}

/// Why lint settings could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LintError {
    /// A code in `ignore`, `severity` or a header's `lint_ignore` that no rule has.
    #[error("unknown lint code `{code}` in {origin}")]
    UnknownCode {
        code: String,
        origin: String,
        /// The code of the rule the text names, when a rule name was written instead of a code.
        suggestion: Option<&'static str>,
    },
}

impl LintError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            LintError::UnknownCode {
                code,
                suggestion: Some(known),
                ..
            } => format!("write the rule's code: `{known}` instead of `{code}`"),
            LintError::UnknownCode { .. } => {
                let codes: Vec<&str> = rules().iter().map(|r| r.code).collect();
                format!(
                    "known codes are {}; `kura lint --explain <code>` describes one",
                    codes.join(", ")
                )
            }
        }
    }
}
