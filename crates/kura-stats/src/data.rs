//! The Arrow boundary: read numeric columns out of record batches, count missing values.
//!
//! Estimators work on plain `&[f64]`; this module is the one place that knows Arrow types. It
//! casts any numeric or boolean column to f64, treats null and NaN alike as missing, and either
//! refuses (the default) or drops incomplete rows when the caller says so explicitly, always
//! reporting how many rows went.

use crate::{Result, StatsError};
use arrow::array::{Array, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use serde::Serialize;

/// What to do with rows that have a missing value in a column the analysis needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    /// Refuse with [`StatsError::MissingValues`]; the default, so nothing is dropped silently.
    #[default]
    Error,
    /// Drop incomplete rows and report the count in [`MissingReport`].
    Drop,
}

/// How many rows were read and dropped, per column, so the report can say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct MissingReport {
    pub rows_read: usize,
    pub rows_dropped: usize,
    /// (column, missing count) for each column with at least one missing value.
    pub missing_by_column: Vec<(String, usize)>,
}

/// Reads one column from all batches as `Option<f64>` (None for null or NaN).
///
/// # Errors
/// [`StatsError::BadInput`] when the column is absent or not numeric/boolean.
pub fn column_f64(batches: &[RecordBatch], name: &str) -> Result<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for batch in batches {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| StatsError::BadInput {
                what: format!("column `{name}` is not in the query result"),
                hint: format!(
                    "select a column named `{name}`; available: {}",
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let dt = col.data_type();
        if !(dt.is_numeric() || matches!(dt, DataType::Boolean)) {
            return Err(StatsError::BadInput {
                what: format!("column `{name}` has type {dt}, not a number"),
                hint: "cast it to a numeric type in SQL".into(),
            });
        }
        let casted = cast(col, &DataType::Float64).map_err(|e| StatsError::BadInput {
            what: format!("column `{name}` could not be read as f64: {e}"),
            hint: "cast it to DOUBLE in SQL".into(),
        })?;
        let arr = casted
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| StatsError::BadInput {
                what: format!("column `{name}` did not cast to Float64"),
                hint: "cast it to DOUBLE in SQL".into(),
            })?;
        out.extend((0..arr.len()).map(|i| {
            if arr.is_null(i) || arr.value(i).is_nan() {
                None
            } else {
                Some(arr.value(i))
            }
        }));
    }
    Ok(out)
}

/// Reads several columns and keeps the rows complete in all of them, per `policy`.
///
/// Returns one `Vec<f64>` per requested column, all of the same length, plus the report.
///
/// # Errors
/// [`StatsError::MissingValues`] for the first column with missing values under
/// [`MissingPolicy::Error`]; [`StatsError::BadInput`] for absent or non-numeric columns.
pub fn complete_columns(
    batches: &[RecordBatch],
    names: &[&str],
    policy: MissingPolicy,
) -> Result<(Vec<Vec<f64>>, MissingReport)> {
    let cols = names
        .iter()
        .map(|n| column_f64(batches, n))
        .collect::<Result<Vec<_>>>()?;
    let rows = cols.first().map_or(0, Vec::len);
    let mut report = MissingReport {
        rows_read: rows,
        ..Default::default()
    };
    for (name, col) in names.iter().zip(&cols) {
        let missing = col.iter().filter(|v| v.is_none()).count();
        if missing > 0 {
            if policy == MissingPolicy::Error {
                return Err(StatsError::MissingValues {
                    column: (*name).to_string(),
                    count: missing,
                });
            }
            report
                .missing_by_column
                .push(((*name).to_string(), missing));
        }
    }
    let mut out = vec![Vec::with_capacity(rows); names.len()];
    for i in 0..rows {
        if cols.iter().all(|c| c[i].is_some()) {
            for (o, c) in out.iter_mut().zip(&cols) {
                o.push(c[i].unwrap_or_default());
            }
        } else {
            report.rows_dropped += 1;
        }
    }
    Ok((out, report))
}

/// Splits `values` by a 0/1 treatment indicator into (treatment, control).
///
/// # Errors
/// [`StatsError::BadInput`] when an indicator is neither 0 nor 1.
pub fn split_by_treatment(values: &[f64], treat: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut t = Vec::new();
    let mut c = Vec::new();
    for (i, (&v, &d)) in values.iter().zip(treat).enumerate() {
        if d == 1.0 {
            t.push(v);
        } else if d == 0.0 {
            c.push(v);
        } else {
            return Err(StatsError::BadInput {
                what: format!("treatment indicator is {d} at row {i}, expected 0 or 1"),
                hint: "encode the group as 1 for treatment and 0 for control".into(),
            });
        }
    }
    Ok((t, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("y", DataType::Float64, true),
            Field::new("g", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![
                    Some(1.0),
                    None,
                    Some(f64::NAN),
                    Some(4.0),
                ])),
                Arc::new(Int64Array::from(vec![1, 0, 1, 0])),
                Arc::new(StringArray::from(vec!["a", "b", "c", "d"])),
            ],
        )
        .expect("valid batch")
    }

    #[test]
    fn missing_values_refused_by_default_and_counted_when_dropped() {
        let b = [batch()];
        let err = complete_columns(&b, &["y", "g"], MissingPolicy::Error).err();
        assert_eq!(
            err,
            Some(StatsError::MissingValues {
                column: "y".into(),
                count: 2
            })
        );
        let (cols, rep) = complete_columns(&b, &["y", "g"], MissingPolicy::Drop).expect("drop");
        assert_eq!(cols[0], vec![1.0, 4.0]);
        assert_eq!(cols[1], vec![1.0, 0.0]);
        assert_eq!(rep.rows_dropped, 2);
        assert_eq!(rep.missing_by_column, vec![("y".to_string(), 2)]);
    }

    #[test]
    fn non_numeric_and_absent_columns_are_errors() {
        let b = [batch()];
        assert!(matches!(
            column_f64(&b, "s"),
            Err(StatsError::BadInput { .. })
        ));
        assert!(matches!(
            column_f64(&b, "zz"),
            Err(StatsError::BadInput { .. })
        ));
    }
}
