//! Logistic regression by unpenalised maximum likelihood (Newton-Raphson / IRLS).
//!
//! This is the propensity model of [`crate::psm`]; it matches R's `glm(family = binomial)` and
//! statsmodels `Logit` to optimiser tolerance. Unpenalised, because a penalty would shift the
//! scores MatchIt matches on. When a covariate separates treated from control the MLE does not
//! exist (coefficients run to infinity); that is detected and reported as
//! [`StatsError::PerfectSeparation`] rather than returning huge, meaningless scores.

use crate::linalg::{chol_inverse, chol_solve, cholesky, xtv, xtwx};
use crate::{Result, StatsError};
use serde::Serialize;

/// A fitted logistic model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogitFit {
    /// "const" first, then the covariates in the order given.
    pub names: Vec<String>,
    pub params: Vec<f64>,
    /// Standard errors from the inverse observed information.
    pub std_errors: Vec<f64>,
    /// Linear predictor x'b for every row: the logit of the propensity score.
    pub linear_predictor: Vec<f64>,
    pub log_likelihood: f64,
    pub iterations: usize,
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn log_lik(y: &[f64], eta: &[f64]) -> f64 {
    // log(1 + e^eta) computed stably.
    y.iter()
        .zip(eta)
        .map(|(y, e)| {
            y * e
                - if *e > 0.0 {
                    e + (-e).exp().ln_1p()
                } else {
                    e.exp().ln_1p()
                }
        })
        .sum()
}

/// Fits P(y = 1) = sigmoid(const + Σ b_j x_j).
///
/// # Errors
/// [`StatsError::BadInput`] for y not 0/1 or mismatched lengths; [`StatsError::Singular`] for
/// collinear or constant covariates; [`StatsError::PerfectSeparation`] when fitted probabilities
/// reach 0 or 1 (complete or quasi-complete separation); [`StatsError::NoConvergence`] otherwise
/// when Newton's method does not settle.
pub fn fit_logit(y: &[f64], covariates: &[(&str, &[f64])]) -> Result<LogitFit> {
    let n = y.len();
    if y.iter().any(|v| *v != 0.0 && *v != 1.0) {
        return Err(StatsError::BadInput {
            what: "the treatment indicator has values other than 0 and 1".into(),
            hint: "encode treatment as 1 and control as 0".into(),
        });
    }
    for (name, c) in covariates {
        if c.len() != n {
            return Err(StatsError::BadInput {
                what: format!("covariate `{name}` has {} rows, treatment has {n}", c.len()),
                hint: "read all columns from the same rows".into(),
            });
        }
        if c.iter().any(|v| !v.is_finite()) {
            return Err(StatsError::BadInput {
                what: format!("covariate `{name}` has a non-finite value"),
                hint: "drop or impute missing covariates first".into(),
            });
        }
    }
    let ones = vec![1.0; n];
    let mut cols: Vec<&[f64]> = vec![&ones];
    cols.extend(covariates.iter().map(|(_, c)| *c));
    let mut names = vec!["const".to_string()];
    names.extend(covariates.iter().map(|(n, _)| n.to_string()));
    let k = cols.len();
    // Column-wise axpy: vectorises, unlike a per-row sum over columns.
    let eta_of = |b: &[f64]| -> Vec<f64> {
        let mut eta = vec![b[0]; n];
        for (c, bj) in cols.iter().zip(b).skip(1) {
            for (e, x) in eta.iter_mut().zip(c.iter()) {
                *e += bj * x;
            }
        }
        eta
    };

    let mut beta = vec![0.0; k];
    let mut eta = eta_of(&beta);
    let mut ll = log_lik(y, &eta);
    const MAX_ITER: usize = 100;
    let mut converged = false;
    let mut iterations = 0;
    for it in 1..=MAX_ITER {
        iterations = it;
        let p: Vec<f64> = eta.iter().map(|e| sigmoid(*e)).collect();
        let w: Vec<f64> = p.iter().map(|p| p * (1.0 - p)).collect();
        let resid: Vec<f64> = y.iter().zip(&p).map(|(y, p)| y - p).collect();
        let grad = xtv(&cols, &resid);
        let info = xtwx(&cols, Some(&w));
        let Some(l) = cholesky(&info) else {
            // Information collapsing while the likelihood improves is separation; at the start
            // (beta = 0, all weights 1/4) it is plain collinearity.
            return Err(if it == 1 {
                StatsError::Singular {
                    model: "the propensity model".into(),
                }
            } else {
                separation(y, &p)
            });
        };
        let step = chol_solve(&l, &grad);
        // Step halving keeps Newton monotone in the likelihood.
        let mut t = 1.0;
        let mut new_beta;
        let mut new_eta;
        let mut new_ll;
        loop {
            new_beta = beta
                .iter()
                .zip(&step)
                .map(|(b, s)| b + t * s)
                .collect::<Vec<_>>();
            new_eta = eta_of(&new_beta);
            new_ll = log_lik(y, &new_eta);
            if new_ll >= ll - 1e-12 * ll.abs() || t < 1e-6 {
                break;
            }
            t *= 0.5;
        }
        let change = (new_ll - ll).abs();
        beta = new_beta;
        eta = new_eta;
        let small_step = step.iter().map(|s| (t * s).abs()).fold(0.0, f64::max) < 1e-10;
        ll = new_ll;
        if change < 1e-12 * (ll.abs() + 1e-10) && small_step {
            converged = true;
            break;
        }
    }
    let p: Vec<f64> = eta.iter().map(|e| sigmoid(*e)).collect();
    if p.iter().any(|p| *p < 1e-10 || *p > 1.0 - 1e-10) || ll > -1e-8 {
        return Err(separation(y, &p));
    }
    if !converged {
        return Err(StatsError::NoConvergence {
            model: "the propensity model".into(),
            iterations,
            hint: "rescale covariates or drop near-collinear ones".into(),
        });
    }
    let w: Vec<f64> = p.iter().map(|p| p * (1.0 - p)).collect();
    let info = xtwx(&cols, Some(&w));
    let l = cholesky(&info).ok_or_else(|| separation(y, &p))?;
    let inv = chol_inverse(&l);
    Ok(LogitFit {
        names,
        std_errors: (0..k).map(|j| inv.get(j, j).sqrt()).collect(),
        params: beta,
        linear_predictor: eta,
        log_likelihood: ll,
        iterations,
    })
}

fn separation(y: &[f64], p: &[f64]) -> StatsError {
    let perfect = y
        .iter()
        .zip(p)
        .filter(|(y, p)| (*y - *p).abs() < 1e-8)
        .count();
    StatsError::PerfectSeparation {
        detail: format!(
            "{perfect} of {} units are predicted with probability 0 or 1",
            y.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_data_is_an_error_not_huge_coefficients() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        assert!(matches!(
            fit_logit(&y, &[("x", &x)]),
            Err(StatsError::PerfectSeparation { .. })
        ));
    }

    #[test]
    fn overlapping_data_fits() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 2.5, 4.5];
        let y = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let fit = fit_logit(&y, &[("x", &x)]).expect("fits");
        assert!(fit.params[1] > 0.0);
    }
}
