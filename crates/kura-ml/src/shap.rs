//! Exact path-dependent TreeSHAP: the values of Lundberg et al. 2018 ("Consistent
//! Individualized Feature Attribution for Tree Ensembles", Algorithm 2), computed from
//! per-tree subset tables where that pays off and by Algorithm 2 itself otherwise.
//!
//! This is the algorithm behind shap's `TreeExplainer(feature_perturbation="tree_path_dependent")`
//! and LightGBM's `pred_contrib`: features outside a coalition are integrated out by following
//! both children of a split weighted by the training rows (cover) that went each way. Cover is
//! LightGBM's `internal_count` / `leaf_count`, and the child a row takes uses the same decision
//! function as prediction ([`Tree::predict`]), so missing values follow the split's missing type
//! and categorical splits their bitsets. Hence SHAP values plus the expected value add up to the
//! raw score exactly (to rounding), for imported and trained models alike.
//!
//! # Two exact algorithms
//!
//! **Subset tables** (the default; the idea of Fast TreeSHAP v2, Yang 2021, arXiv:2109.09847).
//! For one leaf with value `v`, let `U` be the `d` distinct features on its root path, `z_j`
//! the product of the cover fractions of the splits on feature `j` along the path, and `B ⊆ U`
//! the features whose every split on the path the row itself follows (its "agreement set").
//! The leaf is then a game with `f(S) = v [S ⊆ B] Π_{j ∈ U \ S} z_j`, and the Shapley formula
//! collapses to two cases:
//!
//! * `i ∈ B`: `φ_i += (1 - z_i) · Z(B) · Qv(B \ {i})`
//! * `i ∉ B`: `φ_i -= Z(B) · Qv(B)` (the same amount for every such `i`)
//!
//! where `Z(B) = Π_{j ∈ U \ B} z_j` and `Qv(T) = v Σ_{S ⊆ T} |S|! (d-|S|-1)! / d! Π_{j ∈ T \ S} z_j`.
//! Neither depends on the row, so per tree both are tabulated for every leaf and every subset
//! (`2^d` pairs per leaf, `Qv` through the elementary symmetric polynomials of the `z`s, all
//! terms non-negative). Per row, one walk of the tree yields every leaf's agreement set as a
//! bitmask — a feature's bit is its position in the order of first use from the root, which
//! all leaves below that split share — and each leaf then costs `d + 1` table reads:
//! O(rows x trees x leaves x depth) plus O(trees x leaves x 2^d x d) once, against
//! Algorithm 2's O(rows x trees x leaves x depth^2). The two differ only by rounding (about
//! 1e-15 on a realistic model); both are exact.
//! On 100k rows x 30 features x 100 trees of 31 leaves, the tables are about 7x faster.
//!
//! **Algorithm 2** (`tree_shap`, recursive; shap's C++ code and LightGBM's `pred_contrib` do
//! the same) is the fallback and the test oracle. A tree uses it when a leaf has more than
//! `MAX_TABLE_FEATURES` (16) distinct features on its path (its table would need more than
//! 2^16 entries, 1 MiB), when its tables alone exceed `TABLE_BUDGET` (2^22) entries, or when
//! building its tables (`Σ 2^d (d+1)` over its leaves) costs more than Algorithm 2 on the
//! given rows (`rows x Σ (d+1)^2`), i.e. for few rows. Trees are processed in groups whose
//! tables fit in `TABLE_BUDGET` entries (64 MiB), so memory stays bounded however many trees
//! the model has.
//!
//! Rows are split into one chunk per core; within a chunk, blocks of `BLOCK_ROWS` rows run
//! tree by tree, so a tree's nodes and tables stay in cache while the block's rows pass.

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

/// Most distinct features on one leaf's path for the subset tables: a leaf's table has `2^d`
/// entries of 16 bytes, so 16 caps it at 1 MiB. Deeper leaves use Algorithm 2.
const MAX_TABLE_FEATURES: usize = 16;

/// Table entries (16 bytes each) held at once: 2^22 is 64 MiB. Trees are explained in groups
/// whose tables fit; a single tree whose tables exceed it uses Algorithm 2.
const TABLE_BUDGET: usize = 1 << 22;

/// Rows per block in the tree-outer loop: 64 rows of output and input (30 features: 15 KiB
/// each) stay in L1/L2 alongside one tree's tables.
const BLOCK_ROWS: usize = 64;

/// Which exact algorithm explains the trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// Subset tables where they pay off and fit, Algorithm 2 otherwise (see the module doc).
    Auto,
    /// Algorithm 2 for every tree: the reference the tables are tested against.
    Recursive,
    /// Subset tables for every tree that fits [`MAX_TABLE_FEATURES`] and [`TABLE_BUDGET`],
    /// however few the rows (tests use this to exercise the tables on small inputs).
    #[cfg(test)]
    Tables,
}

/// How one tree is explained within a group.
enum Explainer {
    Tables(TreeTables),
    Recursive,
}

impl LgbmModel {
    /// Path-dependent TreeSHAP values of every row of `x` (in raw-score space).
    ///
    /// # Errors
    /// [`MlError::Shape`] if `x` does not have one column per model feature;
    /// [`MlError::UnsupportedModel`] if a tree has no training counts at its root (cover is
    /// what the algorithm weights by).
    pub fn shap_values(&self, x: &DenseMatrix) -> Result<ShapValues> {
        self.shap_values_with(x, Method::Auto)
    }

    /// The same values as [`LgbmModel::shap_values`] computed with Algorithm 2 for every
    /// tree: the reference implementation, kept for cross-checks and benchmarks. Results
    /// agree with [`LgbmModel::shap_values`] to rounding (about 1e-15 relative).
    ///
    /// # Errors
    /// As [`LgbmModel::shap_values`].
    #[doc(hidden)]
    pub fn shap_values_recursive(&self, x: &DenseMatrix) -> Result<ShapValues> {
        self.shap_values_with(x, Method::Recursive)
    }

    fn shap_values_with(&self, x: &DenseMatrix, method: Method) -> Result<ShapValues> {
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
        if x.rows() > 0 {
            // Trees in order, in groups whose tables fit the budget; a tree whose tables
            // would overflow a non-empty group starts the next one.
            let mut group: Vec<(usize, Explainer)> = Vec::new();
            let mut group_entries = 0;
            for (t, tree) in self.trees.iter().enumerate() {
                if tree.num_leaves <= 1 {
                    // A single leaf is a constant: all of it is in the expected value.
                    continue;
                }
                let explainer = match method {
                    Method::Recursive => Explainer::Recursive,
                    Method::Auto => TreeTables::build(tree, Some(x.rows()))
                        .map_or(Explainer::Recursive, Explainer::Tables),
                    #[cfg(test)]
                    Method::Tables => TreeTables::build(tree, None)
                        .map_or(Explainer::Recursive, Explainer::Tables),
                };
                let entries = match &explainer {
                    Explainer::Tables(tables) => tables.table.len(),
                    Explainer::Recursive => 0,
                };
                if group_entries + entries > TABLE_BUDGET && !group.is_empty() {
                    self.explain_group(x, &group, &mut values, buffer_len);
                    group.clear();
                    group_entries = 0;
                }
                group_entries += entries;
                group.push((t, explainer));
            }
            if !group.is_empty() {
                self.explain_group(x, &group, &mut values, buffer_len);
            }
        }
        if scale != 1.0 {
            values.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(ShapValues {
            rows: x.rows(),
            outputs: k,
            features: f,
            values,
            expected_value,
        })
    }

    /// Adds the SHAP values of the trees in `group` for every row of `x` to `values`.
    fn explain_group(
        &self,
        x: &DenseMatrix,
        group: &[(usize, Explainer)],
        values: &mut [f64],
        buffer_len: usize,
    ) {
        let k = self.num_outputs();
        let f = self.num_features();
        let stride = k * f;
        for_each_row_chunk(values, stride, |first_row, chunk| {
            let mut buffer = vec![PathElement::default(); buffer_len];
            let mut stack = Vec::new();
            for (b, block) in chunk.chunks_mut(BLOCK_ROWS * stride).enumerate() {
                let block_first = first_row + b * BLOCK_ROWS;
                for (t, explainer) in group {
                    let tree = &self.trees[*t];
                    let offset = (t % k) * f;
                    for (j, out) in block.chunks_mut(stride).enumerate() {
                        let row = x.row(block_first + j);
                        let phi = &mut out[offset..offset + f];
                        match explainer {
                            Explainer::Tables(tables) => tables.add(tree, row, phi, &mut stack),
                            Explainer::Recursive => {
                                tree_shap(tree, row, phi, 0, 0, &mut buffer, 0, 1.0, 1.0, -1);
                            }
                        }
                    }
                }
            }
        });
    }
}

/// A tree's subset tables (see the module doc): per leaf and per subset `B` of the leaf's
/// distinct path features, `Qv(B)` and `Z(B)`.
#[derive(Debug)]
struct TreeTables {
    /// Per internal node, how a row's agreement mask changes from the node to its children,
    /// `(hot |= .0, cold &= .1)`. The bit is the feature's position on the node's unique
    /// path. At the path's first split on the feature the row agrees with it below the hot
    /// child: `(bit, !0)`; at a repeated split the cold child loses the agreement: `(0, !bit)`.
    node_bits: Vec<(u32, u32)>,
    /// Per leaf: start of its `2^d` entries in `table`, start of its `d` entries in
    /// `features`/`one_minus_zero`, and `d`.
    leaves: Vec<LeafTables>,
    /// The leaves' distinct path features, in order of first use (bit `j` is `features[j]`).
    features: Vec<usize>,
    /// `1 - z_j` per leaf and distinct feature.
    one_minus_zero: Vec<f64>,
    /// `[Qv(B), Z(B)]` per leaf and subset `B` (as a bitmask over the leaf's features).
    table: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Copy, Default)]
struct LeafTables {
    table: usize,
    features: usize,
    depth: usize,
}

/// State of the walk that builds a tree's tables.
struct TableBuilder<'a> {
    tree: &'a Tree,
    out: TreeTables,
    /// Distinct features on the current path with the product of their cover fractions.
    path: Vec<(usize, f64)>,
    /// Scratch for the elementary symmetric polynomials, one row per subset-walk level.
    polys: Vec<f64>,
}

impl TreeTables {
    /// The tables of `tree` (which has at least one split), or `None` when it should use
    /// Algorithm 2: a leaf with more than [`MAX_TABLE_FEATURES`] distinct path features,
    /// tables beyond [`TABLE_BUDGET`], or, given `rows`, building the tables would cost more
    /// than Algorithm 2 on those rows.
    fn build(tree: &Tree, rows: Option<usize>) -> Option<TreeTables> {
        // First pass: every leaf's number of distinct path features, to decide before
        // allocating anything.
        let depths = leaf_unique_depths(tree)?;
        let mut entries: usize = 0;
        let mut build_work: usize = 0;
        let mut recursive_work: usize = 0;
        for &d in &depths {
            entries += 1 << d;
            build_work += (1 << d) * (d + 1);
            recursive_work += (d + 1) * (d + 1);
        }
        if entries > TABLE_BUDGET {
            return None;
        }
        if let Some(rows) = rows {
            if build_work > rows.saturating_mul(recursive_work) {
                return None;
            }
        }
        let feature_entries: usize = depths.iter().sum();
        let mut builder = TableBuilder {
            tree,
            out: TreeTables {
                node_bits: vec![(0, !0); tree.num_leaves - 1],
                leaves: vec![LeafTables::default(); tree.num_leaves],
                features: Vec::with_capacity(feature_entries),
                one_minus_zero: Vec::with_capacity(feature_entries),
                table: Vec::with_capacity(entries),
            },
            path: Vec::new(),
            polys: vec![0.0; (MAX_TABLE_FEATURES + 1) * (MAX_TABLE_FEATURES + 1)],
        };
        builder.walk(0);
        Some(builder.out)
    }

    /// Adds the SHAP values of `tree` (whose tables these are) for `row` to `phi`.
    /// `stack` is scratch, reused across calls to avoid allocating per row.
    ///
    /// One depth-first walk carries each node's agreement mask down to the leaves. (Filling
    /// a per-node mask array in preorder instead, without the stack, measured slower.)
    #[inline]
    fn add(&self, tree: &Tree, row: &[f64], phi: &mut [f64], stack: &mut Vec<(i32, u32)>) {
        stack.clear();
        stack.push((0, 0));
        while let Some((node, mask)) = stack.pop() {
            if node < 0 {
                self.add_leaf(!node as usize, mask, phi);
                continue;
            }
            let n = node as usize;
            // `decision` handles missing values and categorical sets exactly as prediction.
            let hot = tree.decision(row[tree.split_feature[n]], n);
            let cold = tree.left_child[n] ^ tree.right_child[n] ^ hot;
            let (hot_or, cold_and) = self.node_bits[n];
            stack.push((cold, mask & cold_and));
            stack.push((hot, mask | hot_or));
        }
    }

    #[inline]
    fn add_leaf(&self, leaf: usize, mask: u32, phi: &mut [f64]) {
        let LeafTables {
            table,
            features,
            depth,
        } = self.leaves[leaf];
        let table = &self.table[table..table + (1 << depth)];
        let feats = &self.features[features..features + depth];
        let one_minus_zero = &self.one_minus_zero[features..features + depth];
        let mask = mask as usize;
        let [qv, z] = table[mask];
        let disagree = -qv * z;
        for (j, (&feature, &omz)) in feats.iter().zip(one_minus_zero).enumerate() {
            let bit = 1 << j;
            phi[feature] += if mask & bit != 0 {
                omz * z * table[mask ^ bit][0]
            } else {
                disagree
            };
        }
    }
}

/// Every leaf's number of distinct features on its root path, or `None` as soon as one
/// exceeds [`MAX_TABLE_FEATURES`].
fn leaf_unique_depths(tree: &Tree) -> Option<Vec<usize>> {
    let mut depths = vec![0; tree.num_leaves];
    // Depth-first with an explicit stack of (node, distinct features on the path above it);
    // `path` holds those features for the node being visited.
    let mut path: Vec<usize> = Vec::new();
    let mut stack: Vec<(i32, usize)> = vec![(0, 0)];
    while let Some((node, len)) = stack.pop() {
        // `len` is the path length at the parent plus what the parent's split added; the
        // feature stack is truncated to it since the DFS left another branch.
        path.truncate(len);
        if node < 0 {
            depths[!node as usize] = len;
            continue;
        }
        let n = node as usize;
        let feature = tree.split_feature[n];
        let mut len = len;
        if !path.contains(&feature) {
            if len == MAX_TABLE_FEATURES {
                return None;
            }
            path.push(feature);
            len += 1;
        }
        stack.push((tree.left_child[n], len));
        stack.push((tree.right_child[n], len));
    }
    Some(depths)
}

impl TableBuilder<'_> {
    /// Depth-first over the tree, keeping the distinct path features and their fractions.
    /// Recursion depth is the tree depth, as in Algorithm 2; the structure check in the
    /// parser guarantees it terminates.
    fn walk(&mut self, node: i32) {
        if node < 0 {
            self.leaf(!node as usize);
            return;
        }
        let tree = self.tree;
        let n = node as usize;
        let feature = tree.split_feature[n];
        let w = tree.count(node);
        let position = self.path.iter().position(|&(f, _)| f == feature);
        let first = position.is_none();
        let bit = position.unwrap_or(self.path.len());
        self.out.node_bits[n] = if first {
            (1 << bit, !0)
        } else {
            (0, !(1 << bit))
        };
        for child in [tree.left_child[n], tree.right_child[n]] {
            // Same fraction and product order as Algorithm 2, so `z` is bitwise the same.
            let fraction = tree.count(child) / w;
            if first {
                self.path.push((feature, fraction));
                self.walk(child);
                self.path.pop();
            } else {
                let before = self.path[bit].1;
                self.path[bit].1 = fraction * before;
                self.walk(child);
                self.path[bit].1 = before;
            }
        }
    }

    fn leaf(&mut self, leaf: usize) {
        let d = self.path.len();
        let start = self.out.table.len();
        self.out.leaves[leaf] = LeafTables {
            table: start,
            features: self.out.features.len(),
            depth: d,
        };
        for &(feature, zero) in &self.path {
            self.out.features.push(feature);
            self.out.one_minus_zero.push(1.0 - zero);
        }
        // Shapley weights w(s) = s! (d-s-1)! / d! for coalitions of s of the other d-1
        // features, by the ratio w(s+1)/w(s) = (s+1)/(d-1-s).
        let mut weights = vec![0.0; d];
        if d > 0 {
            weights[0] = 1.0 / d as f64;
            for s in 1..d {
                weights[s] = weights[s - 1] * s as f64 / (d - s) as f64;
            }
        }
        let z: Vec<f64> = self.path.iter().map(|&(_, zero)| zero).collect();
        let v = self.tree.leaf_value[leaf];
        self.out.table.resize(start + (1 << d), [0.0; 2]);
        self.polys[0] = 1.0;
        fill_subsets(
            &z,
            &weights,
            v,
            0,
            0,
            0,
            1.0,
            &mut self.polys,
            &mut self.out.table[start..],
        );
    }
}

/// Fills `table[T] = [v Q(T), Z(T)]` for every subset `T` of the leaf's `d = z.len()`
/// features by deciding bit `j` at recursion level `j`. Level `j`'s row of `polys` holds
/// the elementary symmetric polynomials `e_0..=e_count` of the `z`s in `mask` (bits below
/// `j`), so `Q(T) = Σ_k w(|T| - k) e_k(z_T)`; `zc` is the product of the excluded `z`s.
/// O(2^d d) for the whole table.
#[allow(clippy::too_many_arguments)]
fn fill_subsets(
    z: &[f64],
    weights: &[f64],
    v: f64,
    j: usize,
    mask: usize,
    count: usize,
    zc: f64,
    polys: &mut [f64],
    table: &mut [[f64; 2]],
) {
    let d = z.len();
    let stride = MAX_TABLE_FEATURES + 1;
    let here = j * stride;
    if j == d {
        // Q(U) is never read: it would be the coalition of all d features besides one.
        let q = if count < d {
            (0..=count)
                .map(|k| weights[count - k] * polys[here + k])
                .sum::<f64>()
        } else {
            0.0
        };
        table[mask] = [v * q, zc];
        return;
    }
    let next = here + stride;
    // Feature j outside T: same polynomial, its z joins the complement product.
    polys.copy_within(here..here + count + 1, next);
    fill_subsets(z, weights, v, j + 1, mask, count, zc * z[j], polys, table);
    // Feature j in T: multiply the polynomial by (1 + z_j x).
    let zj = z[j];
    polys[next] = polys[here];
    for i in 1..=count {
        polys[next + i] = polys[here + i] + zj * polys[here + i - 1];
    }
    polys[next + count + 1] = zj * polys[here + count];
    fill_subsets(
        z,
        weights,
        v,
        j + 1,
        mask | (1 << j),
        count + 1,
        zc,
        polys,
        table,
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64: deterministic test data without a dependency on `rand`'s stream stability.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// Uniform in [-1, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        }
    }

    /// How a random tree is shaped.
    #[derive(Clone, Copy)]
    struct Shape {
        leaves: usize,
        /// Split only the newest leaf: a chain of depth `leaves - 1`.
        chain: bool,
        /// Features `0..features` are candidates; few features mean repeats along paths.
        features: usize,
        /// Features below this index split categorically.
        categorical: usize,
        /// Node `i` splits on feature `i % features` instead of a random one: a chain then
        /// has `min(depth, features)` distinct features on its deepest path.
        distinct: bool,
    }

    /// One `Tree=` block of LightGBM text for a random tree of `shape`.
    fn tree_text(rng: &mut Rng, index: usize, shape: Shape) -> String {
        let n = shape.leaves - 1;
        let mut feature = Vec::new();
        let mut threshold = Vec::new();
        let mut decision = Vec::new();
        let mut left: Vec<i32> = Vec::new();
        let mut right: Vec<i32> = Vec::new();
        // Where each leaf hangs: (parent node, is left child); the first leaf is the root.
        let mut hang: Vec<Option<(usize, bool)>> = vec![None];
        let mut cat_words: Vec<u32> = Vec::new();
        for node in 0..n {
            let leaf = if shape.chain {
                hang.len() - 1
            } else {
                rng.below(hang.len())
            };
            let new_leaf = hang.len();
            if let Some((parent, is_left)) = hang[leaf] {
                if is_left {
                    left[parent] = node as i32;
                } else {
                    right[parent] = node as i32;
                }
            }
            // Alternate which side continues, so chains go left and right.
            if rng.below(2) == 0 {
                left.push(!(leaf as i32));
                right.push(!(new_leaf as i32));
                hang[leaf] = Some((node, true));
                hang.push(Some((node, false)));
            } else {
                left.push(!(new_leaf as i32));
                right.push(!(leaf as i32));
                hang[leaf] = Some((node, false));
                hang.push(Some((node, true)));
            }
            let f = if shape.distinct {
                node % shape.features
            } else {
                rng.below(shape.features)
            };
            feature.push(f);
            if f < shape.categorical {
                threshold.push(cat_words.len() as f64);
                cat_words.push(rng.next() as u32);
                decision.push(1u8);
            } else {
                threshold.push((rng.unit() * 1000.0).round() / 1000.0);
                // Missing type None, Zero or NaN (bits 2-3), default left at random (bit 1).
                decision.push(((rng.below(3) as u8) << 2) | ((rng.below(2) as u8) << 1));
            }
        }
        let leaf_count: Vec<f64> = (0..shape.leaves)
            .map(|_| (1 + rng.below(100)) as f64)
            .collect();
        let mut internal_count = vec![0.0; n];
        fn cover(c: i32, l: &[i32], r: &[i32], leaf: &[f64], out: &mut [f64]) -> f64 {
            if c < 0 {
                return leaf[!c as usize];
            }
            let total =
                cover(l[c as usize], l, r, leaf, out) + cover(r[c as usize], l, r, leaf, out);
            out[c as usize] = total;
            total
        }
        if n > 0 {
            cover(0, &left, &right, &leaf_count, &mut internal_count);
        }
        let join = |v: Vec<String>| v.join(" ");
        let leaf_value: Vec<String> = (0..shape.leaves).map(|_| rng.unit().to_string()).collect();
        let mut text = format!(
            "Tree={index}\nnum_leaves={}\nnum_cat={}\nsplit_feature={}\nthreshold={}\ndecision_type={}\nleft_child={}\nright_child={}\nleaf_value={}\nleaf_count={}\ninternal_count={}\n",
            shape.leaves,
            cat_words.len(),
            join(feature.iter().map(ToString::to_string).collect()),
            join(threshold.iter().map(ToString::to_string).collect()),
            join(decision.iter().map(ToString::to_string).collect()),
            join(left.iter().map(ToString::to_string).collect()),
            join(right.iter().map(ToString::to_string).collect()),
            join(leaf_value),
            join(leaf_count.iter().map(ToString::to_string).collect()),
            join(internal_count.iter().map(ToString::to_string).collect()),
        );
        if !cat_words.is_empty() {
            text += &format!(
                "cat_boundaries={}\ncat_threshold={}\n",
                join((0..=cat_words.len()).map(|i| i.to_string()).collect()),
                join(cat_words.iter().map(ToString::to_string).collect()),
            );
        }
        text + "shrinkage=1\n\n"
    }

    /// A model of `iterations x outputs` random trees of the given shapes (cycled).
    fn model(
        rng: &mut Rng,
        num_features: usize,
        outputs: usize,
        iterations: usize,
        shapes: &[Shape],
        average_output: bool,
    ) -> LgbmModel {
        let names: Vec<String> = (0..num_features).map(|i| format!("f{i}")).collect();
        let mut text = format!(
            "tree\nversion=v4\nnum_class={outputs}\nnum_tree_per_iteration={outputs}\nlabel_index=0\nmax_feature_idx={}\nfeature_names={}\n{}\n",
            num_features - 1,
            names.join(" "),
            if average_output { "average_output\n" } else { "" },
        );
        for t in 0..iterations * outputs {
            text += &tree_text(rng, t, shapes[t % shapes.len()]);
        }
        text += "end of trees\n";
        LgbmModel::from_text(&text, "random").expect("generated model parses")
    }

    /// Rows with NaN, exact zeros, tiny values and integer category codes (some negative or
    /// beyond the bitsets) mixed in, so every decision rule is exercised.
    fn rows(rng: &mut Rng, n: usize, num_features: usize) -> DenseMatrix {
        let data = (0..n * num_features)
            .map(|_| match rng.below(10) {
                0 => f64::NAN,
                1 => 0.0,
                2 => 1e-40,
                3 => rng.below(40) as f64 - 3.0,
                _ => (rng.unit() * 1000.0).round() / 1000.0,
            })
            .collect();
        DenseMatrix::new(n, num_features, data).expect("rows")
    }

    fn max_difference(a: &ShapValues, b: &ShapValues) -> f64 {
        assert_eq!(
            (a.rows(), a.outputs(), a.features()),
            (b.rows(), b.outputs(), b.features())
        );
        a.values
            .iter()
            .zip(&b.values)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// Tables (forced, whatever the row count) against Algorithm 2, plus additivity.
    fn check(model: &LgbmModel, x: &DenseMatrix) {
        let tables = model.shap_values_with(x, Method::Tables).expect("tables");
        let reference = model
            .shap_values_with(x, Method::Recursive)
            .expect("recursive");
        let auto = model.shap_values(x).expect("auto");
        let diff = max_difference(&tables, &reference);
        assert!(diff <= 1e-12, "tables differ from Algorithm 2 by {diff:e}");
        let diff = max_difference(&auto, &reference);
        assert!(diff <= 1e-12, "auto differs from Algorithm 2 by {diff:e}");
        let raw = model.predict_raw(x).expect("raw");
        for r in 0..x.rows() {
            for k in 0..model.num_outputs() {
                let sum: f64 = tables.expected_value()[k] + tables.row(r, k).iter().sum::<f64>();
                let want = raw.get(r, k);
                assert!((sum - want).abs() <= 1e-9, "row {r}: {sum} vs raw {want}");
            }
        }
    }

    fn uses_tables(tree: &Tree) -> bool {
        TreeTables::build(tree, None).is_some()
    }

    #[test]
    fn tables_match_algorithm_2_on_random_trees() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let shapes = [
            Shape {
                leaves: 31,
                chain: false,
                features: 8,
                categorical: 0,
                distinct: false,
            },
            Shape {
                leaves: 12,
                chain: false,
                features: 3,
                categorical: 0,
                distinct: false,
            },
            Shape {
                leaves: 2,
                chain: false,
                features: 8,
                categorical: 0,
                distinct: false,
            },
            Shape {
                leaves: 1,
                chain: false,
                features: 8,
                categorical: 0,
                distinct: false,
            },
        ];
        let model = model(&mut rng, 8, 1, 12, &shapes, false);
        assert!(model
            .trees()
            .iter()
            .filter(|t| t.num_leaves > 1)
            .all(uses_tables));
        check(&model, &rows(&mut rng, 300, 8));
    }

    #[test]
    fn tables_match_algorithm_2_with_categorical_splits_and_nan() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let shapes = [
            Shape {
                leaves: 20,
                chain: false,
                features: 6,
                categorical: 3,
                distinct: false,
            },
            Shape {
                leaves: 9,
                chain: true,
                features: 4,
                categorical: 2,
                distinct: false,
            },
        ];
        let model = model(&mut rng, 6, 1, 10, &shapes, false);
        assert!(model.trees().iter().any(|t| t.cat_threshold.len() > 1));
        check(&model, &rows(&mut rng, 300, 6));
    }

    #[test]
    fn tables_match_algorithm_2_for_multiclass_and_averaged_output() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let shapes = [
            Shape {
                leaves: 15,
                chain: false,
                features: 5,
                categorical: 1,
                distinct: false,
            },
            Shape {
                leaves: 7,
                chain: true,
                features: 5,
                categorical: 0,
                distinct: false,
            },
            Shape {
                leaves: 31,
                chain: false,
                features: 5,
                categorical: 2,
                distinct: false,
            },
        ];
        let multiclass = model(&mut rng, 5, 3, 4, &shapes, false);
        check(&multiclass, &rows(&mut rng, 200, 5));
        let forest = model(&mut rng, 5, 1, 6, &shapes, true);
        check(&forest, &rows(&mut rng, 200, 5));
    }

    /// Depth 24 over 5 features: every feature is split on many times along each path.
    #[test]
    fn tables_match_algorithm_2_on_deep_trees_with_repeated_features() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let shapes = [
            Shape {
                leaves: 25,
                chain: true,
                features: 5,
                categorical: 1,
                distinct: false,
            },
            Shape {
                leaves: 25,
                chain: true,
                features: 2,
                categorical: 0,
                distinct: false,
            },
        ];
        let model = model(&mut rng, 5, 1, 4, &shapes, false);
        for tree in model.trees() {
            assert_eq!(tree.max_depth, 24);
            assert!(uses_tables(tree));
        }
        check(&model, &rows(&mut rng, 300, 5));
    }

    /// Depth 17 over 40 features: paths of up to 16 distinct features use tables of 2^16
    /// entries; longer ones fall back to Algorithm 2. Both must agree with it.
    #[test]
    fn deep_trees_with_many_distinct_features_use_tables_up_to_the_bound() {
        let mut rng = Rng(0x5851_f42d_4c95_7f2d);
        let shapes = [
            Shape {
                leaves: 17,
                chain: true,
                features: 40,
                categorical: 4,
                distinct: true,
            },
            Shape {
                leaves: 18,
                chain: true,
                features: 40,
                categorical: 4,
                distinct: true,
            },
            Shape {
                leaves: 20,
                chain: true,
                features: 40,
                categorical: 4,
                distinct: false,
            },
        ];
        let model = model(&mut rng, 40, 1, 6, &shapes, false);
        for (t, tree) in model.trees().iter().enumerate() {
            assert!(tree.max_depth >= 16);
            let deepest = leaf_unique_depths(tree).map(|d| d.into_iter().max().unwrap_or(0));
            match t % 3 {
                0 => assert_eq!(deepest, Some(MAX_TABLE_FEATURES)),
                1 => assert_eq!(deepest, None),
                _ => {}
            }
            assert_eq!(uses_tables(tree), deepest.is_some());
        }
        check(&model, &rows(&mut rng, 100, 40));
    }

    /// Few rows do not pay for a deep tree's tables; many rows do.
    #[test]
    fn tables_are_built_only_when_they_pay_off() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let shapes = [Shape {
            leaves: 16,
            chain: true,
            features: 15,
            categorical: 0,
            distinct: true,
        }];
        let model = model(&mut rng, 15, 1, 1, &shapes, false);
        let tree = &model.trees()[0];
        assert!(TreeTables::build(tree, Some(1)).is_none());
        assert!(TreeTables::build(tree, Some(1_000_000)).is_some());
    }

    /// Group boundaries: more trees than fit one table budget are explained group by group.
    #[test]
    fn trees_beyond_the_table_budget_are_explained_in_groups() {
        let mut rng = Rng(0x0f0f_0f0f_1234_4321);
        // Chains with 16 distinct features: about 3 x 2^16 entries per tree, so 25 trees
        // need more than one group of 2^22 entries.
        let shapes = [Shape {
            leaves: 17,
            chain: true,
            features: 16,
            categorical: 0,
            distinct: true,
        }];
        let model = model(&mut rng, 16, 1, 25, &shapes, false);
        let entries: usize = model
            .trees()
            .iter()
            .filter_map(|t| TreeTables::build(t, None))
            .map(|t| t.table.len())
            .sum();
        assert!(entries > TABLE_BUDGET, "{entries} entries fit one group");
        check(&model, &rows(&mut rng, 20, 16));
    }

    /// The reference fixtures (explained through the public API in `tests/shap.rs`) run on
    /// the tables: every tree of every fixture model gets them for the fixture's rows.
    #[test]
    fn fixture_models_are_explained_with_tables() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut models = 0;
        for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
            let path = entry.expect("entry").path().join("model.txt");
            if !path.exists() {
                continue;
            }
            let model = LgbmModel::from_file(&path).expect("fixture parses");
            let expected = std::fs::read_to_string(path.with_file_name("expected.json"))
                .expect("expected.json");
            let expected: serde_json::Value = serde_json::from_str(&expected).expect("json");
            let rows = expected["rows"].as_array().map_or(0, Vec::len);
            assert!(rows > 0);
            for tree in model.trees().iter().filter(|t| t.num_leaves > 1) {
                assert!(
                    TreeTables::build(tree, Some(rows)).is_some(),
                    "{}",
                    path.display()
                );
            }
            models += 1;
        }
        assert_eq!(models, 5);
    }
}
