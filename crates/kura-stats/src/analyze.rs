//! One entry point from query results to a report: what `kura experiment analyze` calls.
//!
//! The CLI runs the registered SQL, gets record batches, and hands them here with an
//! [`AnalysisSpec`] naming the columns. This module reads the columns through [`crate::data`]
//! (so missing values are refused or dropped-and-counted in one place), dispatches to the
//! estimator of the registered method, and returns an [`AnalysisReport`] that serialises to the
//! `--format json` output.

use crate::ab::{
    chi_square, cuped, student_t_test, two_proportion_z_test, welch_t_test, ChiSquareResult,
    CupedResult,
};
use crate::causal_impact::{causal_impact, CausalImpactOptions, CausalImpactResult};
use crate::chooser::Method;
use crate::data::{complete_columns, split_by_treatment, MissingPolicy, MissingReport};
use crate::ols::{fit_ols, CovType, OlsFit};
use crate::psm::{propensity_score_matching, PsmOptions, PsmResult};
use crate::rdd::{regression_discontinuity, RdOptions, RdResult};
use crate::result::Estimate;
use crate::{Result, StatsError};
use arrow::record_batch::RecordBatch;
use serde::Serialize;

/// What to analyse and with which columns. Group columns hold 1 for treatment, 0 for control.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnalysisSpec {
    /// Continuous metric: Welch (default) or Student t-test; CUPED when `pre_metric` is given.
    AbContinuous {
        metric: String,
        group: String,
        pre_metric: Option<String>,
        equal_var: bool,
    },
    /// Conversion (0/1) metric: two-proportion z-test plus chi-square (with and without Yates).
    AbConversion { converted: String, group: String },
    /// OLS of outcome on treatment and covariates; `cov_type` picks the headline SE.
    Regression {
        outcome: String,
        treatment: String,
        covariates: Vec<String>,
        cov_type: CovType,
    },
    PropensityScoreMatching {
        outcome: String,
        treatment: String,
        covariates: Vec<String>,
        options: PsmOptions,
    },
    /// Rows must be in time order; `post_start` is the row index of the first post-period point.
    CausalImpact {
        response: String,
        covariates: Vec<String>,
        post_start: usize,
        options: CausalImpactOptions,
    },
    RegressionDiscontinuity {
        outcome: String,
        running: String,
        options: RdOptions,
    },
}

impl AnalysisSpec {
    /// The chooser's method this spec implements.
    pub fn method(&self) -> Method {
        match self {
            AnalysisSpec::AbContinuous { .. } | AnalysisSpec::AbConversion { .. } => Method::AbTest,
            AnalysisSpec::Regression { .. } => Method::Regression,
            AnalysisSpec::PropensityScoreMatching { .. } => Method::PropensityScoreMatching,
            AnalysisSpec::CausalImpact { .. } => Method::CausalImpact,
            AnalysisSpec::RegressionDiscontinuity { .. } => Method::RegressionDiscontinuity,
        }
    }
}

/// The estimator output, by method.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnalysisResult {
    AbContinuous {
        estimate: Estimate,
        cuped: Option<CupedResult>,
    },
    AbConversion {
        estimate: Estimate,
        chi_square: ChiSquareResult,
        chi_square_yates: ChiSquareResult,
    },
    Regression {
        estimate: Estimate,
        fit: OlsFit,
    },
    PropensityScoreMatching(PsmResult),
    CausalImpact(CausalImpactResult),
    RegressionDiscontinuity(RdResult),
}

/// The report: method, rows used, the result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisReport {
    pub method: Method,
    pub missing: MissingReport,
    pub result: AnalysisResult,
}

fn names(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Reads the spec's columns from `batches` and runs its estimator at level `1 - alpha`.
///
/// # Errors
/// The column errors of [`crate::data`] (absent, non-numeric, missing values under
/// [`MissingPolicy::Error`]) and the estimator's own errors.
pub fn analyze(
    batches: &[RecordBatch],
    spec: &AnalysisSpec,
    alpha: f64,
    missing: MissingPolicy,
) -> Result<AnalysisReport> {
    let read = |names: Vec<&str>| complete_columns(batches, &names, missing);
    let (result, report) = match spec {
        AnalysisSpec::AbContinuous {
            metric,
            group,
            pre_metric,
            equal_var,
        } => {
            let mut cols = vec![metric.as_str(), group.as_str()];
            if let Some(p) = pre_metric {
                cols.push(p);
            }
            let (c, rep) = read(cols)?;
            let (yt, yc) = split_by_treatment(&c[0], &c[1])?;
            let estimate = if *equal_var {
                student_t_test(&yt, &yc, alpha)?
            } else {
                welch_t_test(&yt, &yc, alpha)?
            };
            let cuped = match pre_metric {
                Some(_) => {
                    let (xt, xc) = split_by_treatment(&c[2], &c[1])?;
                    Some(cuped(&yt, &xt, &yc, &xc, alpha)?)
                }
                None => None,
            };
            (AnalysisResult::AbContinuous { estimate, cuped }, rep)
        }
        AnalysisSpec::AbConversion { converted, group } => {
            let (c, rep) = read(vec![converted, group])?;
            if let Some(v) = c[0].iter().find(|v| **v != 0.0 && **v != 1.0) {
                return Err(StatsError::BadInput {
                    what: format!("conversion column `{converted}` has the value {v}"),
                    hint: "encode conversion as 1 (converted) or 0 (not)".into(),
                });
            }
            let (yt, yc) = split_by_treatment(&c[0], &c[1])?;
            let count = |v: &[f64]| v.iter().filter(|x| **x == 1.0).count() as u64;
            let (xt, nt, xc, nc) = (count(&yt), yt.len() as u64, count(&yc), yc.len() as u64);
            let table = vec![
                vec![xt as f64, (nt - xt) as f64],
                vec![xc as f64, (nc - xc) as f64],
            ];
            (
                AnalysisResult::AbConversion {
                    estimate: two_proportion_z_test(xt, nt, xc, nc, alpha)?,
                    chi_square: chi_square(&table, false)?,
                    chi_square_yates: chi_square(&table, true)?,
                },
                rep,
            )
        }
        AnalysisSpec::Regression {
            outcome,
            treatment,
            covariates,
            cov_type,
        } => {
            let mut cols = vec![outcome.as_str(), treatment.as_str()];
            cols.extend(names(covariates));
            let (c, rep) = read(cols)?;
            let mut regs: Vec<(&str, &[f64])> = vec![(treatment.as_str(), &c[1])];
            for (n, col) in covariates.iter().zip(&c[2..]) {
                regs.push((n.as_str(), col));
            }
            let fit = fit_ols(&c[0], &regs, alpha)?;
            let estimate = fit
                .estimate(treatment, *cov_type)
                .expect("the treatment is the first regressor of the fit");
            (AnalysisResult::Regression { estimate, fit }, rep)
        }
        AnalysisSpec::PropensityScoreMatching {
            outcome,
            treatment,
            covariates,
            options,
        } => {
            let mut cols = vec![outcome.as_str(), treatment.as_str()];
            cols.extend(names(covariates));
            let (c, rep) = read(cols)?;
            let covs: Vec<(&str, &[f64])> = covariates
                .iter()
                .zip(&c[2..])
                .map(|(n, col)| (n.as_str(), col.as_slice()))
                .collect();
            let opts = PsmOptions { alpha, ..*options };
            (
                AnalysisResult::PropensityScoreMatching(propensity_score_matching(
                    &c[1], &c[0], &covs, &opts,
                )?),
                rep,
            )
        }
        AnalysisSpec::CausalImpact {
            response,
            covariates,
            post_start,
            options,
        } => {
            // Dropping rows would shift the time axis, so gaps are always an error here.
            let mut cols = vec![response.as_str()];
            cols.extend(names(covariates));
            let (c, rep) = complete_columns(batches, &cols, MissingPolicy::Error)?;
            let covs: Vec<(&str, &[f64])> = covariates
                .iter()
                .zip(&c[1..])
                .map(|(n, col)| (n.as_str(), col.as_slice()))
                .collect();
            let opts = CausalImpactOptions { alpha, ..*options };
            (
                AnalysisResult::CausalImpact(causal_impact(&c[0], &covs, *post_start, &opts)?),
                rep,
            )
        }
        AnalysisSpec::RegressionDiscontinuity {
            outcome,
            running,
            options,
        } => {
            let (c, rep) = read(vec![outcome, running])?;
            let opts = RdOptions { alpha, ..*options };
            (
                AnalysisResult::RegressionDiscontinuity(regression_discontinuity(
                    &c[0], &c[1], &opts,
                )?),
                rep,
            )
        }
    };
    Ok(AnalysisReport {
        method: spec.method(),
        missing: report,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn ab_from_record_batches_counts_dropped_rows() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("revenue", DataType::Float64, true),
            Field::new("grp", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![
                    Some(1.0),
                    Some(2.0),
                    None,
                    Some(4.0),
                    Some(3.0),
                    Some(5.5),
                ])),
                Arc::new(Int64Array::from(vec![1, 1, 1, 0, 0, 0])),
            ],
        )
        .expect("batch");
        let spec = AnalysisSpec::AbContinuous {
            metric: "revenue".into(),
            group: "grp".into(),
            pre_metric: None,
            equal_var: false,
        };
        let refused = analyze(
            std::slice::from_ref(&batch),
            &spec,
            0.05,
            MissingPolicy::Error,
        );
        assert!(matches!(
            refused,
            Err(StatsError::MissingValues { count: 1, .. })
        ));
        let report = analyze(&[batch], &spec, 0.05, MissingPolicy::Drop).expect("runs");
        assert_eq!(report.missing.rows_dropped, 1);
        assert_eq!(report.method, Method::AbTest);
        let AnalysisResult::AbContinuous { estimate, .. } = report.result else {
            panic!("wrong result kind");
        };
        assert!((estimate.effect - (1.5 - 12.5 / 3.0)).abs() < 1e-12);
        let json = serde_json::to_string(&estimate).expect("serialises");
        assert!(json.contains("\"p_value\""));
    }
}
