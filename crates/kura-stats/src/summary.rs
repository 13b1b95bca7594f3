//! Plain summaries of a sample (mean, variance) with the checks every estimator needs first.
//!
//! Kept apart so that "too few units" and "zero variance" are detected in one place and worded
//! the same way for every method.

use crate::{Result, StatsError};

/// Arithmetic mean. The caller guarantees a non-empty slice.
pub(crate) fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance with `ddof` subtracted from n in the denominator (two-pass for accuracy).
pub(crate) fn var(x: &[f64], ddof: f64) -> f64 {
    let m = mean(x);
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    ss / (x.len() as f64 - ddof)
}

/// Sample covariance with n-1 in the denominator.
pub(crate) fn cov(x: &[f64], y: &[f64]) -> f64 {
    let mx = mean(x);
    let my = mean(y);
    let s: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    s / (x.len() as f64 - 1.0)
}

/// Fails unless `x` has at least `need` values and all are finite.
pub(crate) fn require_units(what: &str, x: &[f64], need: usize) -> Result<()> {
    if x.len() < need {
        return Err(StatsError::TooFewUnits {
            what: what.to_string(),
            got: x.len(),
            need,
            hint: "collect more data or widen the analysis window".into(),
        });
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::BadInput {
            what: format!("{what} has a non-finite value at position {i}"),
            hint: "remove NaN/inf values or use the option that drops incomplete rows".into(),
        });
    }
    Ok(())
}
