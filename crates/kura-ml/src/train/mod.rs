//! Training a LightGBM model on a table.
//!
//! The steps, in order: read the target and decide the task ([`target`]); choose and encode the
//! features, dropping all-null and constant ones with a note ([`select_features`]); split off a
//! validation set, stratified by class for classification ([`split`]); train with early stopping
//! on that set ([`lightgbm`]); then score the validation rows with kura's own predictor, so the
//! metrics describe exactly the model that predict and explain will apply.

mod lightgbm;
mod select;
mod split;
mod target;

use std::borrow::Cow;

use arrow::record_batch::RecordBatch;
use serde_json::json;

use crate::error::{MlError, Result};
use crate::features::{FeatureSchema, UnseenCategories};
use crate::fingerprint::fingerprint;
use crate::matrix::DenseMatrix;
use crate::metrics::{self, Metrics};
use crate::model::LgbmModel;

pub use select::select_features;
pub use target::{Target, Task};

/// What to train and how. [`TrainOptions::default`] gives LightGBM's own defaults for the
/// tree parameters, with early stopping on a 20 % validation split.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The task; [`Task::Auto`] decides from the target column.
    pub task: Task,
    /// Feature columns; `None` means every column except the target and `exclude`.
    pub features: Option<Vec<String>>,
    /// Columns never used as features (keys, timestamps of the label, ...).
    pub exclude: Vec<String>,
    /// Share of rows held out for validation and early stopping, in `[0, 0.5]`; 0 trains on
    /// everything for exactly `num_iterations` and reports metrics on the training rows.
    pub valid_fraction: f64,
    /// Seed of the split and of LightGBM.
    pub seed: u64,
    /// Upper bound of boosting iterations.
    pub num_iterations: u32,
    /// Stop when the validation loss has not improved for this many iterations.
    pub early_stopping_rounds: u32,
    pub learning_rate: f64,
    pub num_leaves: u32,
    pub min_data_in_leaf: u32,
    /// Threads for LightGBM; 0 lets it choose (all cores).
    pub num_threads: u32,
    /// A text column with more distinct values than this is not used as a category (it is
    /// dropped with a note: most likely an identifier).
    pub max_categories: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            task: Task::Auto,
            features: None,
            exclude: Vec::new(),
            valid_fraction: 0.2,
            seed: 42,
            num_iterations: 1000,
            early_stopping_rounds: 50,
            learning_rate: 0.1,
            num_leaves: 31,
            min_data_in_leaf: 20,
            num_threads: 0,
            max_categories: 1000,
        }
    }
}

/// A trained model with everything its card records.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    pub model: LgbmModel,
    /// The model in LightGBM's text format, as LightGBM wrote it.
    pub text: String,
    /// The task trained (never [`Task::Auto`]).
    pub task: Task,
    pub features: FeatureSchema,
    pub class_labels: Option<Vec<String>>,
    pub metrics: Metrics,
    /// `validation`, or `training` when nothing was held out.
    pub metrics_on: &'static str,
    /// Iterations kept (the best one under early stopping).
    pub iterations: usize,
    pub rows_train: usize,
    pub rows_valid: usize,
    pub fingerprint: String,
    pub params: serde_json::Value,
    pub notes: Vec<String>,
}

fn check_options(opts: &TrainOptions) -> Result<()> {
    let invalid = |name: &str, message: String, hint: &str| MlError::InvalidArgument {
        name: name.into(),
        message,
        hint: hint.into(),
    };
    if !(0.0..=0.5).contains(&opts.valid_fraction) {
        return Err(invalid(
            "validation fraction",
            format!("{} is outside [0, 0.5]", opts.valid_fraction),
            "use e.g. 0.2 (20 % of rows held out), or 0 to train on every row",
        ));
    }
    if opts.num_iterations == 0 {
        return Err(invalid("num_iterations", "0".into(), "use at least 1"));
    }
    if !(opts.learning_rate > 0.0 && opts.learning_rate.is_finite()) {
        return Err(invalid(
            "learning_rate",
            opts.learning_rate.to_string(),
            "use a positive number such as 0.1 or 0.05",
        ));
    }
    if opts.num_leaves < 2 {
        return Err(invalid(
            "num_leaves",
            opts.num_leaves.to_string(),
            "use at least 2 (LightGBM's default is 31)",
        ));
    }
    Ok(())
}

/// Trains a model predicting `target` from the other columns of `batches`.
///
/// # Errors
/// [`MlError::BadTarget`] for a missing, all-null or single-class target, or one that does not
/// fit the task; [`MlError::NoFeatures`] when nothing usable remains;
/// [`MlError::MissingFeatures`] for requested features the table lacks;
/// [`MlError::InvalidArgument`] for out-of-range options; [`MlError::LightGbm`] when LightGBM
/// refuses.
pub fn train(batches: &[RecordBatch], target: &str, opts: &TrainOptions) -> Result<TrainedModel> {
    check_options(opts)?;
    let mut notes = Vec::new();
    let target = Target::read(batches, target, opts.task, &mut notes)?;
    let schema = select_features(batches, &target, opts, &mut notes)?;
    let encoded = schema.encode(batches, UnseenCategories::Error)?;
    let matrix = rows_of(encoded.matrix, &target.rows);
    let labels = &target.labels;

    let (train_rows, valid_rows) =
        split::split(labels, target.num_classes(), opts.valid_fraction, opts.seed);
    if train_rows.len() < 2 {
        return Err(MlError::BadTarget {
            target: target.name.clone(),
            problem: format!("only {} usable rows", labels.len()),
            hint: "train on a table with more rows that have a target value".into(),
        });
    }
    // Without a validation split the training rows are all rows in order: no copy.
    let x_train = if is_identity(&train_rows, matrix.rows()) {
        Cow::Borrowed(&matrix)
    } else {
        Cow::Owned(keep_rows(&matrix, &train_rows))
    };
    let y_train: Vec<f64> = train_rows.iter().map(|&i| labels[i]).collect();
    let x_valid = keep_rows(&matrix, &valid_rows);
    let y_valid: Vec<f64> = valid_rows.iter().map(|&i| labels[i]).collect();

    let params = lightgbm_params(&target, &schema, opts);
    let names = schema.names();
    let fitted = lightgbm::fit(
        &names,
        (x_train.as_ref(), &y_train),
        (!valid_rows.is_empty()).then_some((&x_valid, &y_valid)),
        &params,
        &categorical_indices(&schema),
        opts,
    )?;
    let model = LgbmModel::from_text(&fitted.text, "trained model")?;
    if let Some(stopped) = fitted.stopped_early {
        notes.push(format!(
            "early stopping kept iteration {} of {stopped} (no validation improvement for {} rounds)",
            fitted.best_iteration, opts.early_stopping_rounds
        ));
    }

    let (metrics_on, x_eval, y_eval) = if valid_rows.is_empty() {
        ("training", x_train.as_ref(), &y_train)
    } else {
        ("validation", &x_valid, &y_valid)
    };
    let predicted = match &fitted.training_predictions {
        Some(p) if valid_rows.is_empty() => {
            DenseMatrix::new(x_train.rows(), model.num_outputs(), p.clone())?
        }
        _ => model.predict(x_eval)?,
    };
    let metrics = evaluate(target.task, y_eval, &predicted);

    Ok(TrainedModel {
        fingerprint: fingerprint(&names, &matrix, labels),
        model,
        text: fitted.text,
        task: target.task,
        features: schema,
        class_labels: target.class_labels.clone(),
        metrics,
        metrics_on,
        iterations: fitted.best_iteration,
        rows_train: train_rows.len(),
        rows_valid: valid_rows.len(),
        params,
        notes,
    })
}

/// Whether `rows` is `0..n`, all rows in order.
fn is_identity(rows: &[usize], n: usize) -> bool {
    rows.len() == n && rows.iter().enumerate().all(|(i, &r)| i == r)
}

/// The rows of `x` at `rows`, in that order; `x` itself when that is all of it.
fn rows_of(x: DenseMatrix, rows: &[usize]) -> DenseMatrix {
    if is_identity(rows, x.rows()) {
        x
    } else {
        keep_rows(&x, rows)
    }
}

/// The rows of `x` at `rows`, in that order.
fn keep_rows(x: &DenseMatrix, rows: &[usize]) -> DenseMatrix {
    let mut data = Vec::with_capacity(rows.len() * x.cols());
    for &i in rows {
        data.extend_from_slice(x.row(i));
    }
    // The shape is right by construction: every row has `x.cols()` values.
    DenseMatrix::new(rows.len(), x.cols(), data).unwrap_or_else(|_| x.clone())
}

fn categorical_indices(schema: &FeatureSchema) -> Vec<usize> {
    schema
        .features
        .iter()
        .enumerate()
        .filter(|(_, f)| !matches!(f.kind, crate::features::FeatureKind::Numeric))
        .map(|(j, _)| j)
        .collect()
}

fn lightgbm_params(
    target: &Target,
    schema: &FeatureSchema,
    opts: &TrainOptions,
) -> serde_json::Value {
    let mut p = json!({
        "learning_rate": opts.learning_rate,
        "num_leaves": opts.num_leaves,
        "min_data_in_leaf": opts.min_data_in_leaf,
        "num_iterations": opts.num_iterations,
        "seed": opts.seed,
        "deterministic": true,
        "verbose": -1,
    });
    match target.task {
        Task::Binary => {
            p["objective"] = json!("binary");
            p["metric"] = json!("binary_logloss");
        }
        Task::Multiclass => {
            p["objective"] = json!("multiclass");
            p["num_class"] = json!(target.num_classes());
            p["metric"] = json!("multi_logloss");
        }
        Task::Regression | Task::Auto => {
            p["objective"] = json!("regression");
            p["metric"] = json!("l2");
        }
    }
    if opts.valid_fraction > 0.0 {
        p["early_stopping_rounds"] = json!(opts.early_stopping_rounds);
    }
    if opts.num_threads > 0 {
        p["num_threads"] = json!(opts.num_threads);
    }
    let categorical = categorical_indices(schema);
    if !categorical.is_empty() {
        p["categorical_feature"] = json!(categorical
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","));
    }
    p
}

fn evaluate(task: Task, y: &[f64], predicted: &DenseMatrix) -> Metrics {
    match task {
        Task::Binary => metrics::binary(y, &predicted.column(0)),
        Task::Multiclass => {
            let classes: Vec<usize> = y.iter().map(|&v| v as usize).collect();
            let probabilities: Vec<Vec<f64>> = (0..predicted.rows())
                .map(|i| predicted.row(i).to_vec())
                .collect();
            metrics::multiclass(&classes, &probabilities)
        }
        Task::Regression | Task::Auto => metrics::regression(y, &predicted.column(0)),
    }
}
