//! Power analysis: sample size per group and test length for an A/B test.
//!
//! The numbers match statsmodels exactly (before rounding up):
//! - continuous metric: `TTestIndPower().solve_power(effect_size=mde/sd, nobs1=None, alpha=alpha,
//!   power=power, ratio=share/(1-share), alternative="two-sided")`, the noncentral-t power of the
//!   two-sample t-test with pooled variance;
//! - conversion metric: `NormalIndPower().solve_power(effect_size=proportion_effectsize(baseline +
//!   mde, baseline), ...)` with the same arguments, i.e. Cohen's h on the arcsine scale and the
//!   normal approximation.
//!
//! In both, `nobs1` is the control group and `ratio` = treatment size / control size, derived
//! from the test group's share of traffic. The solved `nobs1` is rounded up, then the treatment
//! size `ratio * nobs1` is rounded up separately, so both groups meet the target power.
//! Test length is the days needed for the slower group to fill at the given eligible-unit rate.

use crate::dist::{brent, nct_cdf, nct_sf, norm_cdf, norm_ppf, norm_sf, t_ppf};
use crate::{Result, StatsError};
use serde::Serialize;

/// A power function (effect size, nobs1, alpha, ratio) -> power.
type PowerFn = fn(f64, f64, f64, f64) -> f64;

/// The kind of metric, which decides the test the sample size is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// A continuous metric (revenue, time): two-sample t-test; `sd` is its standard deviation.
    Continuous { sd: f64 },
    /// A conversion (0/1) metric: two proportions; `baseline` is the control conversion rate.
    Proportion { baseline: f64 },
}

/// Everything `kura experiment design` asks for an A/B test's size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SampleSizeRequest {
    pub metric: MetricKind,
    /// Minimum detectable effect as an absolute difference (metric units, or rate points as a
    /// fraction: 0.01 = one percentage point).
    pub mde: f64,
    /// Two-sided significance level.
    pub alpha: f64,
    /// Target power, e.g. 0.8.
    pub power: f64,
    /// Share of eligible units that go to the test group, in (0, 1); the rest is control.
    pub treatment_share: f64,
    /// Expected eligible units per day (both groups together), for the test length.
    pub eligible_units_per_day: Option<f64>,
}

/// The sample size plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleSizePlan {
    /// Units needed in the control group (statsmodels' `nobs1`, rounded up).
    pub n_control: u64,
    /// Units needed in the treatment group (`ratio * nobs1`, rounded up).
    pub n_treatment: u64,
    pub n_total: u64,
    /// statsmodels' unrounded `nobs1` solution, kept for audit.
    pub nobs1_exact: f64,
    /// Treatment size / control size.
    pub ratio: f64,
    /// Standardised effect size: Cohen's d (continuous) or Cohen's h (proportion).
    pub effect_size: f64,
    /// "cohens_d" or "cohens_h".
    pub effect_size_kind: String,
    /// Power actually achieved by the rounded-up sizes.
    pub achieved_power: f64,
    /// Days until both groups reach their size, when a daily rate was given.
    pub days: Option<u64>,
    /// The statsmodels call this plan reproduces.
    pub reference: String,
}

/// Power of the two-sided two-sample t-test (statsmodels `TTestIndPower.power`).
pub fn ttest_ind_power(effect_size: f64, nobs1: f64, alpha: f64, ratio: f64) -> f64 {
    let nobs2 = nobs1 * ratio;
    let df = nobs1 + nobs2 - 2.0;
    let nobs = 1.0 / (1.0 / nobs1 + 1.0 / nobs2);
    let nc = effect_size * nobs.sqrt();
    let crit = t_ppf(1.0 - alpha / 2.0, df);
    nct_sf(crit, df, nc) + nct_cdf(-crit, df, nc)
}

/// Power of the two-sided two-sample z-test (statsmodels `NormalIndPower.power`).
pub fn normal_ind_power(effect_size: f64, nobs1: f64, alpha: f64, ratio: f64) -> f64 {
    let nobs2 = nobs1 * ratio;
    let nobs = 1.0 / (1.0 / nobs1 + 1.0 / nobs2);
    let crit = norm_ppf(1.0 - alpha / 2.0);
    let shift = effect_size * nobs.sqrt();
    norm_sf(crit - shift) + norm_cdf(-crit - shift)
}

/// Cohen's h between two proportions (statsmodels `proportion_effectsize(prop1, prop2)`).
pub fn proportion_effectsize(prop1: f64, prop2: f64) -> f64 {
    2.0 * prop1.sqrt().asin() - 2.0 * prop2.sqrt().asin()
}

fn invalid(name: &str, message: String, hint: &str) -> StatsError {
    StatsError::InvalidArgument {
        name: name.into(),
        message,
        hint: hint.into(),
    }
}

/// Computes the sample size per group (and the test length) for an A/B test.
///
/// # Errors
/// [`StatsError::InvalidArgument`] for alpha/power outside (0,1), a share outside (0,1), a
/// non-positive MDE or sd, a baseline outside (0,1), or a baseline + MDE outside (0,1).
pub fn sample_size(req: &SampleSizeRequest) -> Result<SampleSizePlan> {
    crate::result::check_alpha(req.alpha)?;
    if !(req.power > 0.0 && req.power < 1.0) || req.power <= req.alpha / 2.0 {
        return Err(invalid(
            "power",
            format!("{} is not in (alpha/2, 1)", req.power),
            "use a power such as 0.8",
        ));
    }
    if !(req.treatment_share > 0.0 && req.treatment_share < 1.0) {
        return Err(invalid(
            "treatment share",
            format!("{} is not in (0, 1)", req.treatment_share),
            "give the test group's share of traffic, e.g. 0.5",
        ));
    }
    if !(req.mde.is_finite() && req.mde != 0.0) {
        return Err(invalid(
            "minimum detectable effect",
            format!("{} must be a non-zero number", req.mde),
            "give the smallest absolute difference worth detecting",
        ));
    }
    let ratio = req.treatment_share / (1.0 - req.treatment_share);
    let (effect_size, kind, reference, power_fn): (f64, &str, String, PowerFn) = match req.metric {
        MetricKind::Continuous { sd } => {
            if !(sd.is_finite() && sd > 0.0) {
                return Err(invalid(
                    "sd",
                    format!("{sd} must be positive"),
                    "estimate the metric's standard deviation from past data",
                ));
            }
            (
                    (req.mde / sd).abs(),
                    "cohens_d",
                    format!(
                        "statsmodels TTestIndPower().solve_power(effect_size={}, alpha={}, power={}, ratio={}, alternative='two-sided')",
                        (req.mde / sd).abs(), req.alpha, req.power, ratio
                    ),
                    ttest_ind_power,
                )
        }
        MetricKind::Proportion { baseline } => {
            let p1 = baseline + req.mde;
            if !(baseline > 0.0 && baseline < 1.0 && p1 > 0.0 && p1 < 1.0) {
                return Err(invalid(
                    "baseline",
                    format!("baseline {baseline} and baseline + mde {p1} must both be in (0, 1)"),
                    "give rates as fractions, e.g. 0.05 for 5%",
                ));
            }
            let h = proportion_effectsize(p1, baseline).abs();
            (
                    h,
                    "cohens_h",
                    format!(
                        "statsmodels NormalIndPower().solve_power(effect_size=proportion_effectsize({p1}, {baseline}), alpha={}, power={}, ratio={}, alternative='two-sided')",
                        req.alpha, req.power, ratio
                    ),
                    normal_ind_power,
                )
        }
    };
    let f = |n: f64| power_fn(effect_size, n, req.alpha, ratio) - req.power;
    // The t-test needs df = n1 + n2 - 2 > 0, so the search starts at n1 = 2 (and at the
    // smallest n1 that makes the treatment group at least 1 unit).
    let lo = 2.0_f64.max(1.0 / ratio + 1e-9);
    let nobs1_exact = if f(lo) >= 0.0 {
        lo
    } else {
        let mut hi = lo * 2.0;
        while f(hi) < 0.0 {
            hi *= 2.0;
            if hi > 1e15 {
                return Err(invalid(
                    "minimum detectable effect",
                    format!("{} needs more than 1e15 units per group", req.mde),
                    "choose a larger MDE",
                ));
            }
        }
        brent(f, lo, hi, 1e-13)
    };
    let n_control = nobs1_exact.ceil() as u64;
    let n_treatment = (nobs1_exact * ratio).ceil() as u64;
    // The achieved power uses the rounded sizes with their actual ratio.
    let achieved_power = power_fn(
        effect_size,
        n_control as f64,
        req.alpha,
        n_treatment as f64 / n_control as f64,
    );
    let days = match req.eligible_units_per_day {
        None => None,
        Some(u) if u.is_finite() && u > 0.0 => {
            let d_t = n_treatment as f64 / (u * req.treatment_share);
            let d_c = n_control as f64 / (u * (1.0 - req.treatment_share));
            Some(d_t.max(d_c).ceil() as u64)
        }
        Some(u) => {
            return Err(invalid(
                "eligible units per day",
                format!("{u} must be positive"),
                "count the units that would enter the test on a typical day",
            ))
        }
    };
    Ok(SampleSizePlan {
        n_control,
        n_treatment,
        n_total: n_control + n_treatment,
        nobs1_exact,
        ratio,
        effect_size,
        effect_size_kind: kind.to_string(),
        achieved_power,
        days,
        reference,
    })
}
