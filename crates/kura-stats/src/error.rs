//! The one error type of `kura-stats`.
//!
//! Every variant is a failure the caller can act on: it names what failed, where (which input,
//! group or column), and carries a hint on how to fix it, so the CLI can print
//! `error: …` / `hint: …` without re-deriving context.

use thiserror::Error;

/// Why an estimator, the power calculation or the method chooser could not give a result.
///
/// Estimators never return NaN as a result: a degenerate input becomes one of these variants.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StatsError {
    /// A group (or side of a cutoff, or the pre-period) has too few units for the estimate.
    #[error("{what} has {got} usable units, at least {need} are needed\nhint: {hint}")]
    TooFewUnits {
        what: String,
        got: usize,
        need: usize,
        hint: String,
    },
    /// A variable has no spread, so a standard error or a standardisation would divide by zero.
    #[error("{what} has zero variance\nhint: {hint}")]
    ZeroVariance { what: String, hint: String },
    /// Missing values (null or NaN) were found and the caller did not allow dropping them.
    #[error("{column} has {count} missing values (null or NaN)\nhint: clean them in SQL or pass the explicit option to drop incomplete rows")]
    MissingValues { column: String, count: usize },
    /// An argument is outside its valid range (alpha not in (0,1), negative MDE, ...).
    #[error("invalid {name}: {message}\nhint: {hint}")]
    InvalidArgument {
        name: String,
        message: String,
        hint: String,
    },
    /// Input columns do not line up (different lengths, unknown column, wrong type).
    #[error("{what}\nhint: {hint}")]
    BadInput { what: String, hint: String },
    /// The design matrix is singular: a covariate is constant or a linear combination of others.
    #[error("the design matrix of {model} is singular (collinear or constant columns)\nhint: drop redundant covariates")]
    Singular { model: String },
    /// A covariate (or combination) perfectly predicts treatment: the logistic MLE does not exist.
    #[error("perfect separation in the propensity model: {detail}\nhint: drop or coarsen the covariate that predicts treatment exactly; treated and control units are not comparable on it")]
    PerfectSeparation { detail: String },
    /// An iterative fit did not converge.
    #[error("{model} did not converge after {iterations} iterations\nhint: {hint}")]
    NoConvergence {
        model: String,
        iterations: usize,
        hint: String,
    },
    /// Matching produced no matched treated unit.
    #[error("no treated unit found a control within the caliper of {caliper} (logit units)\nhint: widen the caliper or check overlap of the propensity scores")]
    NoMatches { caliper: f64 },
    /// None of the methods in the decision table fits the answers given.
    #[error("no method fits this design: {reason}\nhint: {hint}")]
    NoMethodFits { reason: String, hint: String },
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, StatsError>;
