//! Two-proportion z-test for conversion metrics.
//!
//! The test uses the pooled standard error under H0 (statsmodels `proportions_ztest([x_t, x_c],
//! [n_t, n_c])`), while the interval uses the unpooled Wald SE of the difference
//! (`confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")`), because
//! under the alternative the two rates differ. The reported SE is the Wald one, which goes with
//! the interval; the pooled one is in the diagnostics.

use crate::dist::{norm_ppf, norm_two_sided_p};
use crate::result::{check_alpha, Estimate, Interval, Reference};
use crate::{Result, StatsError};
use std::collections::BTreeMap;

/// Tests whether the conversion rate of treatment (`x_t` of `n_t`) differs from control.
///
/// # Errors
/// [`StatsError::TooFewUnits`] for a group under 2 units; [`StatsError::BadInput`] when a count
/// exceeds its group size; [`StatsError::ZeroVariance`] when all units in both groups converted
/// or none did.
pub fn two_proportion_z_test(
    x_t: u64,
    n_t: u64,
    x_c: u64,
    n_c: u64,
    alpha: f64,
) -> Result<Estimate> {
    check_alpha(alpha)?;
    for (what, n) in [("treatment group", n_t), ("control group", n_c)] {
        if n < 2 {
            return Err(StatsError::TooFewUnits {
                what: what.into(),
                got: n as usize,
                need: 2,
                hint: "collect more data before testing".into(),
            });
        }
    }
    if x_t > n_t || x_c > n_c {
        return Err(StatsError::BadInput {
            what: format!("conversions exceed units: {x_t}/{n_t} and {x_c}/{n_c}"),
            hint: "count converting units, not conversion events".into(),
        });
    }
    let (xt, nt, xc, nc) = (x_t as f64, n_t as f64, x_c as f64, n_c as f64);
    let (p1, p2) = (xt / nt, xc / nc);
    let pooled = (xt + xc) / (nt + nc);
    if pooled == 0.0 || pooled == 1.0 {
        return Err(StatsError::ZeroVariance {
            what: "the conversion indicator (all units converted or none did)".into(),
            hint: "check the metric definition or wait for conversions".into(),
        });
    }
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nc)).sqrt();
    let effect = p1 - p2;
    let z = effect / se_pooled;
    let se_wald = (p1 * (1.0 - p1) / nt + p2 * (1.0 - p2) / nc).sqrt();
    let q = norm_ppf(1.0 - alpha / 2.0);
    let mut diagnostics = BTreeMap::new();
    diagnostics.insert("n_treatment".into(), nt);
    diagnostics.insert("n_control".into(), nc);
    diagnostics.insert("rate_treatment".into(), p1);
    diagnostics.insert("rate_control".into(), p2);
    diagnostics.insert("pooled_rate".into(), pooled);
    diagnostics.insert("se_pooled".into(), se_pooled);
    let mut warnings = Vec::new();
    if [xt, nt - xt, xc, nc - xc].iter().any(|&c| c < 5.0) {
        warnings.push(
            "a cell has fewer than 5 units: the normal approximation is poor, prefer an exact test"
                .into(),
        );
    }
    if se_wald == 0.0 {
        warnings.push("both rates are 0 or 1: the Wald interval has zero width".into());
    }
    Ok(Estimate {
        method: "two-proportion z-test".into(),
        effect,
        std_error: se_wald,
        statistic: z,
        df: None,
        p_value: norm_two_sided_p(z),
        ci: Interval {
            level: 1.0 - alpha,
            lower: effect - q * se_wald,
            upper: effect + q * se_wald,
            reference: Reference::Normal,
        },
        diagnostics,
        warnings,
    })
}
