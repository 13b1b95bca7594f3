//! Which columns become features, and how each is encoded.
//!
//! Numeric and boolean columns are numeric features; text columns are LightGBM categoricals
//! whose levels are the sorted distinct values seen in training. A column is dropped, with a
//! note saying why, when it is all null, constant, of a type LightGBM cannot read (dates,
//! arrays, ...: cast them in SQL), or text with so many levels that it is most likely an
//! identifier. Columns named explicitly are never dropped silently: a type that cannot be read
//! is an error.

use std::collections::BTreeSet;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use arrow::record_batch::RecordBatch;

use super::target::Target;
use super::TrainOptions;
use crate::error::{MlError, Result};
use crate::features::{FeatureKind, FeatureSchema, FeatureSpec};

enum Encoding {
    Numeric,
    Text,
}

fn encoding(dt: &DataType) -> Option<Encoding> {
    match dt {
        DataType::Boolean | DataType::Null => Some(Encoding::Numeric),
        d if d.is_numeric() => Some(Encoding::Numeric),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(Encoding::Text),
        DataType::Dictionary(_, v) => encoding(v).filter(|e| matches!(e, Encoding::Text)),
        _ => None,
    }
}

/// Column `name` of every batch.
fn columns<'a>(batches: &'a [RecordBatch], name: &str) -> Result<Vec<&'a ArrayRef>> {
    batches
        .iter()
        .map(|b| {
            b.column_by_name(name)
                .ok_or_else(|| MlError::MissingFeatures {
                    missing: format!("`{name}`"),
                })
        })
        .collect()
}

/// Distinct non-null values (as text, up to `limit + 1`) and whether any value is null, over
/// the rows that train.
fn profile(
    batches: &[RecordBatch],
    name: &str,
    rows: &[usize],
    limit: usize,
) -> Result<(BTreeSet<String>, bool)> {
    let mut texts: Vec<Option<String>> = Vec::new();
    for col in columns(batches, name)? {
        let t = cast(col, &DataType::Utf8).map_err(|_| MlError::RetypedFeatures {
            retyped: format!(
                "`{name}` is {}, which cannot be read as text",
                col.data_type()
            ),
        })?;
        let t = t.as_string::<i32>();
        texts.extend((0..t.len()).map(|i| t.is_valid(i).then(|| t.value(i).to_string())));
    }
    let mut distinct = BTreeSet::new();
    let mut any_null = false;
    for &i in rows {
        match &texts[i] {
            None => any_null = true,
            Some(v) => {
                if distinct.len() <= limit {
                    distinct.insert(v.clone());
                }
            }
        }
    }
    Ok((distinct, any_null))
}

/// Whether a numeric column varies over the training rows: `(all null, constant)`.
fn numeric_profile(batches: &[RecordBatch], name: &str, rows: &[usize]) -> Result<(bool, bool)> {
    let mut values: Vec<Option<f64>> = Vec::new();
    for col in columns(batches, name)? {
        let f = cast(col, &DataType::Float64).map_err(|_| MlError::RetypedFeatures {
            retyped: format!(
                "`{name}` is {}, which cannot be read as a number",
                col.data_type()
            ),
        })?;
        let f = f.as_primitive::<Float64Type>();
        values.extend(
            (0..f.len()).map(|i| (f.is_valid(i) && !f.value(i).is_nan()).then(|| f.value(i))),
        );
    }
    let mut first: Option<f64> = None;
    let mut any_null = false;
    let mut varies = false;
    for &i in rows {
        match (values[i], first) {
            (None, _) => any_null = true,
            (Some(v), None) => first = Some(v),
            (Some(v), Some(f)) => varies |= v != f,
        }
    }
    let all_null = first.is_none();
    // A single value with some nulls still separates the rows (present or missing).
    Ok((all_null, !all_null && !varies && !any_null))
}

/// Chooses and describes the features of a model trained on `batches` to predict `target`.
///
/// # Errors
/// [`MlError::MissingFeatures`] for requested columns the table lacks;
/// [`MlError::RetypedFeatures`] for requested columns of an unreadable type;
/// [`MlError::NoFeatures`] when nothing usable remains.
pub fn select_features(
    batches: &[RecordBatch],
    target: &Target,
    opts: &TrainOptions,
    notes: &mut Vec<String>,
) -> Result<FeatureSchema> {
    let Some(first) = batches.first() else {
        return Err(MlError::NoFeatures {
            detail: "the table has no rows".into(),
        });
    };
    let schema = first.schema();
    let explicit = opts.features.is_some();
    let candidates: Vec<String> = match &opts.features {
        Some(list) => {
            let missing: Vec<String> = list
                .iter()
                .filter(|c| schema.field_with_name(c).is_err())
                .map(|c| format!("`{c}`"))
                .collect();
            if !missing.is_empty() {
                return Err(MlError::MissingFeatures {
                    missing: missing.join(", "),
                });
            }
            if list.contains(&target.name) {
                return Err(MlError::InvalidArgument {
                    name: "features".into(),
                    message: format!("the target `{}` is also listed as a feature", target.name),
                    hint: "remove it from --features: a model that reads its answer learns nothing"
                        .into(),
                });
            }
            list.clone()
        }
        None => schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| *n != target.name && !opts.exclude.contains(n))
            .collect(),
    };

    let mut features = Vec::new();
    let mut dropped = Vec::new();
    for name in candidates {
        let dt = schema
            .field_with_name(&name)
            .map(|f| f.data_type().clone())
            .map_err(|_| MlError::MissingFeatures {
                missing: format!("`{name}`"),
            })?;
        match encoding(&dt) {
            None if explicit => {
                return Err(MlError::RetypedFeatures {
                    retyped: format!(
                        "`{name}` is {dt}, which LightGBM cannot read (use a number, boolean or text; e.g. UNIX_DATE(d) for a date)"
                    ),
                })
            }
            None => dropped.push(format!("`{name}` ({dt}: not a number, boolean or text)")),
            Some(Encoding::Numeric) => {
                let (all_null, constant) = numeric_profile(batches, &name, &target.rows)?;
                if all_null {
                    dropped.push(format!("`{name}` (all null)"));
                } else if constant {
                    dropped.push(format!("`{name}` (constant)"));
                } else {
                    features.push(FeatureSpec {
                        name,
                        kind: FeatureKind::Numeric,
                        data_type: dt.to_string(),
                    });
                }
            }
            Some(Encoding::Text) => {
                let (levels, any_null) =
                    profile(batches, &name, &target.rows, opts.max_categories)?;
                if levels.is_empty() {
                    dropped.push(format!("`{name}` (all null)"));
                } else if levels.len() == 1 && !any_null {
                    dropped.push(format!("`{name}` (constant)"));
                } else if levels.len() > opts.max_categories {
                    dropped.push(format!(
                        "`{name}` (more than {} distinct values: most likely an identifier)",
                        opts.max_categories
                    ));
                } else {
                    features.push(FeatureSpec {
                        name,
                        kind: FeatureKind::Category {
                            categories: levels.into_iter().collect(),
                        },
                        data_type: dt.to_string(),
                    });
                }
            }
        }
    }
    if !dropped.is_empty() {
        notes.push(format!("features dropped: {}", dropped.join(", ")));
    }
    if features.is_empty() {
        return Err(MlError::NoFeatures {
            detail: if dropped.is_empty() {
                "the table has no column besides the target".into()
            } else {
                format!("every candidate was dropped: {}", dropped.join(", "))
            },
        });
    }
    Ok(FeatureSchema { features })
}
