//! Predictions and SHAP values as Arrow record batches, ready to write into warehouse tables.
//!
//! SHAP comes in three shapes because they answer different queries: the long form
//! (`row_key, [class,] feature, shap_value`) joins and aggregates in SQL, the wide form (one
//! column per feature, plus `expected_value`) reads like the input table, and the importance
//! table (`feature, mean_abs_shap`, descending) is the global ranking. Every SHAP batch records
//! the expected value in its schema metadata under [`EXPECTED_VALUE_KEY`] (a JSON array, one
//! entry per class) so it survives being written to a table.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::error::{MlError, Result};
use crate::matrix::DenseMatrix;
use crate::model::Objective;
use crate::shap::ShapValues;

/// Schema metadata key holding the expected value(s) as a JSON array.
pub const EXPECTED_VALUE_KEY: &str = "kura.shap.expected_value";

/// The three SHAP tables and the expected value they share.
#[derive(Debug, Clone)]
pub struct ShapTables {
    /// `row_key, [class,] feature, shap_value`: one row per input row, class and feature.
    pub long: RecordBatch,
    /// `row_key, [class,] <one column per feature>, expected_value`.
    pub wide: RecordBatch,
    /// `feature, mean_abs_shap[, mean_abs_shap_<class>...]`, sorted by `mean_abs_shap`
    /// descending; for multiclass the total is the sum over classes (shap's stacked bar).
    pub importance: RecordBatch,
    /// Expected raw score per class (one entry unless multiclass).
    pub expected_value: Vec<f64>,
}

fn arrow_err(table: &str) -> impl Fn(arrow::error::ArrowError) -> MlError + '_ {
    move |source| MlError::Arrow {
        table: table.to_string(),
        source,
    }
}

/// A row key of 0-based row numbers, for tables without a key column.
pub fn row_number_key(rows: usize) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(0..rows as i64))
}

fn check_key(row_key: &ArrayRef, rows: usize) -> Result<()> {
    if row_key.len() != rows {
        return Err(MlError::Shape {
            what: format!("the row key has {} values for {rows} rows", row_key.len()),
            hint: "pass the key column of the same table that was explained".into(),
        });
    }
    Ok(())
}

fn metadata(expected: &[f64]) -> HashMap<String, String> {
    let json = serde_json::to_string(expected).unwrap_or_else(|_| "[]".into());
    HashMap::from([(EXPECTED_VALUE_KEY.to_string(), json)])
}

/// Builds the long, wide and importance tables.
///
/// `class_labels` names the outputs of a multiclass model (defaults to `0..k`); for one
/// output there is no class column.
///
/// # Errors
/// [`MlError::Shape`] if the key or the names do not match the SHAP values.
pub fn shap_tables(
    shap: &ShapValues,
    feature_names: &[String],
    row_key: &ArrayRef,
    class_labels: Option<&[String]>,
) -> Result<ShapTables> {
    let (n, k, f) = (shap.rows(), shap.outputs(), shap.features());
    check_key(row_key, n)?;
    if feature_names.len() != f {
        return Err(MlError::Shape {
            what: format!("{} feature names for {f} features", feature_names.len()),
            hint: "pass the model's feature names".into(),
        });
    }
    let labels: Vec<String> = match class_labels {
        Some(l) if l.len() == k => l.to_vec(),
        _ => (0..k).map(|c| c.to_string()).collect(),
    };
    let multi = k > 1;
    let meta = metadata(shap.expected_value());
    let key_field = Field::new("row_key", row_key.data_type().clone(), true);

    // Long form.
    let total = n * k * f;
    let mut take_idx = Vec::with_capacity(total);
    let mut classes = Vec::with_capacity(total);
    let mut features = Vec::with_capacity(total);
    let mut values = Vec::with_capacity(total);
    for i in 0..n {
        for (c, label) in labels.iter().enumerate() {
            for (j, name) in feature_names.iter().enumerate() {
                take_idx.push(i as u32);
                classes.push(label.as_str());
                features.push(name.as_str());
                values.push(shap.get(i, c, j));
            }
        }
    }
    let long_key = take(row_key, &UInt32Array::from(take_idx), None).map_err(arrow_err("long"))?;
    let mut fields = vec![key_field.clone()];
    let mut cols: Vec<ArrayRef> = vec![long_key];
    if multi {
        fields.push(Field::new("class", DataType::Utf8, false));
        cols.push(Arc::new(StringArray::from(classes)));
    }
    fields.push(Field::new("feature", DataType::Utf8, false));
    cols.push(Arc::new(StringArray::from(features)));
    fields.push(Field::new("shap_value", DataType::Float64, false));
    cols.push(Arc::new(Float64Array::from(values)));
    let long = RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta.clone())),
        cols,
    )
    .map_err(arrow_err("long"))?;

    // Wide form: one row per (row, class).
    let idx: Vec<u32> = (0..n)
        .flat_map(|i| std::iter::repeat_n(i as u32, k))
        .collect();
    let wide_key = take(row_key, &UInt32Array::from(idx), None).map_err(arrow_err("wide"))?;
    let mut fields = vec![key_field];
    let mut cols: Vec<ArrayRef> = vec![wide_key];
    if multi {
        fields.push(Field::new("class", DataType::Utf8, false));
        let cl: Vec<&str> = (0..n)
            .flat_map(|_| labels.iter().map(String::as_str))
            .collect();
        cols.push(Arc::new(StringArray::from(cl)));
    }
    for (j, name) in feature_names.iter().enumerate() {
        fields.push(Field::new(name, DataType::Float64, false));
        let col: Vec<f64> = (0..n)
            .flat_map(|i| (0..k).map(move |c| (i, c)))
            .map(|(i, c)| shap.get(i, c, j))
            .collect();
        cols.push(Arc::new(Float64Array::from(col)));
    }
    fields.push(Field::new("expected_value", DataType::Float64, false));
    let ev: Vec<f64> = (0..n)
        .flat_map(|_| shap.expected_value().iter().copied())
        .collect();
    cols.push(Arc::new(Float64Array::from(ev)));
    let wide = RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta.clone())),
        cols,
    )
    .map_err(arrow_err("wide"))?;

    // Importance.
    let per_class = shap.mean_abs();
    let totals: Vec<f64> = (0..f)
        .map(|j| per_class.iter().map(|c| c[j]).sum())
        .collect();
    let mut order: Vec<usize> = (0..f).collect();
    order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]).then(a.cmp(&b)));
    let mut fields = vec![
        Field::new("feature", DataType::Utf8, false),
        Field::new("mean_abs_shap", DataType::Float64, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            order
                .iter()
                .map(|&j| feature_names[j].as_str())
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            order.iter().map(|&j| totals[j]).collect::<Vec<_>>(),
        )),
    ];
    if multi {
        for (c, label) in labels.iter().enumerate() {
            fields.push(Field::new(
                format!("mean_abs_shap_{label}"),
                DataType::Float64,
                false,
            ));
            cols.push(Arc::new(Float64Array::from(
                order.iter().map(|&j| per_class[c][j]).collect::<Vec<_>>(),
            )));
        }
    }
    let importance = RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, meta)), cols)
        .map_err(arrow_err("importance"))?;

    Ok(ShapTables {
        long,
        wide,
        importance,
        expected_value: shap.expected_value().to_vec(),
    })
}

/// Predictions as a table.
///
/// Columns by objective: binary `row_key, raw_score, probability, predicted_class`
/// (`probability` is that of the second label, the positive class); multiclass
/// `row_key, predicted_class, probability, probability_<label>...`; anything else
/// `row_key, raw_score, prediction`.
///
/// # Errors
/// [`MlError::Shape`] if the key length differs from the number of rows.
pub fn prediction_table(
    objective: &Objective,
    raw: &DenseMatrix,
    row_key: &ArrayRef,
    class_labels: Option<&[String]>,
) -> Result<RecordBatch> {
    let n = raw.rows();
    let k = raw.cols();
    check_key(row_key, n)?;
    let mut pred = raw.as_slice().to_vec();
    for row in pred.chunks_mut(k.max(1)) {
        objective.transform(row);
    }
    let labels: Vec<String> = match class_labels {
        Some(l) if l.len() == k.max(2) => l.to_vec(),
        _ => (0..k.max(2)).map(|c| c.to_string()).collect(),
    };
    let mut fields = vec![Field::new("row_key", row_key.data_type().clone(), true)];
    let mut cols: Vec<ArrayRef> = vec![row_key.clone()];
    let f64col = |v: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    match objective {
        Objective::Binary { .. } if k == 1 => {
            fields.push(Field::new("raw_score", DataType::Float64, false));
            cols.push(f64col(raw.as_slice().to_vec()));
            fields.push(Field::new("probability", DataType::Float64, false));
            cols.push(f64col(pred.clone()));
            fields.push(Field::new("predicted_class", DataType::Utf8, false));
            let cls: Vec<&str> = pred
                .iter()
                .map(|&p| labels[usize::from(p >= 0.5)].as_str())
                .collect();
            cols.push(Arc::new(StringArray::from(cls)));
        }
        Objective::Multiclass { .. } | Objective::MulticlassOva { .. } if k > 1 => {
            let best: Vec<usize> = pred
                .chunks(k)
                .map(|r| {
                    (0..k)
                        .max_by(|&a, &b| r[a].total_cmp(&r[b]).then(b.cmp(&a)))
                        .unwrap_or(0)
                })
                .collect();
            fields.push(Field::new("predicted_class", DataType::Utf8, false));
            cols.push(Arc::new(StringArray::from(
                best.iter().map(|&b| labels[b].as_str()).collect::<Vec<_>>(),
            )));
            fields.push(Field::new("probability", DataType::Float64, false));
            cols.push(f64col(
                pred.chunks(k).zip(&best).map(|(r, &b)| r[b]).collect(),
            ));
            for (c, label) in labels.iter().enumerate().take(k) {
                fields.push(Field::new(
                    format!("probability_{label}"),
                    DataType::Float64,
                    false,
                ));
                cols.push(f64col(pred.chunks(k).map(|r| r[c]).collect()));
            }
        }
        _ => {
            for c in 0..k {
                let suffix = if k > 1 {
                    format!("_{c}")
                } else {
                    String::new()
                };
                fields.push(Field::new(
                    format!("raw_score{suffix}"),
                    DataType::Float64,
                    false,
                ));
                cols.push(f64col((0..n).map(|i| raw.get(i, c)).collect()));
                fields.push(Field::new(
                    format!("prediction{suffix}"),
                    DataType::Float64,
                    false,
                ));
                cols.push(f64col(pred.chunks(k).map(|r| r[c]).collect()));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(arrow_err("prediction"))
}
