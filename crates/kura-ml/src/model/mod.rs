//! A LightGBM model as read from its text format (`model.txt`, format v3/v4).
//!
//! The parsed form holds exactly what prediction and TreeSHAP need (splits, thresholds, decision
//! types, children, leaf values, node counts, categorical bitsets) plus every original line, so
//! [`LgbmModel::to_text`] writes back the file LightGBM wrote, byte for byte, including the
//! parameters and feature importances this crate does not interpret. Nothing can mutate a
//! parsed model, so the typed fields and the retained text cannot drift apart.

mod objective;
mod parse;
mod write;

pub use objective::Objective;

/// How LightGBM routes missing values at a numerical split (bits 2-3 of `decision_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingType {
    /// No missing values in training: NaN is treated as 0.0 and compared with the threshold.
    None,
    /// Zero (|x| <= 1e-35) and NaN go to the default child.
    Zero,
    /// NaN goes to the default child; zero is compared as usual.
    NaN,
}

/// What `feature_infos` says about one feature in training.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureInfo {
    /// `none`: the feature was unused (constant or dropped) in training.
    Unused,
    /// `[min:max]`: a numerical feature and its training range.
    Numeric { min: f64, max: f64 },
    /// `c1:c2:...`: a categorical feature and the integer codes seen in training.
    Categorical(Vec<i64>),
}

/// One regression tree of the ensemble.
///
/// Node `i` (`0 <= i < num_leaves - 1`) is internal; a child `c < 0` is leaf `!c` (`~c` in C++).
#[derive(Debug, Clone)]
pub struct Tree {
    pub(crate) num_leaves: usize,
    pub(crate) split_feature: Vec<usize>,
    pub(crate) threshold: Vec<f64>,
    pub(crate) decision_type: Vec<u8>,
    pub(crate) left_child: Vec<i32>,
    pub(crate) right_child: Vec<i32>,
    pub(crate) leaf_value: Vec<f64>,
    pub(crate) leaf_count: Vec<f64>,
    pub(crate) internal_count: Vec<f64>,
    pub(crate) cat_boundaries: Vec<usize>,
    pub(crate) cat_threshold: Vec<u32>,
    pub(crate) shrinkage: f64,
    /// Longest root-to-leaf path (edges); sizes the TreeSHAP path buffer.
    pub(crate) max_depth: usize,
    /// The block's `key=value` lines in file order, for byte-exact export.
    pub(crate) raw: Vec<(String, String)>,
}

pub(crate) const CATEGORICAL_MASK: u8 = 1;
pub(crate) const DEFAULT_LEFT_MASK: u8 = 2;
/// LightGBM's `kZeroThreshold`: values this close to zero count as zero.
const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

impl Tree {
    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        self.num_leaves
    }

    /// Leaf values (shrinkage already applied, as LightGBM stores them).
    pub fn leaf_values(&self) -> &[f64] {
        &self.leaf_value
    }

    /// The shrinkage (learning rate) recorded for this tree.
    pub fn shrinkage(&self) -> f64 {
        self.shrinkage
    }

    /// Missing-value handling at internal node `node`.
    pub fn missing_type(&self, node: usize) -> MissingType {
        match (self.decision_type[node] >> 2) & 3 {
            1 => MissingType::Zero,
            2 => MissingType::NaN,
            _ => MissingType::None,
        }
    }

    /// Whether internal node `node` is a categorical split.
    pub fn is_categorical(&self, node: usize) -> bool {
        self.decision_type[node] & CATEGORICAL_MASK != 0
    }

    /// Cover of a node (child index convention): the training rows that reached it.
    #[inline]
    pub(crate) fn count(&self, child: i32) -> f64 {
        if child >= 0 {
            self.internal_count[child as usize]
        } else {
            self.leaf_count[!child as usize]
        }
    }

    /// The child `fval` goes to at internal node `node`: LightGBM's `Tree::Decision`.
    #[inline]
    pub(crate) fn decision(&self, fval: f64, node: usize) -> i32 {
        if self.decision_type[node] & CATEGORICAL_MASK != 0 {
            self.categorical_decision(fval, node)
        } else {
            self.numerical_decision(fval, node)
        }
    }

    #[inline]
    fn numerical_decision(&self, mut fval: f64, node: usize) -> i32 {
        let missing = self.missing_type(node);
        if fval.is_nan() && missing != MissingType::NaN {
            fval = 0.0;
        }
        let is_missing = match missing {
            MissingType::Zero => (-ZERO_THRESHOLD..=ZERO_THRESHOLD).contains(&fval),
            MissingType::NaN => fval.is_nan(),
            MissingType::None => false,
        };
        if is_missing {
            if self.decision_type[node] & DEFAULT_LEFT_MASK != 0 {
                self.left_child[node]
            } else {
                self.right_child[node]
            }
        } else if fval <= self.threshold[node] {
            self.left_child[node]
        } else {
            self.right_child[node]
        }
    }

    /// Categorical split. LightGBM casts the value with `static_cast<int>`: NaN and values out
    /// of `int` range become `INT_MIN` on x86-64 and so go right like negatives; fractions
    /// truncate toward zero. This mirrors that, so predictions match the reference exactly.
    #[inline]
    fn categorical_decision(&self, fval: f64, node: usize) -> i32 {
        if fval.is_nan() || fval <= -2_147_483_649.0 || fval >= 2_147_483_648.0 {
            return self.right_child[node];
        }
        let code = fval.trunc() as i64;
        if code < 0 {
            return self.right_child[node];
        }
        let cat_idx = self.threshold[node] as usize;
        let (lo, hi) = (
            self.cat_boundaries[cat_idx],
            self.cat_boundaries[cat_idx + 1],
        );
        let word = (code / 32) as usize;
        if word >= hi - lo {
            return self.right_child[node];
        }
        if (self.cat_threshold[lo + word] >> (code % 32) as u32) & 1 == 1 {
            self.left_child[node]
        } else {
            self.right_child[node]
        }
    }

    /// Raw output of this tree for one row of feature values.
    #[inline]
    pub fn predict(&self, row: &[f64]) -> f64 {
        if self.num_leaves <= 1 {
            return self.leaf_value[0];
        }
        let mut node: i32 = 0;
        while node >= 0 {
            let n = node as usize;
            node = self.decision(row[self.split_feature[n]], n);
        }
        self.leaf_value[!node as usize]
    }

    /// Cover-weighted mean of the leaf values: the tree's expected output over the training
    /// data, computed in LightGBM's order so it matches `pred_contrib`'s bias column.
    pub fn expected_value(&self) -> f64 {
        if self.num_leaves <= 1 {
            return self.leaf_value[0];
        }
        let total = self.internal_count[0];
        let mut value = 0.0;
        for (count, leaf) in self.leaf_count.iter().zip(&self.leaf_value) {
            value += (count / total) * leaf;
        }
        value
    }
}

/// A parsed LightGBM text model.
#[derive(Debug, Clone)]
pub struct LgbmModel {
    pub(crate) source_name: String,
    pub(crate) header: Vec<String>,
    pub(crate) num_class: usize,
    pub(crate) num_tree_per_iteration: usize,
    pub(crate) max_feature_idx: usize,
    pub(crate) objective: Objective,
    pub(crate) average_output: bool,
    pub(crate) feature_names: Vec<String>,
    pub(crate) feature_infos: Vec<FeatureInfo>,
    pub(crate) trees: Vec<Tree>,
    /// Everything after `end of trees`, verbatim (importances, parameters, pandas categories).
    pub(crate) trailer: String,
    pub(crate) pandas_categorical: Option<Vec<Vec<serde_json::Value>>>,
}

impl LgbmModel {
    /// Number of input features (`max_feature_idx + 1`).
    pub fn num_features(&self) -> usize {
        self.max_feature_idx + 1
    }

    /// Outputs per row: 1, or the number of classes for multiclass models.
    pub fn num_outputs(&self) -> usize {
        self.num_tree_per_iteration
    }

    /// `num_class` from the header.
    pub fn num_class(&self) -> usize {
        self.num_class
    }

    /// Boosting iterations (trees per output).
    pub fn num_iterations(&self) -> usize {
        self.trees.len() / self.num_tree_per_iteration
    }

    /// Feature names in model order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Per-feature training information (`feature_infos`).
    pub fn feature_infos(&self) -> &[FeatureInfo] {
        &self.feature_infos
    }

    /// The objective, which fixes how raw scores become predictions.
    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// All trees; tree `i` contributes to output `i % num_outputs()`.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Category values per categorical feature when the model was trained from pandas
    /// `category` columns (the `pandas_categorical:` line); code `i` is the `i`-th value.
    pub fn pandas_categorical(&self) -> Option<&[Vec<serde_json::Value>]> {
        self.pandas_categorical.as_deref()
    }

    /// Whether the raw scores are averaged over iterations (random forest mode).
    pub fn average_output(&self) -> bool {
        self.average_output
    }

    /// Where the model was read from (a path, or a name given by the caller).
    pub fn source_name(&self) -> &str {
        &self.source_name
    }
}
