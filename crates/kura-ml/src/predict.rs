//! Applying a model: raw scores and predictions, as LightGBM's `Booster.predict` computes them.
//!
//! Raw scores are summed tree by tree in LightGBM's order (iteration-major, one tree per output
//! per iteration), so the floating-point result is the same, not merely close.

use crate::error::{MlError, Result};
use crate::matrix::DenseMatrix;
use crate::model::LgbmModel;
use crate::parallel::for_each_row_chunk;

impl LgbmModel {
    /// Raw scores of one row into `out` (length [`LgbmModel::num_outputs`]).
    ///
    /// # Panics
    /// If `row` is shorter than [`LgbmModel::num_features`] or `out` has the wrong length;
    /// [`LgbmModel::predict_raw`] checks both.
    pub fn predict_row_raw(&self, row: &[f64], out: &mut [f64]) {
        let k = self.num_tree_per_iteration;
        out.iter_mut().for_each(|v| *v = 0.0);
        for (i, tree) in self.trees.iter().enumerate() {
            out[i % k] += tree.predict(row);
        }
        if self.average_output {
            let iterations = self.num_iterations().max(1) as f64;
            out.iter_mut().for_each(|v| *v /= iterations);
        }
    }

    /// Raw scores (before the objective's transform), `rows x num_outputs`: what LightGBM
    /// returns with `raw_score=True`.
    ///
    /// # Errors
    /// [`MlError::Shape`] if `x` does not have one column per model feature.
    pub fn predict_raw(&self, x: &DenseMatrix) -> Result<DenseMatrix> {
        self.check_width(x)?;
        let k = self.num_outputs();
        let mut out = vec![0.0; x.rows() * k];
        for_each_row_chunk(&mut out, k, |first_row, chunk| {
            for (j, scores) in chunk.chunks_mut(k).enumerate() {
                self.predict_row_raw(x.row(first_row + j), scores);
            }
        });
        DenseMatrix::new(x.rows(), k, out)
    }

    /// Predictions after the objective's transform (probabilities for classification),
    /// `rows x num_outputs`: what LightGBM's `predict` returns by default.
    ///
    /// # Errors
    /// As [`LgbmModel::predict_raw`].
    pub fn predict(&self, x: &DenseMatrix) -> Result<DenseMatrix> {
        let raw = self.predict_raw(x)?;
        Ok(self.transform(&raw))
    }

    /// Applies the objective's transform to raw scores from [`LgbmModel::predict_raw`].
    pub fn transform(&self, raw: &DenseMatrix) -> DenseMatrix {
        let mut data = raw.as_slice().to_vec();
        let k = raw.cols().max(1);
        for row in data.chunks_mut(k) {
            self.objective.transform(row);
        }
        DenseMatrix::new(raw.rows(), raw.cols(), data)
            .expect("same shape as the raw matrix it was copied from")
    }

    pub(crate) fn check_width(&self, x: &DenseMatrix) -> Result<()> {
        if x.cols() != self.num_features() {
            return Err(MlError::Shape {
                what: format!(
                    "the input has {} feature columns, model {} expects {}",
                    x.cols(),
                    self.source_name,
                    self.num_features()
                ),
                hint: format!(
                    "pass the features in model order: {}",
                    self.feature_names.join(", ")
                ),
            });
        }
        Ok(())
    }
}
