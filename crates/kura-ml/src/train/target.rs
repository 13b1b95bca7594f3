//! The target column: which task it calls for, and its values as LightGBM labels.

use std::collections::BTreeSet;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use arrow::record_batch::RecordBatch;

use crate::error::{MlError, Result};

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Decide from the target: text or boolean targets are classification (binary with two
    /// classes), an integer target with exactly two values is binary, anything else numeric is
    /// regression.
    Auto,
    Binary,
    Multiclass,
    Regression,
}

impl Task {
    /// The task's name as the CLI and the model card spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Auto => "auto",
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }

    /// Parses `auto`, `binary`, `multiclass` or `regression`.
    pub fn parse(s: &str) -> Option<Task> {
        Some(match s {
            "auto" => Task::Auto,
            "binary" => Task::Binary,
            "multiclass" => Task::Multiclass,
            "regression" => Task::Regression,
            _ => return None,
        })
    }
}

/// Multiclass models with more classes than this are refused: such a target is usually an
/// identifier or a continuous value read as text.
const MAX_CLASSES: usize = 100;

/// The target, read and labelled.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// The resolved task (never [`Task::Auto`]).
    pub task: Task,
    /// Indices (into all input rows) of the rows with a target value; only these train.
    pub rows: Vec<usize>,
    /// One label per kept row: the value for regression, the class index otherwise.
    pub labels: Vec<f64>,
    /// Class labels in index order (classification).
    pub class_labels: Option<Vec<String>>,
}

impl Target {
    /// Number of classes (1 for regression).
    pub fn num_classes(&self) -> usize {
        self.class_labels.as_ref().map_or(1, Vec::len)
    }

    /// Reads column `name` of `batches` and resolves `task`.
    ///
    /// # Errors
    /// [`MlError::BadTarget`] when the column is missing, only null, has a single value, or
    /// does not fit the requested task.
    pub fn read(
        batches: &[RecordBatch],
        name: &str,
        task: Task,
        notes: &mut Vec<String>,
    ) -> Result<Target> {
        let bad = |problem: String, hint: &str| MlError::BadTarget {
            target: name.to_string(),
            problem,
            hint: hint.to_string(),
        };
        let Some(first) = batches.first() else {
            return Err(bad(
                "the table has no rows".into(),
                "train on a table (or query) that returns rows",
            ));
        };
        let schema = first.schema();
        let field = schema.field_with_name(name).map_err(|_| {
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            bad(
                "no such column".into(),
                &format!("the table's columns are: {}", columns.join(", ")),
            )
        })?;
        let dt = field.data_type().clone();
        let numeric = dt.is_numeric();
        let textual = matches!(
            dt,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean
        ) || matches!(&dt, DataType::Dictionary(_, v) if matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8));
        if !numeric && !textual {
            return Err(bad(
                format!("type {dt} cannot be a target"),
                "use a numeric column (regression), or a text, boolean or integer column (classification)",
            ));
        }

        // Values as numbers (numeric targets) and as text (class labels), null kept as None.
        let mut values: Vec<Option<f64>> = Vec::new();
        let mut texts: Vec<Option<String>> = Vec::new();
        for batch in batches {
            let col = batch
                .column_by_name(name)
                .ok_or_else(|| bad("no such column".into(), "check the target's name"))?;
            if numeric {
                let f = cast(col, &DataType::Float64)
                    .map_err(|e| bad(e.to_string(), "cast it to FLOAT64"))?;
                let f = f.as_primitive::<Float64Type>();
                values.extend((0..f.len()).map(|i| f.is_valid(i).then(|| f.value(i))));
            }
            let t =
                cast(col, &DataType::Utf8).map_err(|e| bad(e.to_string(), "cast it to STRING"))?;
            let t = t.as_string::<i32>();
            texts.extend((0..t.len()).map(|i| t.is_valid(i).then(|| t.value(i).to_string())));
        }
        let rows: Vec<usize> = (0..texts.len()).filter(|&i| texts[i].is_some()).collect();
        if rows.is_empty() {
            return Err(bad(
                format!("all {} values are null", texts.len()),
                "choose a column that has values, or fill it before training",
            ));
        }
        let nulls = texts.len() - rows.len();
        if nulls > 0 {
            notes.push(format!(
                "{nulls} rows with a null target were left out of training"
            ));
        }
        if numeric
            && rows
                .iter()
                .any(|&i| values[i].is_some_and(|v| !v.is_finite()))
        {
            return Err(bad(
                "holds NaN or infinite values".into(),
                "filter those rows out (WHERE IS_NAN(...) IS FALSE) or replace them",
            ));
        }

        let integer = dt.is_integer();
        let resolved = match task {
            Task::Auto => {
                if textual {
                    let distinct: BTreeSet<&str> =
                        rows.iter().filter_map(|&i| texts[i].as_deref()).collect();
                    if distinct.len() == 2 {
                        Task::Binary
                    } else {
                        Task::Multiclass
                    }
                } else if integer && distinct_numbers(&values, &rows).len() == 2 {
                    Task::Binary
                } else {
                    Task::Regression
                }
            }
            other => other,
        };
        if task == Task::Auto {
            notes.push(format!(
                "task: {} (chosen from the target's type {dt}; pass --task to override)",
                resolved.as_str()
            ));
        }

        match resolved {
            Task::Regression => {
                if !numeric {
                    return Err(bad(
                        format!("regression needs a numeric target, and this column is {dt}"),
                        "use --task binary or --task multiclass, or cast the column to FLOAT64",
                    ));
                }
                let labels: Vec<f64> = rows
                    .iter()
                    .map(|&i| values[i].unwrap_or(f64::NAN))
                    .collect();
                if labels.iter().all(|&v| v == labels[0]) {
                    return Err(bad(
                        format!(
                            "every row has the same value {}; there is nothing to learn",
                            labels[0]
                        ),
                        "choose a target that varies",
                    ));
                }
                Ok(Target {
                    name: name.to_string(),
                    task: Task::Regression,
                    rows,
                    labels,
                    class_labels: None,
                })
            }
            Task::Binary | Task::Multiclass | Task::Auto => {
                if numeric && !integer {
                    return Err(bad(
                        format!("classification needs text, boolean or integer classes, and this column is {dt}"),
                        "use --task regression, or cast the column to INT64 or STRING",
                    ));
                }
                // Classes in a stable order: numerically for integers, by text otherwise, so
                // 0/1 targets give class 1 as the positive class.
                let classes: Vec<String> = if numeric {
                    distinct_numbers(&values, &rows)
                        .into_iter()
                        .map(|v| texts_of(&values, &texts, v))
                        .collect()
                } else {
                    rows.iter()
                        .filter_map(|&i| texts[i].clone())
                        .collect::<BTreeSet<String>>()
                        .into_iter()
                        .collect()
                };
                if classes.len() < 2 {
                    return Err(bad(
                        format!(
                            "has a single class {:?} in every row with a value; a classifier needs at least two",
                            classes.first().cloned().unwrap_or_default()
                        ),
                        "train on rows that include both outcomes",
                    ));
                }
                if resolved == Task::Binary && classes.len() != 2 {
                    return Err(bad(
                        format!(
                            "binary classification needs exactly two classes, found {}",
                            classes.len()
                        ),
                        "use --task multiclass",
                    ));
                }
                if classes.len() > MAX_CLASSES {
                    return Err(bad(
                        format!("has {} distinct values; more than {MAX_CLASSES} classes", classes.len()),
                        "this looks like an identifier or a continuous value: use --task regression, or group the classes in SQL",
                    ));
                }
                let index: std::collections::HashMap<&str, usize> = classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.as_str(), i))
                    .collect();
                let labels = rows
                    .iter()
                    .map(|&i| {
                        texts[i]
                            .as_deref()
                            .and_then(|t| index.get(t))
                            .map_or(0.0, |&c| c as f64)
                    })
                    .collect();
                Ok(Target {
                    name: name.to_string(),
                    task: resolved,
                    rows,
                    labels,
                    class_labels: Some(classes),
                })
            }
        }
    }
}

/// Distinct values of the kept rows, ascending.
fn distinct_numbers(values: &[Option<f64>], rows: &[usize]) -> Vec<f64> {
    let mut v: Vec<f64> = rows.iter().filter_map(|&i| values[i]).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The text form of the first row holding `value` (how the column itself prints it).
fn texts_of(values: &[Option<f64>], texts: &[Option<String>], value: f64) -> String {
    values
        .iter()
        .position(|v| *v == Some(value))
        .and_then(|i| texts[i].clone())
        .unwrap_or_else(|| value.to_string())
}
