//! The Arrow boundary: record batches in, the model's feature matrix out.
//!
//! A model remembers, per feature, its name, how it is encoded ([`FeatureKind`]) and the Arrow
//! type it was trained on ([`FeatureSchema`]). Encoding a table checks those before any number
//! is produced, because a silently missing or re-typed column gives plausible but wrong
//! predictions: missing columns and type changes are errors naming every offending column and
//! the type it should have. Categories never seen in training are, by default, encoded as
//! missing (LightGBM sends them down the same branch as NaN) and reported as a note.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::matrix::DenseMatrix;
use crate::model::{FeatureInfo, LgbmModel};

/// How a column becomes the number LightGBM sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeatureKind {
    /// Any numeric or boolean column, read as `f64`; null is NaN.
    Numeric,
    /// A categorical feature given as its integer codes (imported models without names).
    CategoryCode,
    /// A categorical feature with named levels: the value's position in `categories` is its
    /// code. Values are compared as text, so string, integer and dictionary columns all work.
    Category { categories: Vec<String> },
}

/// One feature of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Column name in the input table (and in the model file).
    pub name: String,
    /// Encoding.
    pub kind: FeatureKind,
    /// The Arrow type seen at training (or `"numeric"` for imported models), for messages.
    pub data_type: String,
}

/// The features of a model, in model order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    /// One entry per model feature.
    pub features: Vec<FeatureSpec>,
}

/// What to do with a categorical value that training never saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnseenCategories {
    /// Encode as missing (NaN) and add a note; LightGBM routes it like an unseen code.
    #[default]
    AsMissing,
    /// Fail with [`MlError::UnseenCategories`].
    Error,
}

/// A feature matrix with what happened while building it.
#[derive(Debug, Clone)]
pub struct EncodedFeatures {
    /// Rows x features, in model order; NaN for missing.
    pub matrix: DenseMatrix,
    /// Human-readable remarks (unseen categories encoded as missing, ...).
    pub notes: Vec<String>,
}

fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Boolean | DataType::Null)
}

fn is_text(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_text(v),
        _ => false,
    }
}

impl FeatureSchema {
    /// The schema of an imported model: numeric features, and categorical ones as integer
    /// codes, or as named levels when the model carries `pandas_categorical`.
    pub fn from_model(model: &LgbmModel) -> FeatureSchema {
        let categorical: Vec<usize> = model
            .feature_infos()
            .iter()
            .enumerate()
            .filter(|(_, i)| matches!(i, FeatureInfo::Categorical(_)))
            .map(|(j, _)| j)
            .collect();
        let pandas = model
            .pandas_categorical()
            .filter(|p| p.len() == categorical.len());
        let features = model
            .feature_names()
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let kind = match categorical.iter().position(|&c| c == j) {
                    None => FeatureKind::Numeric,
                    Some(pos) => match pandas {
                        Some(levels) => FeatureKind::Category {
                            categories: levels[pos].iter().map(json_label).collect(),
                        },
                        None => FeatureKind::CategoryCode,
                    },
                };
                let data_type = match kind {
                    FeatureKind::Numeric => "numeric",
                    FeatureKind::CategoryCode => "integer category code",
                    FeatureKind::Category { .. } => "text category",
                }
                .to_string();
                FeatureSpec {
                    name: name.clone(),
                    kind,
                    data_type,
                }
            })
            .collect();
        FeatureSchema { features }
    }

    /// Feature names in model order.
    pub fn names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }

    /// Encodes the feature columns of `batches` (all with the same schema) into a matrix.
    ///
    /// # Errors
    /// [`MlError::MissingFeatures`] / [`MlError::RetypedFeatures`] naming every offending
    /// column with its expected type; [`MlError::UnseenCategories`] under
    /// [`UnseenCategories::Error`].
    pub fn encode(
        &self,
        batches: &[RecordBatch],
        unseen: UnseenCategories,
    ) -> Result<EncodedFeatures> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let f = self.features.len();
        let mut data = vec![f64::NAN; rows * f];
        let mut notes = Vec::new();
        let Some(first) = batches.first() else {
            return Ok(EncodedFeatures {
                matrix: DenseMatrix::new(0, f, data)?,
                notes,
            });
        };
        let schema = first.schema();
        let mut missing = Vec::new();
        let mut retyped = Vec::new();
        for spec in &self.features {
            match schema.field_with_name(&spec.name) {
                Err(_) => missing.push(format!("`{}` ({})", spec.name, spec.data_type)),
                Ok(field) => {
                    let dt = field.data_type();
                    let ok = match spec.kind {
                        FeatureKind::Numeric | FeatureKind::CategoryCode => is_numeric(dt),
                        FeatureKind::Category { .. } => {
                            is_text(dt)
                                || dt.is_integer()
                                || matches!(dt, DataType::Boolean | DataType::Null)
                        }
                    };
                    if !ok {
                        retyped.push(format!(
                            "`{}` is {dt}, expected {}",
                            spec.name, spec.data_type
                        ));
                    }
                }
            }
        }
        if !missing.is_empty() {
            return Err(MlError::MissingFeatures {
                missing: missing.join(", "),
            });
        }
        if !retyped.is_empty() {
            return Err(MlError::RetypedFeatures {
                retyped: retyped.join(", "),
            });
        }

        for (j, spec) in self.features.iter().enumerate() {
            let lookup: Option<HashMap<&str, usize>> = match &spec.kind {
                FeatureKind::Category { categories } => Some(
                    categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.as_str(), i))
                        .collect(),
                ),
                _ => None,
            };
            let mut unseen_count = 0usize;
            let mut examples: Vec<String> = Vec::new();
            let mut offset = 0;
            for batch in batches {
                let col =
                    batch
                        .column_by_name(&spec.name)
                        .ok_or_else(|| MlError::MissingFeatures {
                            missing: format!("`{}` ({})", spec.name, spec.data_type),
                        })?;
                match &lookup {
                    None => {
                        let values = to_f64(col, &spec.name, &spec.data_type)?;
                        let values = values.as_primitive::<Float64Type>();
                        for i in 0..values.len() {
                            if values.is_valid(i) {
                                data[(offset + i) * f + j] = values.value(i);
                            }
                        }
                    }
                    Some(map) => {
                        let text =
                            cast(col, &DataType::Utf8).map_err(|_| MlError::RetypedFeatures {
                                retyped: format!(
                                    "`{}` is {}, expected {}",
                                    spec.name,
                                    col.data_type(),
                                    spec.data_type
                                ),
                            })?;
                        let text = text.as_string::<i32>();
                        for i in 0..text.len() {
                            if text.is_null(i) {
                                continue;
                            }
                            let v = text.value(i);
                            match map.get(v) {
                                Some(&code) => data[(offset + i) * f + j] = code as f64,
                                None => {
                                    unseen_count += 1;
                                    if examples.len() < 3 && !examples.iter().any(|e| e == v) {
                                        examples.push(v.to_string());
                                    }
                                }
                            }
                        }
                    }
                }
                offset += batch.num_rows();
            }
            if unseen_count > 0 {
                let ex = examples
                    .iter()
                    .map(|e| format!("{e:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                match unseen {
                    UnseenCategories::Error => {
                        return Err(MlError::UnseenCategories {
                            feature: spec.name.clone(),
                            count: unseen_count,
                            examples: ex,
                        })
                    }
                    UnseenCategories::AsMissing => notes.push(format!(
                        "feature `{}`: {unseen_count} rows have categories never seen in training (e.g. {ex}); encoded as missing",
                        spec.name
                    )),
                }
            }
        }
        Ok(EncodedFeatures {
            matrix: DenseMatrix::new(rows, f, data)?,
            notes,
        })
    }
}

/// Reads a numeric or boolean column as `f64` (null stays null).
pub(crate) fn to_f64(col: &ArrayRef, name: &str, expected: &str) -> Result<ArrayRef> {
    cast(col, &DataType::Float64).map_err(|_| MlError::RetypedFeatures {
        retyped: format!("`{name}` is {}, expected {expected}", col.data_type()),
    })
}

/// A pandas category level as the text an Arrow column would show for it.
fn json_label(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
