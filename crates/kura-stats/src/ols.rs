//! OLS regression of an outcome on the treatment and covariates, with robust standard errors.
//!
//! Matches statsmodels `OLS(y, add_constant(X)).fit(cov_type=…)` for `nonrobust` and HC0-HC3.
//! Both intervals are reported for every covariance type and labelled, because statsmodels
//! itself switches silently (t for nonrobust, normal for HC* unless `use_t=True`): here the
//! reader sees both and knows which is which.

use crate::dist::{norm_ppf, norm_two_sided_p, t_ppf, t_two_sided_p};
use crate::linalg::{chol_inverse, cholesky, xtv, xtwx, Matrix};
use crate::result::{check_alpha, Estimate, Interval, Reference};
use crate::summary::require_units;
use crate::{Result, StatsError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Covariance estimator of the coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub enum CovType {
    /// Classical s²(X'X)⁻¹, valid under homoskedastic errors.
    NonRobust,
    /// White's heteroskedasticity-consistent estimator.
    HC0,
    /// HC0 × n/(n-k), the small-sample scaling Stata uses by default.
    HC1,
    /// Residuals scaled by 1/(1-h_ii).
    HC2,
    /// Residuals scaled by 1/(1-h_ii)², the most conservative; a good default for small n.
    HC3,
}

impl CovType {
    /// All five, in report order.
    pub const ALL: [CovType; 5] = [
        CovType::NonRobust,
        CovType::HC0,
        CovType::HC1,
        CovType::HC2,
        CovType::HC3,
    ];
}

/// One coefficient under one covariance type, with both interval flavours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoefficientRow {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
    /// estimate / std_error.
    pub statistic: f64,
    /// Two-sided p-value from Student t with `df_resid` degrees of freedom.
    pub p_value_t: f64,
    /// Two-sided p-value from the standard normal.
    pub p_value_normal: f64,
    pub ci_t: Interval,
    pub ci_normal: Interval,
}

/// The coefficient table under one covariance type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CovTable {
    pub cov_type: CovType,
    pub rows: Vec<CoefficientRow>,
}

/// A fitted regression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OlsFit {
    /// "const" first, then the regressors in the order given.
    pub names: Vec<String>,
    pub params: Vec<f64>,
    pub n: usize,
    pub df_resid: f64,
    pub r_squared: f64,
    /// Residual variance SSR / (n - k).
    pub sigma2: f64,
    /// One table per covariance type, in [`CovType::ALL`] order.
    pub tables: Vec<CovTable>,
    pub warnings: Vec<String>,
}

impl OlsFit {
    /// The row of `name` under `cov_type`.
    pub fn row(&self, name: &str, cov_type: CovType) -> Option<&CoefficientRow> {
        self.tables
            .iter()
            .find(|t| t.cov_type == cov_type)?
            .rows
            .iter()
            .find(|r| r.name == name)
    }

    /// The coefficient of `name` as an [`Estimate`] (t interval; normal interval in diagnostics).
    pub fn estimate(&self, name: &str, cov_type: CovType) -> Option<Estimate> {
        let r = self.row(name, cov_type)?;
        let mut diagnostics = BTreeMap::new();
        diagnostics.insert("n".into(), self.n as f64);
        diagnostics.insert("r_squared".into(), self.r_squared);
        diagnostics.insert("ci_normal_lower".into(), r.ci_normal.lower);
        diagnostics.insert("ci_normal_upper".into(), r.ci_normal.upper);
        diagnostics.insert("p_value_normal".into(), r.p_value_normal);
        Some(Estimate {
            method: format!("OLS ({cov_type:?} standard errors)"),
            effect: r.estimate,
            std_error: r.std_error,
            statistic: r.statistic,
            df: Some(self.df_resid),
            p_value: r.p_value_t,
            ci: r.ci_t,
            diagnostics,
            warnings: self.warnings.clone(),
        })
    }
}

/// Fits y = const + Σ b_j x_j by least squares and computes all five covariance types.
///
/// `regressors` are (name, values) pairs, typically the 0/1 treatment first, then covariates.
///
/// # Errors
/// [`StatsError::BadInput`] for mismatched lengths or non-finite values;
/// [`StatsError::TooFewUnits`] when n ≤ k; [`StatsError::Singular`] for constant or collinear
/// regressors; [`StatsError::ZeroVariance`] when the residuals are all zero (perfect fit).
pub fn fit_ols(y: &[f64], regressors: &[(&str, &[f64])], alpha: f64) -> Result<OlsFit> {
    check_alpha(alpha)?;
    let n = y.len();
    require_units("outcome", y, regressors.len() + 2)?;
    for (name, col) in regressors {
        if col.len() != n {
            return Err(StatsError::BadInput {
                what: format!("regressor `{name}` has {} rows, outcome has {n}", col.len()),
                hint: "read all columns from the same rows".into(),
            });
        }
        require_units(&format!("regressor `{name}`"), col, 1)?;
    }
    let ones = vec![1.0; n];
    let mut cols: Vec<&[f64]> = vec![&ones];
    cols.extend(regressors.iter().map(|(_, c)| *c));
    let mut names = vec!["const".to_string()];
    names.extend(regressors.iter().map(|(n, _)| n.to_string()));
    let k = cols.len();

    let xtx = xtwx(&cols, None);
    let l = cholesky(&xtx).ok_or_else(|| StatsError::Singular {
        model: "the regression".into(),
    })?;
    let xtx_inv = chol_inverse(&l);
    let params = xtx_inv.mul_vec(&xtv(&cols, y));
    let fitted: Vec<f64> = (0..n)
        .map(|i| cols.iter().zip(&params).map(|(c, b)| c[i] * b).sum())
        .collect();
    let resid: Vec<f64> = y.iter().zip(&fitted).map(|(a, b)| a - b).collect();
    let ssr: f64 = resid.iter().map(|e| e * e).sum();
    let ybar = y.iter().sum::<f64>() / n as f64;
    let sst: f64 = y.iter().map(|v| (v - ybar).powi(2)).sum();
    let df_resid = (n - k) as f64;
    if ssr == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "the regression residuals (the model fits perfectly)".into(),
            hint: "the outcome is an exact function of the regressors; check for leakage".into(),
        });
    }
    let sigma2 = ssr / df_resid;

    // Leverages h_ii = x_i' (X'X)^-1 x_i for HC2/HC3.
    let leverage: Vec<f64> = (0..n)
        .map(|i| {
            let xi: Vec<f64> = cols.iter().map(|c| c[i]).collect();
            let v = xtx_inv.mul_vec(&xi);
            xi.iter().zip(&v).map(|(a, b)| a * b).sum()
        })
        .collect();
    let mut warnings = Vec::new();
    if leverage.iter().any(|h| *h > 1.0 - 1e-10) {
        warnings
            .push("a unit has leverage 1: HC2/HC3 standard errors are not defined for it".into());
    }
    let sandwich = |w: &[f64]| -> Matrix {
        let meat = xtwx(&cols, Some(w));
        xtx_inv.mul(&meat).mul(&xtx_inv)
    };
    let e2: Vec<f64> = resid.iter().map(|e| e * e).collect();
    let zq = norm_ppf(1.0 - alpha / 2.0);
    let tq = t_ppf(1.0 - alpha / 2.0, df_resid);
    let mut tables = Vec::new();
    for cov_type in CovType::ALL {
        let cov = match cov_type {
            CovType::NonRobust => {
                let mut m = xtx_inv.clone();
                m.data.iter_mut().for_each(|v| *v *= sigma2);
                m
            }
            CovType::HC0 => sandwich(&e2),
            CovType::HC1 => {
                let mut m = sandwich(&e2);
                let s = n as f64 / df_resid;
                m.data.iter_mut().for_each(|v| *v *= s);
                m
            }
            CovType::HC2 => {
                let w: Vec<f64> = e2
                    .iter()
                    .zip(&leverage)
                    .map(|(e, h)| e / (1.0 - h))
                    .collect();
                sandwich(&w)
            }
            CovType::HC3 => {
                let w: Vec<f64> = e2
                    .iter()
                    .zip(&leverage)
                    .map(|(e, h)| e / (1.0 - h).powi(2))
                    .collect();
                sandwich(&w)
            }
        };
        let rows = (0..k)
            .map(|j| {
                let se = cov.get(j, j).sqrt();
                let b = params[j];
                let stat = b / se;
                CoefficientRow {
                    name: names[j].clone(),
                    estimate: b,
                    std_error: se,
                    statistic: stat,
                    p_value_t: t_two_sided_p(stat, df_resid),
                    p_value_normal: norm_two_sided_p(stat),
                    ci_t: Interval {
                        level: 1.0 - alpha,
                        lower: b - tq * se,
                        upper: b + tq * se,
                        reference: Reference::StudentT,
                    },
                    ci_normal: Interval {
                        level: 1.0 - alpha,
                        lower: b - zq * se,
                        upper: b + zq * se,
                        reference: Reference::Normal,
                    },
                }
            })
            .collect();
        tables.push(CovTable { cov_type, rows });
    }
    Ok(OlsFit {
        names,
        params,
        n,
        df_resid,
        r_squared: if sst > 0.0 { 1.0 - ssr / sst } else { 0.0 },
        sigma2,
        tables,
        warnings,
    })
}
