//! kura-stats: effect verification for kura, from the choice of method to estimates that match
//! the reference libraries.
//!
//! How the parts fit: [`chooser`] turns the answers about how targets were chosen into a
//! [`Method`]; for an A/B test, [`power`] sizes it. After the test, the estimator of that method
//! runs: [`ab`] (t-tests, proportions, chi-square, CUPED), [`ols`] (regression with robust SEs),
//! [`psm`] (propensity score matching on a [`logit`] model), [`causal_impact`] (Bayesian
//! structural time series), [`rdd`] (regression discontinuity). [`analyze`](mod@analyze) is the one entry
//! point from record batches to a serialisable report; [`text`] renders it for a terminal and
//! [`plot`] draws the SVG figures.
//! [`data`] is the Arrow boundary: it reads record batches into plain `f64` columns and counts
//! missing values; everything else works on slices, so the math is testable without Arrow.
//!
//! Every estimator returns a typed [`StatsError`] for degenerate input instead of NaN, and is
//! checked against scipy / statsmodels / rdrobust / a MatchIt-algorithm reference / R
//! CausalImpact on fixtures made by `fixtures/make_fixtures.py` (see `README.md`).

pub mod ab;
pub mod analyze;
pub mod causal_impact;
pub mod chooser;
pub mod data;
pub mod dist;
pub mod error;
mod linalg;
pub mod logit;
pub mod ols;
pub mod plot;
pub mod power;
pub mod psm;
pub mod rdd;
pub mod result;
mod summary;
pub mod text;

pub use analyze::{analyze, AnalysisReport, AnalysisResult, AnalysisSpec};
pub use chooser::{
    choose_method, next_question, Assignment, DesignAnswers, Method, MethodChoice, Question,
};
pub use data::MissingPolicy;
pub use error::{Result, StatsError};
pub use power::{sample_size, MetricKind, SampleSizePlan, SampleSizeRequest};
pub use result::{Estimate, Interval, Reference};
