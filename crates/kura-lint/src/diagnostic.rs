//! A finding, placed in a file.

use std::fmt;
use std::path::PathBuf;

use crate::config::Severity;

/// One rule broken at one place in one model.
///
/// Displays ruff-like, with the fix on an indented second line:
///
/// ```text
/// models/marts/orders.sql:3:8: K301 column `OrderId` is not snake_case
///   help: rename it `order_id`
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule's stable code, such as `K201`.
    pub code: &'static str,
    /// The rule's kebab-case name, such as `local-time-as-timestamp`.
    pub name: &'static str,
    /// After the project's overrides.
    pub severity: Severity,
    /// The model, as `dataset.name`.
    pub model: String,
    /// The model's file, as given in [`crate::ModelFacts::path`].
    pub path: PathBuf,
    /// 1-based line in the file.
    pub line: u64,
    /// 1-based column in the file.
    pub column: u64,
    /// What is wrong, naming the column, table or setting.
    pub message: String,
    /// How to fix it, concretely where the rule can tell.
    pub fix: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} {}\n  help: {}",
            self.path.display(),
            self.line,
            self.column,
            self.code,
            self.message,
            self.fix
        )
    }
}
