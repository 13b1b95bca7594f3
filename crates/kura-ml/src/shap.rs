//! Exact path-dependent TreeSHAP (Lundberg et al. 2018, "Consistent Individualized Feature
//! Attribution for Tree Ensembles", Algorithm 2).
//!
//! This is the algorithm behind shap's `TreeExplainer(feature_perturbation="tree_path_dependent")`
//! and LightGBM's `pred_contrib`: features outside a coalition are integrated out by following
//! both children of a split weighted by the training rows (cover) that went each way. Cover is
//! LightGBM's `internal_count` / `leaf_count`, and the child a row takes uses the same decision
//! function as prediction ([`Tree::predict`]), so missing values follow the split's missing type
//! and categorical splits their bitsets. Hence SHAP values plus the expected value add up to the
//! raw score exactly (to rounding), for imported and trained models alike.
//!
//! Cost: O(rows x trees x leaves x depth^2), rows in parallel over the available cores.

use crate::error::{MlError, Result};
use crate::matrix::DenseMatrix;
use crate::model::{LgbmModel, Tree};
use crate::parallel::for_each_row_chunk;

/// SHAP values for a set of rows: one value per row, output (class) and feature.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapValues {
    rows: usize,
    outputs: usize,
    features: usize,
    /// `[row][output][feature]`, row-major.
    values: Vec<f64>,
    expected_value: Vec<f64>,
}

impl ShapValues {
    /// Number of explained rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of outputs: 1, or one per class for multiclass models.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Number of features.
    pub fn features(&self) -> usize {
        self.features
    }

    /// SHAP value of `feature` for `row` and `output`.
    pub fn get(&self, row: usize, output: usize, feature: usize) -> f64 {
        self.values[(row * self.outputs + output) * self.features + feature]
    }

    /// The values of one row and output, one per feature.
    pub fn row(&self, row: usize, output: usize) -> &[f64] {
        let start = (row * self.outputs + output) * self.features;
        &self.values[start..start + self.features]
    }

    /// The expected raw score per output: the cover-weighted mean over the training data.
    /// `expected_value[k] + sum(row(i, k))` equals the raw score of row `i` for output `k`.
    pub fn expected_value(&self) -> &[f64] {
        &self.expected_value
    }

    /// Mean |SHAP| per output and feature, `[output][feature]`: the global importance.
    pub fn mean_abs(&self) -> Vec<Vec<f64>> {
        let mut out = vec![vec![0.0; self.features]; self.outputs];
        for r in 0..self.rows {
            for (k, acc) in out.iter_mut().enumerate() {
                for (a, v) in acc.iter_mut().zip(self.row(r, k)) {
                    *a += v.abs();
                }
            }
        }
        let n = self.rows.max(1) as f64;
        out.iter_mut().flatten().for_each(|v| *v /= n);
        out
    }
}

impl LgbmModel {
    /// Path-dependent TreeSHAP values of every row of `x` (in raw-score space).
    ///
    /// # Errors
    /// [`MlError::Shape`] if `x` does not have one column per model feature;
    /// [`MlError::UnsupportedModel`] if a tree has no training counts at its root (cover is
    /// what the algorithm weights by).
    pub fn shap_values(&self, x: &DenseMatrix) -> Result<ShapValues> {
        self.check_width(x)?;
        for (i, tree) in self.trees.iter().enumerate() {
            if tree.num_leaves > 1 && tree.internal_count[0] <= 0.0 {
                return Err(MlError::UnsupportedModel {
                    source_name: self.source_name.clone(),
                    what: format!("Tree={i} has internal_count 0 at its root"),
                    hint: "TreeSHAP needs the training counts LightGBM stores with each node; re-save the model with LightGBM 3 or newer".into(),
                });
            }
        }
        let k = self.num_outputs();
        let f = self.num_features();
        let scale = if self.average_output {
            1.0 / self.num_iterations().max(1) as f64
        } else {
            1.0
        };
        let mut expected_value = vec![0.0; k];
        for (i, tree) in self.trees.iter().enumerate() {
            expected_value[i % k] += tree.expected_value();
        }
        expected_value.iter_mut().for_each(|v| *v *= scale);

        let max_depth = self.trees.iter().map(|t| t.max_depth).max().unwrap_or(0);
        let path_len = max_depth + 2;
        let buffer_len = path_len * (path_len + 1) / 2;
        let mut values = vec![0.0; x.rows() * k * f];
        for_each_row_chunk(&mut values, k * f, |first_row, chunk| {
            let mut buffer = vec![PathElement::default(); buffer_len];
            for (j, out) in chunk.chunks_mut(k * f).enumerate() {
                let row = x.row(first_row + j);
                for (t, tree) in self.trees.iter().enumerate() {
                    if tree.num_leaves > 1 {
                        let phi = &mut out[(t % k) * f..(t % k + 1) * f];
                        tree_shap(tree, row, phi, 0, 0, &mut buffer, 0, 1.0, 1.0, -1);
                    }
                }
                if scale != 1.0 {
                    out.iter_mut().for_each(|v| *v *= scale);
                }
            }
        });
        Ok(ShapValues {
            rows: x.rows(),
            outputs: k,
            features: f,
            values,
            expected_value,
        })
    }
}

/// One element of the unique path: a feature split on along the way to the current node, the
/// fraction of cover that flows through when the feature is outside the coalition (`zero`)
/// and whether the row itself goes that way (`one`), plus the permutation weight.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: isize,
    zero: f64,
    one: f64,
    pweight: f64,
}

/// Algorithm 2's RECURSE. The path of this call lives at `buffer[offset..]`, its parent's at
/// `buffer[parent_offset..]` (`offset = parent_offset + unique_depth`), so one allocation of
/// triangular size serves the whole recursion, as in the reference implementation.
#[allow(clippy::too_many_arguments)]
fn tree_shap(
    tree: &Tree,
    row: &[f64],
    phi: &mut [f64],
    node: i32,
    mut unique_depth: usize,
    buffer: &mut [PathElement],
    parent_offset: usize,
    parent_zero: f64,
    parent_one: f64,
    parent_feature: isize,
) {
    let offset = parent_offset + unique_depth;
    if unique_depth > 0 {
        buffer.copy_within(parent_offset..parent_offset + unique_depth, offset);
    }
    let path = &mut buffer[offset..];
    extend_path(path, unique_depth, parent_zero, parent_one, parent_feature);

    if node < 0 {
        let leaf_value = tree.leaf_value[!node as usize];
        for i in 1..=unique_depth {
            let w = unwound_path_sum(path, unique_depth, i);
            let el = path[i];
            phi[el.feature as usize] += w * (el.one - el.zero) * leaf_value;
        }
        return;
    }

    let n = node as usize;
    let split = tree.split_feature[n];
    let hot = tree.decision(row[split], n);
    let cold = if hot == tree.left_child[n] {
        tree.right_child[n]
    } else {
        tree.left_child[n]
    };
    let w = tree.count(node);
    let hot_zero = tree.count(hot) / w;
    let cold_zero = tree.count(cold) / w;
    let mut incoming_zero = 1.0;
    let mut incoming_one = 1.0;

    // A feature already on the path is unwound, so that it appears once with the product of
    // its fractions (the "unique" in unique path).
    if let Some(k) = (0..=unique_depth).find(|&k| path[k].feature == split as isize) {
        incoming_zero = path[k].zero;
        incoming_one = path[k].one;
        unwind_path(path, unique_depth, k);
        unique_depth -= 1;
    }

    tree_shap(
        tree,
        row,
        phi,
        hot,
        unique_depth + 1,
        buffer,
        offset,
        hot_zero * incoming_zero,
        incoming_one,
        split as isize,
    );
    tree_shap(
        tree,
        row,
        phi,
        cold,
        unique_depth + 1,
        buffer,
        offset,
        cold_zero * incoming_zero,
        0.0,
        split as isize,
    );
}

fn extend_path(path: &mut [PathElement], unique_depth: usize, zero: f64, one: f64, feature: isize) {
    path[unique_depth] = PathElement {
        feature,
        zero,
        one,
        pweight: if unique_depth == 0 { 1.0 } else { 0.0 },
    };
    let d1 = (unique_depth + 1) as f64;
    for i in (0..unique_depth).rev() {
        path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64 / d1;
        path[i].pweight = zero * path[i].pweight * (unique_depth - i) as f64 / d1;
    }
}

fn unwind_path(path: &mut [PathElement], unique_depth: usize, path_index: usize) {
    let one = path[path_index].one;
    let zero = path[path_index].zero;
    let mut next_one_portion = path[unique_depth].pweight;
    let d1 = (unique_depth + 1) as f64;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = path[i].pweight;
            path[i].pweight = next_one_portion * d1 / ((i + 1) as f64 * one);
            next_one_portion = tmp - path[i].pweight * zero * (unique_depth - i) as f64 / d1;
        } else {
            path[i].pweight = (path[i].pweight * d1) / (zero * (unique_depth - i) as f64);
        }
    }
    for i in path_index..unique_depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

fn unwound_path_sum(path: &[PathElement], unique_depth: usize, path_index: usize) -> f64 {
    let one = path[path_index].one;
    let zero = path[path_index].zero;
    let mut next_one_portion = path[unique_depth].pweight;
    let d1 = (unique_depth + 1) as f64;
    let mut total = 0.0;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = next_one_portion * d1 / ((i + 1) as f64 * one);
            total += tmp;
            next_one_portion = path[i].pweight - tmp * zero * ((unique_depth - i) as f64 / d1);
        } else if zero != 0.0 {
            total += (path[i].pweight / zero) / ((unique_depth - i) as f64 / d1);
        }
    }
    total
}
