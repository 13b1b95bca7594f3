//! A/B test estimators: t-tests, two proportions, chi-square and CUPED.
//!
//! Each matches scipy/statsmodels to 1e-6 relative (see `fixtures/make_fixtures.py`). The effect
//! is always treatment minus control; the first argument is the treatment group.

pub mod chisq;
pub mod cuped;
pub mod proportions;
pub mod ttest;

pub use chisq::{chi_square, ChiSquareResult};
pub use cuped::{cuped, CupedResult};
pub use proportions::two_proportion_z_test;
pub use ttest::{student_t_test, welch_t_test};
