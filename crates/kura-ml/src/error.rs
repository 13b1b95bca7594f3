//! The one error type of `kura-ml`.
//!
//! Every variant is a failure the caller can act on: it names what failed, where (model file and
//! line, column, feature) and ends with a `hint:` on how to fix it, so the CLI prints it as is.

use thiserror::Error;

/// Why a model could not be read, applied, explained or trained.
#[derive(Debug, Error)]
pub enum MlError {
    /// The LightGBM text model is malformed or truncated; `line` is 1-based.
    #[error("{source_name}:{line}: {message}\nhint: the file is not a complete LightGBM text model; re-export it with `booster.save_model(path)` (LightGBM 3 or 4)")]
    ModelSyntax {
        source_name: String,
        line: usize,
        message: String,
    },
    /// The model uses a LightGBM feature this crate does not implement.
    #[error("{source_name}: unsupported model: {what}\nhint: {hint}")]
    UnsupportedModel {
        source_name: String,
        what: String,
        hint: String,
    },
    /// The model file could not be read or written.
    #[error("cannot {action} {path}\nhint: check that the path exists and is readable/writable")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Feature columns the model needs are absent from the input table.
    #[error("input is missing feature columns the model was trained on: {missing}\nhint: select these columns (same names and types) in the table passed to predict/explain")]
    MissingFeatures { missing: String },
    /// Feature columns exist but have a type the model cannot read as it was trained.
    #[error("feature columns have a different type than at training: {retyped}\nhint: cast them back to the expected types in SQL")]
    RetypedFeatures { retyped: String },
    /// A categorical column holds values never seen in training and the policy says to fail.
    #[error("feature `{feature}` has {count} values never seen in training, e.g. {examples}\nhint: map them to known categories, or use the as-missing policy (LightGBM then sends them down the missing-value branch)")]
    UnseenCategories {
        feature: String,
        count: usize,
        examples: String,
    },
    /// The input matrix does not have the shape the model expects.
    #[error("{what}\nhint: {hint}")]
    Shape { what: String, hint: String },
    /// The target column cannot be trained on (one class, all null, wrong type).
    #[error("target `{target}`: {problem}\nhint: {hint}")]
    BadTarget {
        target: String,
        problem: String,
        hint: String,
    },
    /// No usable feature remains (all dropped as null or constant, or none given).
    #[error("no usable features: {detail}\nhint: pass --features with columns that vary in the training table")]
    NoFeatures { detail: String },
    /// A training argument is out of range.
    #[error("invalid {name}: {message}\nhint: {hint}")]
    InvalidArgument {
        name: String,
        message: String,
        hint: String,
    },
    /// LightGBM itself reported an error during training.
    #[error("LightGBM failed while {during}: {message}\nhint: check the parameters; the message above is LightGBM's own")]
    LightGbm { during: String, message: String },
    /// Building an Arrow output table failed (an invariant of this crate, reported not panicked).
    #[error("building the {table} table failed: {source}\nhint: this is a bug in kura-ml, please report it")]
    Arrow {
        table: String,
        #[source]
        source: arrow::error::ArrowError,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, MlError>;
