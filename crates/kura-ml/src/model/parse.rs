//! Reading the LightGBM text format.
//!
//! The reader checks everything prediction and TreeSHAP rely on (array lengths, child indices,
//! that the nodes form one tree, feature indices, categorical bitset bounds) so a corrupt or
//! truncated file fails here with the offending line, and the hot loops can index without
//! checks. It never panics on input: every lookup goes through a typed error.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use super::{FeatureInfo, LgbmModel, Objective, Tree, CATEGORICAL_MASK};
use crate::error::{MlError, Result};

/// Line-numbered access to one `key=value` section (the header or a tree block).
struct Section<'a> {
    source: &'a str,
    /// Line where the section starts, for errors about keys that are absent.
    start_line: usize,
    what: String,
    entries: HashMap<&'a str, (usize, &'a str)>,
}

impl<'a> Section<'a> {
    fn err(&self, line: usize, message: impl Into<String>) -> MlError {
        MlError::ModelSyntax {
            source_name: self.source.to_string(),
            line,
            message: message.into(),
        }
    }

    fn get(&self, key: &str) -> Option<(usize, &'a str)> {
        self.entries.get(key).copied()
    }

    fn require(&self, key: &str) -> Result<(usize, &'a str)> {
        self.get(key).ok_or_else(|| {
            self.err(
                self.start_line,
                format!("{} has no `{key}=` line", self.what),
            )
        })
    }

    fn scalar<T: FromStr>(&self, key: &str) -> Result<T> {
        let (line, value) = self.require(key)?;
        value.trim().parse().map_err(|_| {
            self.err(
                line,
                format!("`{key}` should be a number, found `{}`", value.trim()),
            )
        })
    }

    fn vector<T: FromStr>(&self, key: &str, expected_len: usize) -> Result<Vec<T>> {
        let (line, value) = self.require(key)?;
        let mut out = Vec::with_capacity(expected_len);
        for (i, tok) in value.split_whitespace().enumerate() {
            out.push(tok.parse().map_err(|_| {
                self.err(
                    line,
                    format!("`{key}` value {} is not a valid number: `{tok}`", i + 1),
                )
            })?);
        }
        if out.len() != expected_len {
            return Err(self.err(
                line,
                format!(
                    "`{key}` has {} values, {} expected from num_leaves",
                    out.len(),
                    expected_len
                ),
            ));
        }
        Ok(out)
    }
}

/// Splits `key=value`; lines without `=` (such as `average_output`) map to an empty value.
fn split_kv(line: &str) -> (&str, &str) {
    match line.split_once('=') {
        Some((k, v)) => (k, v),
        None => (line, ""),
    }
}

impl LgbmModel {
    /// Reads a model file written by LightGBM (`Booster.save_model`, `model.txt`).
    ///
    /// # Errors
    /// [`MlError::Io`] if the file cannot be read, otherwise as [`LgbmModel::from_text`].
    pub fn from_file(path: &Path) -> Result<LgbmModel> {
        let text = std::fs::read_to_string(path).map_err(|source| MlError::Io {
            action: "read model file",
            path: path.display().to_string(),
            source,
        })?;
        LgbmModel::from_text(&text, &path.display().to_string())
    }

    /// Parses the text of a LightGBM model; `source_name` (a path or a model name) is used
    /// in error messages.
    ///
    /// # Errors
    /// [`MlError::ModelSyntax`] naming the line for a malformed or truncated model,
    /// [`MlError::UnsupportedModel`] for linear trees or an unknown objective.
    pub fn from_text(text: &str, source_name: &str) -> Result<LgbmModel> {
        let lines: Vec<&str> = text.split('\n').collect();
        let syntax = |line: usize, message: String| MlError::ModelSyntax {
            source_name: source_name.to_string(),
            line,
            message,
        };
        // `text.split('\n')` yields a final "" after the last newline; keep line numbers 1-based.
        let mut i = 0;
        while i < lines.len() && lines[i].trim().is_empty() {
            i += 1;
        }
        if i >= lines.len() {
            return Err(syntax(1, "the model file is empty".into()));
        }
        if lines[i].trim_end_matches('\r') != "tree" {
            return Err(syntax(
                i + 1,
                format!(
                    "expected `tree` as the first line of a LightGBM text model, found `{}`",
                    truncate(lines[i])
                ),
            ));
        }

        // Header: up to the first `Tree=` line.
        let header_start = i;
        let mut header = Section {
            source: source_name,
            start_line: i + 1,
            what: "the model header".into(),
            entries: HashMap::new(),
        };
        while i < lines.len() && !lines[i].starts_with("Tree=") && lines[i] != "end of trees" {
            let l = lines[i].trim_end_matches('\r');
            if !l.is_empty() {
                let (k, v) = split_kv(l);
                header.entries.insert(k, (i + 1, v));
            }
            i += 1;
        }
        let header_lines: Vec<String> = lines[header_start..i]
            .iter()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        if i >= lines.len() {
            return Err(syntax(
                lines.len(),
                "the file ends inside the header: no `Tree=` block and no `end of trees`".into(),
            ));
        }

        let num_class: usize = header.scalar("num_class")?;
        let num_tree_per_iteration: usize = header.scalar("num_tree_per_iteration")?;
        let max_feature_idx: usize = header.scalar("max_feature_idx")?;
        if num_tree_per_iteration == 0 {
            let (line, _) = header.require("num_tree_per_iteration")?;
            return Err(syntax(line, "num_tree_per_iteration is 0".into()));
        }
        let num_features = max_feature_idx + 1;
        let (names_line, names) = header.require("feature_names")?;
        let feature_names: Vec<String> = names.split_whitespace().map(str::to_string).collect();
        if feature_names.len() != num_features {
            return Err(syntax(
                names_line,
                format!(
                    "feature_names has {} names but max_feature_idx={} means {}",
                    feature_names.len(),
                    max_feature_idx,
                    num_features
                ),
            ));
        }
        let feature_infos = match header.get("feature_infos") {
            Some((line, v)) => {
                let infos = v
                    .split_whitespace()
                    .map(parse_feature_info)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| syntax(line, "feature_infos has an unreadable entry".into()))?;
                if infos.len() != num_features {
                    return Err(syntax(
                        line,
                        format!(
                            "feature_infos has {} entries, {} expected",
                            infos.len(),
                            num_features
                        ),
                    ));
                }
                infos
            }
            None => vec![FeatureInfo::Unused; num_features],
        };
        let objective = match header.get("objective") {
            None => Objective::Custom,
            Some((_, v)) => Objective::parse(v).ok_or_else(|| MlError::UnsupportedModel {
                source_name: source_name.to_string(),
                what: format!("objective `{}`", v.trim()),
                hint: "predict raw scores only, or retrain with a built-in LightGBM objective"
                    .into(),
            })?,
        };
        let average_output = header.get("average_output").is_some();
        let tree_sizes: Option<(usize, usize)> = header
            .get("tree_sizes")
            .map(|(line, v)| (line, v.split_whitespace().count()));

        // Tree blocks.
        let mut trees = Vec::new();
        loop {
            while i < lines.len() && lines[i].trim().is_empty() {
                i += 1;
            }
            if i >= lines.len() {
                return Err(syntax(
                    lines.len(),
                    format!(
                        "the file ends after {} trees without `end of trees`: it is truncated",
                        trees.len()
                    ),
                ));
            }
            let l = lines[i].trim_end_matches('\r');
            if l == "end of trees" {
                i += 1;
                break;
            }
            let Some(index) = l.strip_prefix("Tree=") else {
                return Err(syntax(
                    i + 1,
                    format!(
                        "expected `Tree=N` or `end of trees`, found `{}`",
                        truncate(l)
                    ),
                ));
            };
            if index.trim().parse::<usize>().ok() != Some(trees.len()) {
                return Err(syntax(
                    i + 1,
                    format!("expected `Tree={}`, found `{}`", trees.len(), truncate(l)),
                ));
            }
            let block_line = i + 1;
            i += 1;
            let mut section = Section {
                source: source_name,
                start_line: block_line,
                what: format!("Tree={}", trees.len()),
                entries: HashMap::new(),
            };
            let mut raw = Vec::new();
            while i < lines.len() && !lines[i].trim().is_empty() {
                let l = lines[i].trim_end_matches('\r');
                if l.starts_with("Tree=") || l == "end of trees" {
                    break;
                }
                let (k, v) = split_kv(l);
                if section.entries.insert(k, (i + 1, v)).is_some() {
                    return Err(syntax(i + 1, format!("`{k}` appears twice in this tree")));
                }
                raw.push((k.to_string(), v.to_string()));
                i += 1;
            }
            trees.push(parse_tree(&section, raw, num_features)?);
        }

        if trees.len() % num_tree_per_iteration != 0 {
            return Err(syntax(
                i,
                format!(
                    "{} trees is not a multiple of num_tree_per_iteration={}: trees are missing",
                    trees.len(),
                    num_tree_per_iteration
                ),
            ));
        }
        if let Some((line, n)) = tree_sizes {
            if n != trees.len() {
                return Err(syntax(
                    line,
                    format!(
                        "tree_sizes lists {n} trees but the file holds {}: it is truncated or edited",
                        trees.len()
                    ),
                ));
            }
        }

        let trailer = lines[i.min(lines.len())..].join("\n");
        let mut pandas_categorical = None;
        for (off, l) in lines[i.min(lines.len())..].iter().enumerate() {
            if let Some(v) = l.trim_end_matches('\r').strip_prefix("pandas_categorical:") {
                if v.trim() != "null" {
                    let parsed: Vec<Vec<serde_json::Value>> =
                        serde_json::from_str(v).map_err(|e| {
                            syntax(i + off + 1, format!("pandas_categorical is not valid: {e}"))
                        })?;
                    pandas_categorical = Some(parsed);
                }
            }
        }

        Ok(LgbmModel {
            source_name: source_name.to_string(),
            header: header_lines,
            num_class,
            num_tree_per_iteration,
            max_feature_idx,
            objective,
            average_output,
            feature_names,
            feature_infos,
            trees,
            trailer,
            pandas_categorical,
        })
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

fn parse_feature_info(tok: &str) -> Option<FeatureInfo> {
    if tok == "none" {
        return Some(FeatureInfo::Unused);
    }
    if let Some(inner) = tok.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        let (lo, hi) = inner.split_once(':')?;
        return Some(FeatureInfo::Numeric {
            min: lo.parse().ok()?,
            max: hi.parse().ok()?,
        });
    }
    tok.split(':')
        .map(|c| c.parse().ok())
        .collect::<Option<Vec<i64>>>()
        .map(FeatureInfo::Categorical)
}

fn parse_tree(s: &Section<'_>, raw: Vec<(String, String)>, num_features: usize) -> Result<Tree> {
    let num_leaves: usize = s.scalar("num_leaves")?;
    if num_leaves == 0 {
        let (line, _) = s.require("num_leaves")?;
        return Err(s.err(line, "num_leaves is 0"));
    }
    if let Some((line, v)) = s.get("is_linear") {
        if v.trim() != "0" {
            return Err(MlError::UnsupportedModel {
                source_name: format!("{}:{line}", s.source),
                what: "linear trees (`linear_tree=true`)".into(),
                hint: "retrain without linear_tree".into(),
            });
        }
    }
    let leaf_value: Vec<f64> = s.vector("leaf_value", num_leaves)?;
    let shrinkage: f64 = match s.get("shrinkage") {
        Some(_) => s.scalar("shrinkage")?,
        None => 1.0,
    };
    let mut tree = Tree {
        num_leaves,
        split_feature: Vec::new(),
        threshold: Vec::new(),
        decision_type: Vec::new(),
        left_child: Vec::new(),
        right_child: Vec::new(),
        leaf_value,
        leaf_count: Vec::new(),
        internal_count: Vec::new(),
        cat_boundaries: vec![0],
        cat_threshold: Vec::new(),
        shrinkage,
        max_depth: 0,
        raw,
    };
    if num_leaves == 1 {
        return Ok(tree);
    }
    let n = num_leaves - 1;
    let split_feature: Vec<i64> = s.vector("split_feature", n)?;
    let (sf_line, _) = s.require("split_feature")?;
    tree.split_feature = split_feature
        .iter()
        .map(|&f| {
            usize::try_from(f)
                .ok()
                .filter(|&f| f < num_features)
                .ok_or_else(|| {
                    s.err(
                        sf_line,
                        format!("split_feature {f} is outside 0..{num_features}"),
                    )
                })
        })
        .collect::<Result<_>>()?;
    tree.threshold = s.vector("threshold", n)?;
    let decision: Vec<i32> = s.vector("decision_type", n)?;
    let (dt_line, _) = s.require("decision_type")?;
    tree.decision_type = decision
        .iter()
        .map(|&d| {
            u8::try_from(d).ok().filter(|&d| d < 16).ok_or_else(|| {
                s.err(
                    dt_line,
                    format!("decision_type {d} is not a valid flag set"),
                )
            })
        })
        .collect::<Result<_>>()?;
    tree.left_child = s.vector("left_child", n)?;
    tree.right_child = s.vector("right_child", n)?;
    let leaf_count: Vec<f64> = s.vector("leaf_count", num_leaves)?;
    let internal_count: Vec<f64> = s.vector("internal_count", n)?;
    tree.leaf_count = leaf_count;
    tree.internal_count = internal_count;

    let num_cat: usize = match s.get("num_cat") {
        Some(_) => s.scalar("num_cat")?,
        None => 0,
    };
    if num_cat > 0 {
        tree.cat_boundaries = s.vector("cat_boundaries", num_cat + 1)?;
        let (cb_line, _) = s.require("cat_boundaries")?;
        let (ct_line, ct) = s.require("cat_threshold")?;
        let words = ct.split_whitespace().count();
        tree.cat_threshold = s.vector("cat_threshold", words)?;
        let b = &tree.cat_boundaries;
        if b[0] != 0 || b.windows(2).any(|w| w[0] > w[1]) {
            return Err(s.err(cb_line, "cat_boundaries must start at 0 and not decrease"));
        }
        if b[num_cat] != words {
            return Err(s.err(
                ct_line,
                format!(
                    "cat_threshold has {words} words but cat_boundaries ends at {}",
                    b[num_cat]
                ),
            ));
        }
    }
    let (th_line, _) = s.require("threshold")?;
    for node in 0..n {
        if tree.decision_type[node] & CATEGORICAL_MASK != 0 {
            let t = tree.threshold[node];
            if !(t >= 0.0 && t.fract() == 0.0 && (t as usize) < num_cat) {
                return Err(s.err(
                    th_line,
                    format!(
                        "node {node} is categorical but its threshold {t} is not a category set index below num_cat={num_cat}"
                    ),
                ));
            }
        }
    }
    tree.max_depth = check_structure(s, &tree)?;
    Ok(tree)
}

/// Walks the tree from the root: every internal node and leaf must be reached exactly once,
/// which rules out cycles (an endless prediction loop) and dangling children. Returns the
/// maximum depth.
fn check_structure(s: &Section<'_>, tree: &Tree) -> Result<usize> {
    let n = tree.num_leaves - 1;
    let (lc_line, _) = s.require("left_child")?;
    let mut seen_node = vec![false; n];
    let mut seen_leaf = vec![false; tree.num_leaves];
    let mut stack = vec![(0i32, 0usize)];
    let mut max_depth = 0;
    while let Some((child, depth)) = stack.pop() {
        max_depth = max_depth.max(depth);
        if child >= 0 {
            let c = child as usize;
            if c >= n || seen_node[c] {
                return Err(s.err(
                    lc_line,
                    format!("child {child} is out of range or reached twice: the children do not form a tree"),
                ));
            }
            seen_node[c] = true;
            stack.push((tree.left_child[c], depth + 1));
            stack.push((tree.right_child[c], depth + 1));
        } else {
            let leaf = !child as usize;
            if leaf >= tree.num_leaves || seen_leaf[leaf] {
                return Err(s.err(
                    lc_line,
                    format!("leaf {leaf} is out of range or reached twice: the children do not form a tree"),
                ));
            }
            seen_leaf[leaf] = true;
        }
    }
    if seen_node.iter().any(|v| !v) || seen_leaf.iter().any(|v| !v) {
        return Err(s.err(lc_line, "some nodes are not reachable from the root"));
    }
    Ok(max_depth)
}
