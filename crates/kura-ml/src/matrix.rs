//! A row-major `f64` matrix: the input of prediction and TreeSHAP.
//!
//! A plain matrix (rather than Arrow arrays) keeps the numeric core testable without Arrow and
//! gives each row as one contiguous slice, which is what tree traversal wants. Missing values
//! are NaN, as in LightGBM.

use crate::error::{MlError, Result};

/// Row-major matrix of feature values; NaN means missing.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl DenseMatrix {
    /// Wraps row-major `data` of `rows * cols` values.
    ///
    /// # Errors
    /// [`MlError::Shape`] if the length does not match.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<DenseMatrix> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(MlError::Shape {
                what: format!("{} values cannot form a {rows} x {cols} matrix", data.len()),
                hint: "pass rows * cols values in row-major order".into(),
            });
        }
        Ok(DenseMatrix { rows, cols, data })
    }

    /// Builds a matrix from rows of equal length.
    ///
    /// # Errors
    /// [`MlError::Shape`] if rows differ in length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<DenseMatrix> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != cols {
                return Err(MlError::Shape {
                    what: format!("row {i} has {} values, row 0 has {cols}", r.len()),
                    hint: "every row needs one value per feature".into(),
                });
            }
            data.extend_from_slice(r);
        }
        Ok(DenseMatrix {
            rows: rows.len(),
            cols,
            data,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` as a slice.
    ///
    /// # Panics
    /// If `i >= rows()`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Value at row `i`, column `j`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// The values, row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Column `j` as a vector.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows).map(|i| self.get(i, j)).collect()
    }
}
