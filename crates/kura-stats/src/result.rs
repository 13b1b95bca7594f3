//! The shape every estimator reports: effect, standard error, interval, p-value, diagnostics.
//!
//! One shape means the CLI renders text and `--format json` once for all methods, and a reader
//! can compare methods side by side. Warnings are labelled strings, never NaN in a number.

use serde::Serialize;
use std::collections::BTreeMap;

/// Which reference distribution an interval or p-value was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// Standard normal (z).
    Normal,
    /// Student t with the degrees of freedom reported next to it.
    StudentT,
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Coverage, e.g. 0.95.
    pub level: f64,
    pub lower: f64,
    pub upper: f64,
    /// The distribution the critical value came from, so the label is never lost.
    pub reference: Reference,
}

/// One estimated effect with its uncertainty; the common result of the A/B, PSM and RD estimators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Human-readable name of the test, e.g. "Welch's t-test".
    pub method: String,
    /// Treatment minus control (or the RD jump, or the ATT).
    pub effect: f64,
    pub std_error: f64,
    /// The test statistic (t or z).
    pub statistic: f64,
    /// Degrees of freedom when the reference is Student t.
    pub df: Option<f64>,
    pub p_value: f64,
    pub ci: Interval,
    /// Named numbers that explain the estimate (group sizes, means, variances, ...).
    pub diagnostics: BTreeMap<String, f64>,
    /// Labelled caveats (dropped rows, low counts); never silently swallowed.
    pub warnings: Vec<String>,
}

/// Checks `alpha` once for every estimator, since a bad level would silently give a bad interval.
pub(crate) fn check_alpha(alpha: f64) -> crate::Result<()> {
    if alpha.is_finite() && alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(crate::StatsError::InvalidArgument {
            name: "alpha".into(),
            message: format!("{alpha} is not in (0, 1)"),
            hint: "use a significance level such as 0.05".into(),
        })
    }
}
