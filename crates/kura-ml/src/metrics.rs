//! Evaluation metrics per task, with scikit-learn's definitions.
//!
//! They describe a trained model on its held-out validation rows; using sklearn's definitions
//! (ties in AUC count one half, average precision as the step-wise sum over distinct
//! thresholds, F1 at a 0.5 threshold, macro F1 for multiclass, MAPE relative to
//! `max(|y|, eps)`) makes the numbers comparable with what a Python user would compute.

use serde::{Deserialize, Serialize};

/// Named metric values, in a fixed order per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics(pub Vec<(String, f64)>);

impl Metrics {
    /// The value of metric `name`, if computed.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// logloss, auc, f1, average_precision, accuracy for labels in {0, 1} and P(y = 1).
pub fn binary(y: &[f64], p: &[f64]) -> Metrics {
    let n = y.len().max(1) as f64;
    let eps = f64::EPSILON;
    let logloss = -y
        .iter()
        .zip(p)
        .map(|(&t, &q)| {
            let q = q.clamp(eps, 1.0 - eps);
            t * q.ln() + (1.0 - t) * (1.0 - q).ln()
        })
        .sum::<f64>()
        / n;
    let pred: Vec<f64> = p.iter().map(|&q| f64::from(u8::from(q >= 0.5))).collect();
    Metrics(vec![
        ("logloss".into(), logloss),
        ("auc".into(), auc(y, p)),
        ("f1".into(), f1_for(y, &pred, 1.0)),
        ("average_precision".into(), average_precision(y, p)),
        ("accuracy".into(), accuracy(y, &pred)),
    ])
}

/// logloss, macro f1, accuracy for class indices `y` and probabilities `p[row][class]`.
pub fn multiclass(y: &[usize], p: &[Vec<f64>]) -> Metrics {
    let n = y.len().max(1) as f64;
    let eps = f64::EPSILON;
    let logloss = -y
        .iter()
        .zip(p)
        .map(|(&t, row)| {
            let sum: f64 = row.iter().map(|v| v.clamp(eps, 1.0 - eps)).sum();
            (row.get(t).copied().unwrap_or(0.0).clamp(eps, 1.0 - eps) / sum).ln()
        })
        .sum::<f64>()
        / n;
    let pred: Vec<f64> = p
        .iter()
        .map(|row| {
            (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                .unwrap_or(0) as f64
        })
        .collect();
    let truth: Vec<f64> = y.iter().map(|&c| c as f64).collect();
    let k = p.first().map_or(0, Vec::len);
    let present: Vec<usize> = (0..k)
        .filter(|&c| truth.contains(&(c as f64)) || pred.contains(&(c as f64)))
        .collect();
    let macro_f1 = present
        .iter()
        .map(|&c| f1_for(&truth, &pred, c as f64))
        .sum::<f64>()
        / present.len().max(1) as f64;
    Metrics(vec![
        ("logloss".into(), logloss),
        ("f1".into(), macro_f1),
        ("accuracy".into(), accuracy(&truth, &pred)),
    ])
}

/// rmse, mse, mae, r2, mape, spearman, pearson.
pub fn regression(y: &[f64], p: &[f64]) -> Metrics {
    let n = y.len().max(1) as f64;
    let mse = y.iter().zip(p).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n;
    let mae = y.iter().zip(p).map(|(a, b)| (a - b).abs()).sum::<f64>() / n;
    let mean = y.iter().sum::<f64>() / n;
    let ss_tot = y.iter().map(|a| (a - mean).powi(2)).sum::<f64>();
    let r2 = 1.0 - mse * n / ss_tot;
    let mape = y
        .iter()
        .zip(p)
        .map(|(a, b)| (a - b).abs() / a.abs().max(f64::EPSILON))
        .sum::<f64>()
        / n;
    Metrics(vec![
        ("rmse".into(), mse.sqrt()),
        ("mse".into(), mse),
        ("mae".into(), mae),
        ("r2".into(), r2),
        ("mape".into(), mape),
        ("spearman".into(), pearson(&ranks(y), &ranks(p))),
        ("pearson".into(), pearson(y, p)),
    ])
}

fn accuracy(y: &[f64], pred: &[f64]) -> f64 {
    y.iter().zip(pred).filter(|(a, b)| a == b).count() as f64 / y.len().max(1) as f64
}

fn f1_for(y: &[f64], pred: &[f64], class: f64) -> f64 {
    let (mut tp, mut fp, mut fnn) = (0.0, 0.0, 0.0);
    for (&t, &q) in y.iter().zip(pred) {
        match (t == class, q == class) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fnn += 1.0,
            _ => {}
        }
    }
    if tp == 0.0 {
        0.0
    } else {
        2.0 * tp / (2.0 * tp + fp + fnn)
    }
}

/// Area under the ROC curve via average ranks (Mann-Whitney U), ties counting one half.
fn auc(y: &[f64], p: &[f64]) -> f64 {
    let r = ranks(p);
    let pos = y.iter().filter(|&&t| t == 1.0).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let rank_sum: f64 = y
        .iter()
        .zip(&r)
        .filter(|(t, _)| **t == 1.0)
        .map(|(_, r)| r)
        .sum();
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// sklearn's `average_precision_score`: sum over distinct thresholds (descending) of
/// (recall step) x precision.
fn average_precision(y: &[f64], p: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let pos = y.iter().filter(|&&t| t == 1.0).count() as f64;
    if pos == 0.0 {
        return f64::NAN;
    }
    let (mut tp, mut fp, mut prev_recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let threshold = p[order[i]];
        while i < order.len() && p[order[i]] == threshold {
            if y[order[i]] == 1.0 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        let recall = tp / pos;
        ap += (recall - prev_recall) * tp / (tp + fp);
        prev_recall = recall;
    }
    ap
}

/// 1-based average ranks (ties get the mean of their positions).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            r[o] = avg;
        }
        i = j + 1;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(1) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa * sbb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed with scikit-learn 1.x / scipy by hand for these inputs.
    #[test]
    fn binary_metrics_match_sklearn_definitions() {
        let y = [0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let p = [0.1, 0.4, 0.35, 0.8, 0.7, 0.7];
        let m = binary(&y, &p);
        // roc_auc_score: pairs (pos, neg) with pos > neg: 0.35>{0.1}; 0.8>all; 0.7>{0.1,0.4}, tie 0.7 = 0.5
        let auc_want = (1.0 + 3.0 + 2.5) / 9.0;
        assert!((m.get("auc").expect("auc") - auc_want).abs() < 1e-12);
        // thresholds 0.8 (tp1 fp0), 0.7 (tp2 fp1), 0.4 (tp2 fp2), 0.35 (tp3 fp2), 0.1
        let ap_want = (1.0 / 3.0) * 1.0 + (1.0 / 3.0) * (2.0 / 3.0) + (1.0 / 3.0) * (3.0 / 5.0);
        assert!((m.get("average_precision").expect("ap") - ap_want).abs() < 1e-12);
        // predictions at 0.5: 0 0 0 1 1 1 -> tp 2, fp 1, fn 1
        assert!((m.get("f1").expect("f1") - 4.0 / 6.0).abs() < 1e-12);
        assert!((m.get("accuracy").expect("acc") - 4.0 / 6.0).abs() < 1e-12);
        let ll: f64 =
            -(0.9f64.ln() + 0.6f64.ln() + 0.35f64.ln() + 0.8f64.ln() + 0.7f64.ln() + 0.3f64.ln())
                / 6.0;
        assert!((m.get("logloss").expect("ll") - ll).abs() < 1e-12);
    }

    #[test]
    fn regression_metrics() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let p = [1.5, 1.5, 3.5, 5.0];
        let m = regression(&y, &p);
        assert!((m.get("mse").expect("mse") - (0.25 + 0.25 + 0.25 + 1.0) / 4.0).abs() < 1e-12);
        assert!((m.get("mae").expect("mae") - 2.5 / 4.0).abs() < 1e-12);
        assert!((m.get("r2").expect("r2") - (1.0 - 1.75 / 5.0)).abs() < 1e-12);
        assert!(
            (m.get("mape").expect("mape") - (0.5 + 0.25 + 0.5 / 3.0 + 0.25) / 4.0).abs() < 1e-12
        );
        // ranks of p: 1.5,1.5 tie -> 1.5,1.5,3,4; spearman = pearson(1..4, that)
        let s = pearson(&[1.0, 2.0, 3.0, 4.0], &[1.5, 1.5, 3.0, 4.0]);
        assert!((m.get("spearman").expect("sp") - s).abs() < 1e-12 && s > 0.9);
    }

    #[test]
    fn multiclass_metrics() {
        let y = [0, 1, 2, 2];
        let p = vec![
            vec![0.7, 0.2, 0.1],
            vec![0.3, 0.4, 0.3],
            vec![0.2, 0.5, 0.3],
            vec![0.1, 0.1, 0.8],
        ];
        let m = multiclass(&y, &p);
        assert!((m.get("accuracy").expect("acc") - 0.75).abs() < 1e-12);
        // per class f1: c0 1, c1 tp1 fp1 -> 2/3, c2 tp1 fn1 -> 2/3
        assert!((m.get("f1").expect("f1") - (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        let ll = -(0.7f64.ln() + 0.4f64.ln() + 0.3f64.ln() + 0.8f64.ln()) / 4.0;
        assert!((m.get("logloss").expect("ll") - ll).abs() < 1e-12);
    }
}
