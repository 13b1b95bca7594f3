//! Welch's and Student's two-sample t-tests (scipy `ttest_ind(treatment, control, equal_var=…)`).
//!
//! Welch's test is the default for A/B tests because group variances rarely match; Student's is
//! kept for comparison with classic reports. The interval is scipy's `confidence_interval()`:
//! the effect ± t quantile × SE with the same degrees of freedom as the test.

use crate::dist::{t_ppf, t_two_sided_p};
use crate::result::{check_alpha, Estimate, Interval, Reference};
use crate::summary::{mean, require_units, var};
use crate::{Result, StatsError};
use std::collections::BTreeMap;

/// Welch's unequal-variance t-test of mean(treatment) - mean(control).
///
/// # Errors
/// [`StatsError::TooFewUnits`] for a group under 2 units; [`StatsError::ZeroVariance`] when both
/// groups are constant (the SE is zero).
pub fn welch_t_test(treatment: &[f64], control: &[f64], alpha: f64) -> Result<Estimate> {
    t_test(treatment, control, alpha, false)
}

/// Student's equal-variance t-test of mean(treatment) - mean(control).
///
/// # Errors
/// As [`welch_t_test`].
pub fn student_t_test(treatment: &[f64], control: &[f64], alpha: f64) -> Result<Estimate> {
    t_test(treatment, control, alpha, true)
}

fn t_test(treatment: &[f64], control: &[f64], alpha: f64, equal_var: bool) -> Result<Estimate> {
    check_alpha(alpha)?;
    require_units("treatment group", treatment, 2)?;
    require_units("control group", control, 2)?;
    let (n1, n2) = (treatment.len() as f64, control.len() as f64);
    let (m1, m2) = (mean(treatment), mean(control));
    let (v1, v2) = (var(treatment, 1.0), var(control, 1.0));
    if v1 == 0.0 && v2 == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "the metric in both groups".into(),
            hint: "a constant metric cannot be tested; check the metric definition".into(),
        });
    }
    let (se, df) = if equal_var {
        let df = n1 + n2 - 2.0;
        let sp = ((n1 - 1.0) * v1 + (n2 - 1.0) * v2) / df;
        ((sp * (1.0 / n1 + 1.0 / n2)).sqrt(), df)
    } else {
        let (a, b) = (v1 / n1, v2 / n2);
        let df = (a + b).powi(2) / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
        ((a + b).sqrt(), df)
    };
    let effect = m1 - m2;
    let t = effect / se;
    let q = t_ppf(1.0 - alpha / 2.0, df);
    let mut diagnostics = BTreeMap::new();
    diagnostics.insert("n_treatment".into(), n1);
    diagnostics.insert("n_control".into(), n2);
    diagnostics.insert("mean_treatment".into(), m1);
    diagnostics.insert("mean_control".into(), m2);
    diagnostics.insert("sd_treatment".into(), v1.sqrt());
    diagnostics.insert("sd_control".into(), v2.sqrt());
    let mut warnings = Vec::new();
    if v1 == 0.0 || v2 == 0.0 {
        warnings
            .push("one group has zero variance; the test rests on the other group alone".into());
    }
    Ok(Estimate {
        method: if equal_var {
            "Student's t-test".into()
        } else {
            "Welch's t-test".into()
        },
        effect,
        std_error: se,
        statistic: t,
        df: Some(df),
        p_value: t_two_sided_p(t, df),
        ci: Interval {
            level: 1.0 - alpha,
            lower: effect - q * se,
            upper: effect + q * se,
            reference: Reference::StudentT,
        },
        diagnostics,
        warnings,
    })
}
