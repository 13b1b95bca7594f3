//! kura-ml: LightGBM models on warehouse tables, explained with exact TreeSHAP as tables.
//!
//! How the parts fit: [`model`] reads and writes LightGBM's text format (models trained here or
//! imported from Python alike), [`predict`] applies a model to a [`DenseMatrix`] exactly as
//! LightGBM does, and [`shap`] computes path-dependent TreeSHAP over the same trees.
//! [`features`] is the Arrow boundary: it turns record batches into the matrix, checking
//! columns and types against the [`FeatureSchema`] the model was trained with; [`tables`] turns
//! predictions and SHAP values back into record batches (long, wide, importance).
//! [`metrics`] and [`fingerprint`] describe a training run and need no native code. `train`
//! (behind the `train` cargo feature, because it builds LightGBM from source) fits models
//! through LightGBM's C API; [`registry`] keeps a project's models and their cards on disk.
//!
//! Correctness is pinned by fixtures made with Python LightGBM and shap
//! (`fixtures/make_fixtures.py`): predictions, `pred_contrib` and shap's values to 1e-9.

pub mod error;
pub mod features;
pub mod fingerprint;
pub mod matrix;
pub mod metrics;
pub mod model;
mod parallel;
pub mod plot;
pub mod predict;
pub mod registry;
pub mod shap;
pub mod tables;
#[cfg(feature = "train")]
pub mod train;

pub use error::{MlError, Result};
pub use features::{EncodedFeatures, FeatureKind, FeatureSchema, FeatureSpec, UnseenCategories};
pub use matrix::DenseMatrix;
pub use model::{FeatureInfo, LgbmModel, MissingType, Objective, Tree};
pub use registry::{check_model_name, ModelCard, ModelOrigin, ModelRegistry};
pub use shap::ShapValues;
pub use tables::{prediction_table, row_number_key, shap_tables, ShapTables, EXPECTED_VALUE_KEY};
