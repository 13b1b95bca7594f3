//! Propensity score matching: MatchIt's nearest-neighbour algorithm, then the ATT.
//!
//! What this reproduces is `MatchIt::matchit(treat ~ covariates, method = "nearest",
//! distance = "glm", link = "linear.logit", m.order = "largest", caliper = 0.2,
//! std.caliper = TRUE)`:
//! 1. a logistic propensity model by unpenalised MLE ([`crate::logit`]); the matching distance is
//!    its linear predictor (the logit of the score);
//! 2. the caliper is `caliper × sd(logit)` with the SD over all units (treated and control, n-1);
//! 3. treated units are processed from the largest logit down (ties keep row order, as R's
//!    stable `order(decreasing = TRUE)` does); each takes the nearest still-available control,
//!    if within the caliper (`|Δ| <= caliper`);
//! 4. for k:1 without replacement every treated unit gets its first match before any gets a
//!    second (MatchIt's rounds); with replacement each treated unit takes its k nearest controls
//!    and order does not matter.
//!
//! Tie-break (documented because it decides matched pairs): among controls at exactly the same
//! distance the lowest row index wins. MatchIt's C++ walks a sorted array alternating sides and
//! can differ on exact ties; continuous scores practically never tie, discrete covariates can.
//!
//! The ATT is the mean over matched treated units of (outcome − mean outcome of its matched
//! controls), which equals MatchIt's weighted difference in means. Its SE is the SD of those
//! differences / √n (a paired analysis). With replacement that SE ignores reuse of controls and
//! is flagged as optimistic in the warnings. Balance is MatchIt's standardised mean difference
//! for the ATT: (mean treated − mean control) / SD of the treated group in the full sample,
//! before and after matching (after: matched units with MatchIt's matching weights).

use crate::dist::{t_ppf, t_two_sided_p};
use crate::logit::{fit_logit, LogitFit};
use crate::result::{check_alpha, Estimate, Interval, Reference};
use crate::summary::{mean, var};
use crate::{Result, StatsError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Matching options; [`Default`] is MatchIt's default 1:1 nearest without replacement, caliper 0.2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct PsmOptions {
    /// Caliper in standard deviations of the logit; `None` for no caliper.
    pub caliper_sd: Option<f64>,
    /// Controls per treated unit (k in k:1).
    pub ratio: usize,
    /// Whether a control may be matched to several treated units.
    pub replace: bool,
    /// For the ATT interval.
    pub alpha: f64,
}

impl Default for PsmOptions {
    fn default() -> Self {
        PsmOptions {
            caliper_sd: Some(0.2),
            ratio: 1,
            replace: false,
            alpha: 0.05,
        }
    }
}

/// One treated-control match (row indices into the input).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchedPair {
    pub treated: usize,
    pub control: usize,
    /// |logit(treated) − logit(control)|.
    pub distance: f64,
}

/// Standardised mean differences of one variable before and after matching.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalanceRow {
    pub variable: String,
    pub mean_treated_before: f64,
    pub mean_control_before: f64,
    /// None when the treated SD is zero (the SMD is undefined), with a warning.
    pub smd_before: Option<f64>,
    pub mean_treated_after: f64,
    pub mean_control_after: f64,
    pub smd_after: Option<f64>,
}

/// Everything the matching produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PsmResult {
    /// The ATT.
    pub estimate: Estimate,
    pub propensity_model: LogitFit,
    /// Caliper in logit units, when one was used.
    pub caliper_logit: Option<f64>,
    /// All matches, ordered by treated row, then match round.
    pub pairs: Vec<MatchedPair>,
    pub n_treated: usize,
    pub n_control: usize,
    pub n_treated_matched: usize,
    pub n_controls_used: usize,
    /// Covariates in input order, then "distance" (the logit).
    pub balance: Vec<BalanceRow>,
    pub warnings: Vec<String>,
}

/// Matches treated to control units on the logit of the propensity score and estimates the ATT.
///
/// `treatment` is 0/1, `covariates` (name, values) feed the propensity model.
///
/// # Errors
/// [`StatsError::TooFewUnits`] when a group has under 2 units or under 2 treated units match;
/// the propensity model's errors ([`StatsError::PerfectSeparation`], [`StatsError::Singular`]);
/// [`StatsError::NoMatches`] when the caliper matches no one; [`StatsError::ZeroVariance`] when
/// all matched differences are equal (the SE would be zero).
pub fn propensity_score_matching(
    treatment: &[f64],
    outcome: &[f64],
    covariates: &[(&str, &[f64])],
    options: &PsmOptions,
) -> Result<PsmResult> {
    check_alpha(options.alpha)?;
    if options.ratio == 0 {
        return Err(StatsError::InvalidArgument {
            name: "ratio".into(),
            message: "must be at least 1".into(),
            hint: "use 1 for 1:1 matching".into(),
        });
    }
    if let Some(c) = options.caliper_sd {
        if !(c.is_finite() && c > 0.0) {
            return Err(StatsError::InvalidArgument {
                name: "caliper".into(),
                message: format!("{c} must be positive"),
                hint: "the default is 0.2 standard deviations of the logit".into(),
            });
        }
    }
    if outcome.len() != treatment.len() {
        return Err(StatsError::BadInput {
            what: format!(
                "outcome has {} rows, treatment has {}",
                outcome.len(),
                treatment.len()
            ),
            hint: "read all columns from the same rows".into(),
        });
    }
    if let Some(i) = outcome.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::BadInput {
            what: format!("outcome has a non-finite value at row {i}"),
            hint: "drop or fix missing outcomes first".into(),
        });
    }
    let n_treated = treatment.iter().filter(|t| **t == 1.0).count();
    let n_control = treatment.iter().filter(|t| **t == 0.0).count();
    for (what, got) in [("treated group", n_treated), ("control group", n_control)] {
        if got < 2 {
            return Err(StatsError::TooFewUnits {
                what: what.into(),
                got,
                need: 2,
                hint: "matching needs units in both groups".into(),
            });
        }
    }
    let model = fit_logit(treatment, covariates)?;
    let d = &model.linear_predictor;
    let caliper_logit = options.caliper_sd.map(|c| c * var(d, 1.0).sqrt());
    let matches = nearest_neighbour(treatment, d, caliper_logit, options.ratio, options.replace);

    let treated_rows: Vec<usize> = (0..treatment.len())
        .filter(|&i| treatment[i] == 1.0)
        .collect();
    let mut pairs = Vec::new();
    let mut diffs = Vec::new();
    let mut control_weight = vec![0.0; treatment.len()];
    for (&t, ms) in treated_rows.iter().zip(&matches) {
        if ms.is_empty() {
            continue;
        }
        let share = 1.0 / ms.len() as f64;
        let mut yc = 0.0;
        for &c in ms {
            pairs.push(MatchedPair {
                treated: t,
                control: c,
                distance: (d[t] - d[c]).abs(),
            });
            control_weight[c] += share;
            yc += outcome[c] * share;
        }
        diffs.push(outcome[t] - yc);
    }
    let n_matched = diffs.len();
    if n_matched == 0 {
        return Err(StatsError::NoMatches {
            caliper: caliper_logit.unwrap_or(f64::INFINITY),
        });
    }
    if n_matched < 2 {
        return Err(StatsError::TooFewUnits {
            what: "matched treated units".into(),
            got: n_matched,
            need: 2,
            hint: "widen the caliper or check overlap of the propensity scores".into(),
        });
    }
    let att = mean(&diffs);
    let sd = var(&diffs, 1.0).sqrt();
    if sd == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "the matched outcome differences".into(),
            hint: "the outcome does not vary within matched pairs; check the outcome column".into(),
        });
    }
    let nm = n_matched as f64;
    let se = sd / nm.sqrt();
    let df = nm - 1.0;
    let q = t_ppf(1.0 - options.alpha / 2.0, df);
    let n_controls_used = control_weight.iter().filter(|w| **w > 0.0).count();

    let mut warnings = Vec::new();
    if n_matched < n_treated {
        warnings.push(format!(
            "{} of {n_treated} treated units found no control within the caliper and are excluded: \
             the ATT is for the matched treated units only",
            n_treated - n_matched
        ));
    }
    if options.replace {
        warnings.push(
            "matching with replacement: the paired SE ignores that controls are reused and is \
             optimistic"
                .into(),
        );
    }

    // Balance: full-sample treated SD as the denominator, before and after.
    let matched_treated: Vec<bool> = {
        let mut m = vec![false; treatment.len()];
        for p in &pairs {
            m[p.treated] = true;
        }
        m
    };
    let mut balance = Vec::new();
    let mut vars: Vec<(&str, &[f64])> = covariates.to_vec();
    vars.push(("distance", d));
    for (name, x) in vars {
        let xt: Vec<f64> = treated_rows.iter().map(|&i| x[i]).collect();
        let xc: Vec<f64> = (0..x.len())
            .filter(|&i| treatment[i] == 0.0)
            .map(|i| x[i])
            .collect();
        let sd_t = matchit_sd(x, &xt, &xc);
        let mt_after = mean(
            &treated_rows
                .iter()
                .filter(|&&i| matched_treated[i])
                .map(|&i| x[i])
                .collect::<Vec<_>>(),
        );
        let (num, den) = control_weight
            .iter()
            .zip(x)
            .filter(|(w, _)| **w > 0.0)
            .fold((0.0, 0.0), |(n, dd), (w, v)| (n + w * v, dd + w));
        let mc_after = num / den;
        let (mt, mc) = (mean(&xt), mean(&xc));
        let tiny = f64::EPSILON.sqrt();
        let smd = |a: f64, b: f64| {
            let diff = a - b;
            if diff.abs() <= tiny {
                Some(diff)
            } else {
                sd_t.map(|s| diff / s)
            }
        };
        if sd_t.is_none() {
            warnings.push(format!(
                "`{name}` does not vary within either group: its standardised mean difference is undefined"
            ));
        }
        balance.push(BalanceRow {
            variable: name.to_string(),
            mean_treated_before: mt,
            mean_control_before: mc,
            smd_before: smd(mt, mc),
            mean_treated_after: mt_after,
            mean_control_after: mc_after,
            smd_after: smd(mt_after, mc_after),
        });
    }

    let mut diagnostics = BTreeMap::new();
    diagnostics.insert("n_treated".into(), n_treated as f64);
    diagnostics.insert("n_control".into(), n_control as f64);
    diagnostics.insert("n_treated_matched".into(), nm);
    diagnostics.insert("n_controls_used".into(), n_controls_used as f64);
    if let Some(c) = caliper_logit {
        diagnostics.insert("caliper_logit".into(), c);
    }
    Ok(PsmResult {
        estimate: Estimate {
            method: "propensity score matching (ATT)".into(),
            effect: att,
            std_error: se,
            statistic: att / se,
            df: Some(df),
            p_value: t_two_sided_p(att / se, df),
            ci: Interval {
                level: 1.0 - options.alpha,
                lower: att - q * se,
                upper: att + q * se,
                reference: Reference::StudentT,
            },
            diagnostics,
            warnings: warnings.clone(),
        },
        propensity_model: model,
        caliper_logit,
        pairs,
        n_treated,
        n_control,
        n_treated_matched: n_matched,
        n_controls_used,
        balance,
        warnings,
    })
}

/// MatchIt's standardisation factor for the ATT (`bal1var` with `s.d.denom = "treated"`):
/// the treated group's SD in the unmatched sample, `sqrt(p (1 - p))` for a 0/1 variable, and
/// the pooled within-group SD when the treated SD is ~0. None when that is ~0 too.
fn matchit_sd(x: &[f64], xt: &[f64], xc: &[f64]) -> Option<f64> {
    let binary = x.iter().all(|v| *v == 0.0 || *v == 1.0);
    let tiny = f64::EPSILON.sqrt();
    let sd_t = if binary {
        let p = mean(xt);
        (p * (1.0 - p)).sqrt()
    } else {
        var(xt, 1.0).sqrt()
    };
    if sd_t.is_finite() && sd_t >= tiny {
        return Some(sd_t);
    }
    let n = x.len() as f64;
    let pooled = if binary {
        [xt, xc]
            .iter()
            .map(|g| {
                let s: f64 = g.iter().sum();
                s * (1.0 - s / g.len() as f64)
            })
            .sum::<f64>()
            / n
    } else {
        [xt, xc]
            .iter()
            .map(|g| var(g, 1.0) * (g.len() as f64 - 1.0))
            .sum::<f64>()
            / (n - 2.0)
    };
    let sd = pooled.sqrt();
    (sd.is_finite() && sd >= tiny).then_some(sd)
}

/// Controls grouped by exact distance value, sorted; within a group by row index.
///
/// Grouping makes the lowest-index tie-break O(1) and lets used-up groups be skipped with a
/// union-find, so matching a million rows stays O(n log n).
struct ControlIndex {
    values: Vec<f64>,
    members: Vec<Vec<usize>>,
    head: Vec<usize>,
    /// next_right[g]: smallest non-empty group >= g (len = sentinel), path-compressed.
    next_right: Vec<usize>,
    /// next_left[g + 1]: (largest non-empty group <= g) + 1, 0 = none.
    next_left: Vec<usize>,
}

impl ControlIndex {
    fn new(treatment: &[f64], d: &[f64]) -> Self {
        let mut controls: Vec<usize> = (0..d.len()).filter(|&i| treatment[i] == 0.0).collect();
        controls.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
        let mut values: Vec<f64> = Vec::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for c in controls {
            if values.last() == Some(&d[c]) {
                if let Some(m) = members.last_mut() {
                    m.push(c);
                }
            } else {
                values.push(d[c]);
                members.push(vec![c]);
            }
        }
        let g = values.len();
        ControlIndex {
            head: vec![0; g],
            next_right: (0..=g).collect(),
            next_left: (0..=g).collect(),
            values,
            members,
        }
    }

    fn find_right(&mut self, g: usize) -> usize {
        let mut r = g;
        while self.next_right[r] != r {
            r = self.next_right[r];
        }
        let mut x = g;
        while self.next_right[x] != r {
            let nx = self.next_right[x];
            self.next_right[x] = r;
            x = nx;
        }
        r
    }

    /// Largest non-empty group <= g, as g + 1 (0 for none).
    fn find_left(&mut self, g1: usize) -> usize {
        let mut r = g1;
        while self.next_left[r] != r {
            r = self.next_left[r];
        }
        let mut x = g1;
        while self.next_left[x] != r {
            let nx = self.next_left[x];
            self.next_left[x] = r;
            x = nx;
        }
        r
    }

    fn remove_front(&mut self, g: usize) {
        self.head[g] += 1;
        if self.head[g] == self.members[g].len() {
            self.next_right[g] = g + 1;
            self.next_left[g + 1] = g;
        }
    }

    /// The nearest available control to value v (lowest index on ties), without removing it.
    fn nearest(&mut self, v: f64) -> Option<(usize, usize, f64)> {
        let pos = self.values.partition_point(|x| *x < v);
        let r = self.find_right(pos);
        let l1 = self.find_left(pos);
        let right = (r < self.values.len()).then(|| (r, self.values[r] - v));
        let left = (l1 > 0).then(|| (l1 - 1, v - self.values[l1 - 1]));
        let pick = match (left, right) {
            (None, None) => return None,
            (Some(a), None) | (None, Some(a)) => a,
            (Some(a), Some(b)) => {
                let ia = self.members[a.0][self.head[a.0]];
                let ib = self.members[b.0][self.head[b.0]];
                if a.1 < b.1 || (a.1 == b.1 && ia < ib) {
                    a
                } else {
                    b
                }
            }
        };
        Some((pick.0, self.members[pick.0][self.head[pick.0]], pick.1))
    }

    /// The k nearest controls to v (all groups, ignoring availability), ties by lowest index.
    fn k_nearest(&self, v: f64, k: usize, caliper: f64) -> Vec<usize> {
        let g = self.values.len();
        let pos = self.values.partition_point(|x| *x < v);
        let (mut l, mut r) = (pos, pos); // left candidates are groups < l, right are >= r
        let mut out: Vec<usize> = Vec::new();
        while out.len() < k {
            let dl = (l > 0).then(|| v - self.values[l - 1]);
            let dr = (r < g).then(|| self.values[r] - v);
            let (dist, mut level): (f64, Vec<usize>) = match (dl, dr) {
                (None, None) => break,
                (Some(a), Some(b)) if a == b => {
                    let mut both = self.members[l - 1].clone();
                    both.extend(&self.members[r]);
                    l -= 1;
                    r += 1;
                    (a, both)
                }
                (Some(a), Some(b)) if a < b => {
                    l -= 1;
                    (a, self.members[l].clone())
                }
                (Some(a), None) => {
                    l -= 1;
                    (a, self.members[l].clone())
                }
                (_, Some(b)) => {
                    r += 1;
                    (b, self.members[r - 1].clone())
                }
            };
            if dist > caliper {
                break;
            }
            level.sort_unstable();
            out.extend(level.into_iter().take(k - out.len()));
        }
        out
    }
}

/// MatchIt's greedy nearest-neighbour matching; returns the matched controls of each treated
/// unit, treated units in row order.
fn nearest_neighbour(
    treatment: &[f64],
    d: &[f64],
    caliper: Option<f64>,
    ratio: usize,
    replace: bool,
) -> Vec<Vec<usize>> {
    let cal = caliper.unwrap_or(f64::INFINITY);
    let treated: Vec<usize> = (0..d.len()).filter(|&i| treatment[i] == 1.0).collect();
    let mut index = ControlIndex::new(treatment, d);
    let mut out = vec![Vec::new(); treated.len()];
    if replace {
        for (slot, &t) in treated.iter().enumerate() {
            out[slot] = index.k_nearest(d[t], ratio, cal);
        }
        return out;
    }
    // Largest logit first; a stable sort keeps row order among ties, like R's order().
    let mut order: Vec<usize> = (0..treated.len()).collect();
    order.sort_by(|&a, &b| d[treated[b]].total_cmp(&d[treated[a]]));
    for round in 0..ratio {
        for &slot in &order {
            if round > 0 && out[slot].len() < round {
                continue; // found nothing in an earlier round: nothing closer can appear now
            }
            let Some((g, c, dist)) = index.nearest(d[treated[slot]]) else {
                break; // no controls left at all
            };
            if dist <= cal {
                out[slot].push(c);
                index.remove_front(g);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_order_and_tie_break() {
        // Treated at 1.0 (processed first) and 0.5; controls at 0.9 (row 2) and 0.9 (row 3), 0.0.
        let t = [1.0, 1.0, 0.0, 0.0, 0.0];
        let d = [1.0, 0.5, 0.9, 0.9, 0.0];
        let m = nearest_neighbour(&t, &d, None, 1, false);
        assert_eq!(m, vec![vec![2], vec![3]]);
        // With a caliper of 0.3 the 0.5 unit's only remaining control (row 3, distance 0.4) is
        // out of reach, so it stays unmatched.
        let m = nearest_neighbour(&t, &d, Some(0.3), 1, false);
        assert_eq!(m, vec![vec![2], vec![]]);
        // Equal distance on both sides (exact in binary): the lower row index wins, whichever
        // side it is on.
        let t3 = [1.0, 0.0, 0.0];
        assert_eq!(
            nearest_neighbour(&t3, &[0.5, 0.25, 0.75], None, 1, false),
            vec![vec![1]]
        );
        assert_eq!(
            nearest_neighbour(&t3, &[0.5, 0.75, 0.25], None, 1, false),
            vec![vec![1]]
        );
        // With replacement both take row 2 (lowest index at the same distance for unit 0).
        let m = nearest_neighbour(&t, &d, None, 2, true);
        assert_eq!(m, vec![vec![2, 3], vec![2, 3]]);
    }
}
