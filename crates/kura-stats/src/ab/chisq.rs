//! Pearson's chi-square test of independence on a contingency table.
//!
//! Matches scipy `chi2_contingency(table, correction=…)`: Yates' continuity correction is applied
//! only when asked and only when the table has one degree of freedom (a 2×2 table), moving each
//! observed count half a unit toward its expected count but never past it.

use crate::dist::chi2_sf;
use crate::{Result, StatsError};
use serde::Serialize;

/// Result of the chi-square test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquareResult {
    pub statistic: f64,
    pub p_value: f64,
    pub dof: usize,
    /// Expected counts under independence, same shape as the input.
    pub expected: Vec<Vec<f64>>,
    /// Whether Yates' correction was actually applied.
    pub yates_applied: bool,
    pub warnings: Vec<String>,
}

/// Runs the chi-square test on `table` (rows × columns of non-negative counts).
///
/// # Errors
/// [`StatsError::BadInput`] for a ragged table, fewer than 2 rows or columns, or negative or
/// non-finite counts; [`StatsError::ZeroVariance`] when a row or column sums to zero.
pub fn chi_square(table: &[Vec<f64>], yates: bool) -> Result<ChiSquareResult> {
    let r = table.len();
    let c = table.first().map_or(0, Vec::len);
    if r < 2 || c < 2 || table.iter().any(|row| row.len() != c) {
        return Err(StatsError::BadInput {
            what: format!("contingency table must be rectangular and at least 2×2, got {r} rows"),
            hint: "give one row per group and one column per outcome".into(),
        });
    }
    if table.iter().flatten().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(StatsError::BadInput {
            what: "contingency table has a negative or non-finite count".into(),
            hint: "counts must be non-negative numbers".into(),
        });
    }
    let row_sums: Vec<f64> = table.iter().map(|row| row.iter().sum()).collect();
    let col_sums: Vec<f64> = (0..c)
        .map(|j| table.iter().map(|row| row[j]).sum())
        .collect();
    let total: f64 = row_sums.iter().sum();
    if row_sums.iter().chain(&col_sums).any(|&s| s == 0.0) {
        return Err(StatsError::ZeroVariance {
            what: "a row or column of the contingency table (it sums to zero)".into(),
            hint: "drop empty groups or outcomes".into(),
        });
    }
    let expected: Vec<Vec<f64>> = row_sums
        .iter()
        .map(|rs| col_sums.iter().map(|cs| rs * cs / total).collect())
        .collect();
    let dof = (r - 1) * (c - 1);
    let yates_applied = yates && dof == 1;
    let mut stat = 0.0;
    for (orow, erow) in table.iter().zip(&expected) {
        for (&o, &e) in orow.iter().zip(erow) {
            let mut d = o - e;
            if yates_applied {
                d = d.signum() * (d.abs() - 0.5).max(0.0);
            }
            stat += d * d / e;
        }
    }
    let mut warnings = Vec::new();
    if expected.iter().flatten().any(|&e| e < 5.0) {
        warnings.push("an expected count is below 5: the chi-square approximation is poor".into());
    }
    Ok(ChiSquareResult {
        statistic: stat,
        p_value: chi2_sf(stat, dof as f64),
        dof,
        expected,
        yates_applied,
        warnings,
    })
}
