//! CUPED: variance reduction with a pre-period covariate, then Welch's t-test.
//!
//! theta = cov(y, x) / var(x) on the pooled data (both groups), each unit's metric is adjusted to
//! y - theta (x - mean(x)) with the pooled mean of x, and the adjusted metrics go into Welch's
//! test. Pooling keeps theta independent of the treatment, so the estimate stays unbiased; the
//! adjusted means are reported with the share of variance removed.

use crate::ab::ttest::welch_t_test;
use crate::result::Estimate;
use crate::summary::{cov, mean, require_units, var};
use crate::{Result, StatsError};
use serde::Serialize;

/// CUPED's estimate plus the adjustment it made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CupedResult {
    /// Welch's t-test on the adjusted metric.
    pub estimate: Estimate,
    pub theta: f64,
    pub adjusted_mean_treatment: f64,
    pub adjusted_mean_control: f64,
    /// 1 - var(adjusted y) / var(y), pooled: the share of variance removed.
    pub variance_reduction: f64,
}

/// Runs CUPED on (metric, pre-period covariate) pairs of each group.
///
/// # Errors
/// [`StatsError::BadInput`] when a metric and its covariate differ in length;
/// [`StatsError::TooFewUnits`] for groups under 2; [`StatsError::ZeroVariance`] when the covariate
/// is constant (theta undefined) or the adjusted metric is constant.
pub fn cuped(
    y_treatment: &[f64],
    x_treatment: &[f64],
    y_control: &[f64],
    x_control: &[f64],
    alpha: f64,
) -> Result<CupedResult> {
    if y_treatment.len() != x_treatment.len() || y_control.len() != x_control.len() {
        return Err(StatsError::BadInput {
            what: "metric and pre-period covariate have different lengths".into(),
            hint: "read both from the same rows".into(),
        });
    }
    require_units("treatment group", y_treatment, 2)?;
    require_units("control group", y_control, 2)?;
    require_units("treatment pre-period covariate", x_treatment, 2)?;
    require_units("control pre-period covariate", x_control, 2)?;
    let y: Vec<f64> = y_treatment.iter().chain(y_control).copied().collect();
    let x: Vec<f64> = x_treatment.iter().chain(x_control).copied().collect();
    let vx = var(&x, 1.0);
    if vx == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "the pre-period covariate".into(),
            hint: "CUPED needs a covariate that varies; use the plain Welch test".into(),
        });
    }
    let theta = cov(&y, &x) / vx;
    let mx = mean(&x);
    let adjust = |ys: &[f64], xs: &[f64]| -> Vec<f64> {
        ys.iter()
            .zip(xs)
            .map(|(y, x)| y - theta * (x - mx))
            .collect()
    };
    let yt = adjust(y_treatment, x_treatment);
    let yc = adjust(y_control, x_control);
    let mut estimate = welch_t_test(&yt, &yc, alpha)?;
    estimate.method = "CUPED + Welch's t-test".into();
    estimate.diagnostics.insert("theta".into(), theta);
    let adj: Vec<f64> = yt.iter().chain(&yc).copied().collect();
    let vy = var(&y, 1.0);
    let variance_reduction = if vy > 0.0 {
        1.0 - var(&adj, 1.0) / vy
    } else {
        0.0
    };
    estimate
        .diagnostics
        .insert("variance_reduction".into(), variance_reduction);
    Ok(CupedResult {
        theta,
        adjusted_mean_treatment: mean(&yt),
        adjusted_mean_control: mean(&yc),
        variance_reduction,
        estimate,
    })
}
