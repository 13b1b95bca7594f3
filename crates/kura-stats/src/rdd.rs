//! Regression discontinuity (placeholder until the rdrobust port lands).
