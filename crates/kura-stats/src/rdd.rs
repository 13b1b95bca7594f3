//! Sharp regression discontinuity, as `rdrobust` computes it by default.
//!
//! Reproduces Python `rdrobust(y, x, c)` (rdrobust 2.1) with its defaults: local linear point
//! estimate (p = 1), local quadratic bias correction (q = 2), triangular kernel, one common
//! MSE-optimal bandwidth (`bwselect="mserd"`), nearest-neighbour residual variance with
//! `nnmatch=3`, `masspoints="adjust"`, `bwrestrict=True`, `stdvars=True`. It reports the three
//! rows rdrobust prints: conventional (local linear, its SE), bias-corrected (same SE) and robust
//! (bias-corrected estimate with the robust SE of Calonico, Cattaneo and Titiunik 2014); the
//! robust row is the one to read. A fixed bandwidth (`h`, with `b = h`) skips the selector.
//!
//! The bandwidth selector is the three-stage plug-in of CCT: a pilot bandwidth from the spread
//! of x, a third-order fit for the bias of the bias estimator (d), then the bias bandwidth (b)
//! and the main bandwidth (h), each the ratio of variance to squared bias plus a regularisation
//! term, with every stage on standardised x and y. This module is an independent implementation
//! of that algorithm from the package's documented behaviour and source, not a copy.

use crate::dist::{norm_ppf, norm_two_sided_p};
use crate::linalg::{chol_inverse, cholesky, Matrix};
use crate::result::{check_alpha, Estimate, Interval, Reference};
use crate::summary::{mean, var};
use crate::{Result, StatsError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Options; [`Default`] is rdrobust's default at the cutoff 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct RdOptions {
    pub cutoff: f64,
    /// Fixed bandwidth h (and b = h, rdrobust's `rho = 1`); `None` selects h and b by mserd.
    pub bandwidth: Option<f64>,
    pub alpha: f64,
    /// Neighbours for the NN variance estimator (rdrobust's `nnmatch`).
    pub nnmatch: usize,
}

impl Default for RdOptions {
    fn default() -> Self {
        RdOptions {
            cutoff: 0.0,
            bandwidth: None,
            alpha: 0.05,
            nnmatch: 3,
        }
    }
}

/// The rdrobust table plus bandwidths and effective sample sizes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RdResult {
    /// Local linear estimate with its conventional SE and interval.
    pub conventional: Estimate,
    /// Bias-corrected estimate with the conventional SE (shown for completeness; not valid).
    pub bias_corrected: Estimate,
    /// Bias-corrected estimate with the robust SE: the one to report.
    pub robust: Estimate,
    /// Main bandwidth h (same on both sides).
    pub h: f64,
    /// Bias bandwidth b.
    pub b: f64,
    /// "mserd" or "manual".
    pub bandwidth_selector: String,
    /// Local linear fit (intercept at the cutoff, slope) left of the cutoff, for the RD plot.
    pub fit_left: [f64; 2],
    /// Local linear fit (intercept at the cutoff, slope) right of the cutoff.
    pub fit_right: [f64; 2],
    pub n_left: usize,
    pub n_right: usize,
    /// Observations with positive weight under h, per side.
    pub n_h_left: usize,
    pub n_h_right: usize,
    /// Observations with positive weight under b, per side.
    pub n_b_left: usize,
    pub n_b_right: usize,
    pub warnings: Vec<String>,
}

const P: usize = 1;
const Q: usize = 2;
/// rdrobust's tolerance pad, sqrt(machine epsilon).
fn sqrt_eps() -> f64 {
    f64::EPSILON.sqrt()
}

/// One side of the cutoff, sorted by x, with rdrobust's duplicate bookkeeping for the NN
/// variance: `dups[i]` is how many observations share x[i], `dupsid[i]` its 1-based rank among
/// them.
struct Side {
    x: Vec<f64>,
    y: Vec<f64>,
    dups: Vec<usize>,
    dupsid: Vec<usize>,
}

impl Side {
    fn new(x: Vec<f64>, y: Vec<f64>) -> Self {
        let n = x.len();
        let mut dups = vec![0; n];
        let mut dupsid = vec![0; n];
        let mut i = 0;
        while i < n {
            let mut j = i;
            while j < n && x[j] == x[i] {
                j += 1;
            }
            for k in i..j {
                dups[k] = j - i;
                dupsid[k] = k - i + 1;
            }
            i = j;
        }
        Side { x, y, dups, dupsid }
    }

    fn scaled(&self, sx: f64, sy: f64) -> Side {
        Side {
            x: self.x.iter().map(|v| v / sx).collect(),
            y: self.y.iter().map(|v| v / sy).collect(),
            dups: self.dups.clone(),
            dupsid: self.dupsid.clone(),
        }
    }

    fn distinct(&self, idx: &[usize]) -> usize {
        let mut n = 0;
        let mut last = f64::NAN;
        for &i in idx {
            if self.x[i] != last {
                n += 1;
                last = self.x[i];
            }
        }
        n
    }
}

/// Triangular kernel weight (1 - |u|)/h on |u| <= 1, rdrobust's scaling.
fn kweight(x: f64, c: f64, h: f64) -> f64 {
    let u = (x - c) / h;
    if u.abs() <= 1.0 {
        (1.0 - u.abs()) / h
    } else {
        0.0
    }
}

/// Rows 1, u, u², …, u^order.
fn vander(u: f64, order: usize) -> Vec<f64> {
    let mut r = Vec::with_capacity(order + 1);
    let mut v = 1.0;
    for _ in 0..=order {
        r.push(v);
        v *= u;
    }
    r
}

/// Nearest-neighbour residuals: each observation minus the mean of its `matches` nearest
/// neighbours in x (whole groups of ties at a time), scaled by sqrt(J/(J+1)).
fn nn_residuals(side: &Side, idx: &[usize], matches: usize) -> Vec<f64> {
    let n = idx.len();
    let x = |k: usize| side.x[idx[k]];
    let y = |k: usize| side.y[idx[k]];
    let dups = |k: usize| side.dups[idx[k]];
    let tol_eps = sqrt_eps();
    let cap = matches.min(n.saturating_sub(1));
    (0..n)
        .map(|pos| {
            let mut rpos = dups(pos) - side.dupsid[idx[pos]];
            let mut lpos = side.dupsid[idx[pos]] - 1;
            while lpos + rpos < cap {
                if pos < lpos + 1 {
                    rpos += dups(pos + rpos + 1);
                } else if pos + rpos + 1 >= n {
                    lpos += dups(pos - lpos - 1);
                } else {
                    let dleft = x(pos) - x(pos - lpos - 1);
                    let dright = x(pos + rpos + 1) - x(pos);
                    let tol = dleft.max(dright) * tol_eps;
                    if dleft - dright > tol {
                        rpos += dups(pos + rpos + 1);
                    } else if dright - dleft > tol {
                        lpos += dups(pos - lpos - 1);
                    } else {
                        rpos += dups(pos + rpos + 1);
                        lpos += dups(pos - lpos - 1);
                    }
                }
            }
            let (lo, hi) = (pos - lpos, pos + rpos + 1);
            let j = (hi - lo - 1) as f64;
            let s: f64 = (lo..hi).map(y).sum::<f64>() - y(pos);
            (j / (j + 1.0)).sqrt() * (y(pos) - s / j)
        })
        .collect()
}

/// A weighted polynomial fit of y on (x - c) with its Gram inverse.
struct Fit {
    idx: Vec<usize>,
    rows: Vec<Vec<f64>>,
    w: Vec<f64>,
    inv_g: Matrix,
    beta: Vec<f64>,
}

fn weighted_gram(rows: &[Vec<f64>], w: &[f64]) -> Matrix {
    let k = rows.first().map_or(0, Vec::len);
    let mut g = Matrix::zeros(k, k);
    for (r, wi) in rows.iter().zip(w) {
        for a in 0..k {
            for b in 0..k {
                g.add(a, b, wi * r[a] * r[b]);
            }
        }
    }
    g
}

fn fit(side: &Side, c: f64, h: f64, order: usize) -> Option<Fit> {
    let idx: Vec<usize> = (0..side.x.len())
        .filter(|&i| kweight(side.x[i], c, h) > 0.0)
        .collect();
    if side.distinct(&idx) < order + 1 {
        return None;
    }
    let rows: Vec<Vec<f64>> = idx.iter().map(|&i| vander(side.x[i] - c, order)).collect();
    let w: Vec<f64> = idx.iter().map(|&i| kweight(side.x[i], c, h)).collect();
    let inv_g = chol_inverse(&cholesky(&weighted_gram(&rows, &w))?);
    let mut rwy = vec![0.0; order + 1];
    for ((r, wi), &i) in rows.iter().zip(&w).zip(&idx) {
        for (a, v) in rwy.iter_mut().enumerate() {
            *v += wi * r[a] * side.y[i];
        }
    }
    let beta = inv_g.mul_vec(&rwy);
    Some(Fit {
        idx,
        rows,
        w,
        inv_g,
        beta,
    })
}

/// invG · (Σ res² s_i s_i') · invG, entry (j, j): the sandwich variance of coefficient j for
/// score rows s_i (already kernel-weighted).
fn sandwich_entry(inv_g: &Matrix, scores: &[Vec<f64>], res: &[f64], j: usize) -> f64 {
    // (invG s_i)_j is all that is needed: V_jj = Σ res_i² ((invG s_i)_j)².
    scores
        .iter()
        .zip(res)
        .map(|(s, r)| {
            let a: f64 = (0..s.len()).map(|k| inv_g.get(j, k) * s[k]).sum();
            r * r * a * a
        })
        .sum()
}

/// One stage of rdrobust's bandwidth plug-in: fit order `o` for derivative `nu`, bias from a
/// fit of order `o_b` at bandwidth `h_b`, regularised when `scale` > 0.
#[derive(Clone, Copy)]
struct BwStage {
    o: usize,
    nu: usize,
    o_b: usize,
    h_b: f64,
    scale: f64,
}

/// rdrobust's bandwidth building block: (V, B, R, rate) of one stage on one side, with the
/// variance part fitted at the pilot bandwidth `h_v`.
fn bw_block(
    side: &Side,
    c: f64,
    h_v: f64,
    stage: BwStage,
    nnmatch: usize,
) -> Option<(f64, f64, f64, f64)> {
    let BwStage {
        o,
        nu,
        o_b,
        h_b,
        scale,
    } = stage;
    let fv = fit(side, c, h_v, o)?;
    let scores: Vec<Vec<f64>> = fv
        .rows
        .iter()
        .zip(&fv.w)
        .map(|(r, w)| r.iter().map(|v| v * w).collect())
        .collect();
    let res = nn_residuals(side, &fv.idx, nnmatch);
    let v_v = sandwich_entry(&fv.inv_g, &scores, &res, nu);
    let mut v = vec![0.0; o + 1];
    for ((r, w), &i) in fv.rows.iter().zip(&fv.w).zip(&fv.idx) {
        let u = ((side.x[i] - c) / h_v).powi(o as i32 + 1);
        for (a, vv) in v.iter_mut().enumerate() {
            *vv += w * r[a] * u;
        }
    }
    let bconst = h_v.powi(nu as i32) * fv.inv_g.mul_vec(&v)[nu];

    if !(h_b.is_finite() && h_b > 0.0) {
        return None;
    }
    let fb = fit(side, c, h_b, o_b)?;
    let mut bw_reg = 0.0;
    if scale > 0.0 {
        let scores_b: Vec<Vec<f64>> = fb
            .rows
            .iter()
            .zip(&fb.w)
            .map(|(r, w)| r.iter().map(|v| v * w).collect())
            .collect();
        let res_b = nn_residuals(side, &fb.idx, nnmatch);
        let v_b = sandwich_entry(&fb.inv_g, &scores_b, &res_b, o_b);
        bw_reg = 3.0 * bconst * bconst * v_b;
    }
    let b = (2.0 * (o + 1 - nu) as f64).sqrt() * bconst * fb.beta[o_b];
    let vv = (2 * nu + 1) as f64 * h_v.powi(2 * nu as i32 + 1) * v_v;
    let r = scale * (2 * (o + 1 - nu)) as f64 * bw_reg;
    Some((vv, b, r, 1.0 / (2 * o + 3) as f64))
}

/// R's `quantile(type = 2)` on sorted data.
fn quantile_type2(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let h = n as f64 * p;
    let j = h.floor() as usize;
    if h == j as f64 {
        0.5 * (sorted[j - 1] + sorted[j])
    } else {
        sorted[j]
    }
}

fn too_little_variation() -> StatsError {
    StatsError::BadInput {
        what: "not enough variability in the running variable to select a bandwidth".into(),
        hint: "check for mass points in the running variable, or give a fixed bandwidth".into(),
    }
}

/// The mserd bandwidths (h, b) on the raw scale, and whether mass points were adjusted for.
fn mserd(
    left: &Side,
    right: &Side,
    x_sorted: &[f64],
    y_all: &[f64],
    c: f64,
    nnmatch: usize,
) -> Result<(f64, f64, bool)> {
    let x_sd = var(x_sorted, 1.0).sqrt();
    let y_sd = var(y_all, 1.0).sqrt();
    if x_sd == 0.0 || y_sd == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: if x_sd == 0.0 {
                "the running variable"
            } else {
                "the outcome"
            }
            .into(),
            hint: "regression discontinuity needs variation in both".into(),
        });
    }
    let iq = quantile_type2(x_sorted, 0.75) - quantile_type2(x_sorted, 0.25);
    let bwp = (iq / x_sd / 1.349).min(1.0);
    let l = left.scaled(x_sd, y_sd);
    let r = right.scaled(x_sd, y_sd);
    let cs = c / x_sd;
    let (n_l, n_r) = (left.x.len(), right.x.len());
    let m_l = left.distinct(&(0..n_l).collect::<Vec<_>>());
    let m_r = right.distinct(&(0..n_r).collect::<Vec<_>>());
    let mass = 1.0 - m_l as f64 / n_l as f64 >= 0.2 || 1.0 - m_r as f64 / n_r as f64 >= 0.2;
    let x_min = x_sorted[0] / x_sd;
    let x_max = x_sorted[x_sorted.len() - 1] / x_sd;
    let range_l = (c - left.x[0]).abs() / x_sd;
    let range_r = (c - right.x[n_r - 1]).abs() / x_sd;

    let mut c_bw = 2.576 * bwp * ((m_l + m_r) as f64).powf(-0.2);
    let bw_max = (cs - x_min).abs().max((cs - x_max).abs());
    c_bw = c_bw.min(bw_max);
    // With mass points rdrobust (masspoints="adjust") sets bwcheck = 10: every bandwidth must
    // reach at least the 10th distinct value from the cutoff on each side.
    let bw_min = if mass {
        let uniq_l: Vec<f64> = {
            let mut u: Vec<f64> = l.x.clone();
            u.dedup();
            u.reverse();
            u
        };
        let mut uniq_r = r.x.clone();
        uniq_r.dedup();
        let pad = 1.0 + sqrt_eps();
        let ml = (uniq_l[10.min(uniq_l.len()) - 1] - cs).abs() * pad;
        let mr = (uniq_r[10.min(uniq_r.len()) - 1] - cs).abs() * pad;
        c_bw = c_bw.max(ml).max(mr);
        Some(ml.max(mr))
    } else {
        None
    };

    let pad = 1.0 + sqrt_eps();
    let block = |s: &Side, o, nu, o_b, h_b, scale| {
        let stage = BwStage {
            o,
            nu,
            o_b,
            h_b,
            scale,
        };
        bw_block(s, cs, c_bw, stage, nnmatch).ok_or_else(too_little_variation)
    };
    let dl = block(&l, Q + 1, Q + 1, Q + 2, range_l * pad, 0.0)?;
    let dr = block(&r, Q + 1, Q + 1, Q + 2, range_r * pad, 0.0)?;
    let mut d_bw = ((dl.0 + dr.0) / (dr.1 - dl.1).powi(2)).powf(dl.3);
    d_bw = d_bw.min(bw_max);
    if let Some(m) = bw_min {
        d_bw = d_bw.max(m);
    }
    let bl = block(&l, Q, P + 1, Q + 1, d_bw, 1.0)?;
    let br = block(&r, Q, P + 1, Q + 1, d_bw, 1.0)?;
    let b_bw = ((bl.0 + br.0) / ((br.1 - bl.1).powi(2) + (br.2 + bl.2)))
        .powf(bl.3)
        .min(bw_max);
    let hl = block(&l, P, 0, Q, b_bw, 1.0)?;
    let hr = block(&r, P, 0, Q, b_bw, 1.0)?;
    let h_bw = ((hl.0 + hr.0) / ((hr.1 - hl.1).powi(2) + (hr.2 + hl.2)))
        .powf(hl.3)
        .min(bw_max);
    let (h, b) = (x_sd * h_bw, x_sd * b_bw);
    if !(h.is_finite() && h > 0.0 && b.is_finite() && b > 0.0) {
        return Err(too_little_variation());
    }
    Ok((h, b, mass))
}

/// Point estimates and variances on one side, plus the local linear coefficients.
struct SideEstimate {
    tau_cl: f64,
    tau_bc: f64,
    v_cl: f64,
    v_rb: f64,
    beta: [f64; 2],
}

fn side_estimate(side: &Side, c: f64, h: f64, b: f64, nnmatch: usize) -> SideEstimate {
    let n = side.x.len();
    let in_h: Vec<bool> = side.x.iter().map(|&x| kweight(x, c, h) > 0.0).collect();
    let in_b: Vec<bool> = side.x.iter().map(|&x| kweight(x, c, b) > 0.0).collect();
    let idx: Vec<usize> = (0..n)
        .filter(|&i| if h > b { in_h[i] } else { in_b[i] })
        .collect();
    let w_h: Vec<f64> = idx.iter().map(|&i| kweight(side.x[i], c, h)).collect();
    let w_b: Vec<f64> = idx.iter().map(|&i| kweight(side.x[i], c, b)).collect();
    let r_q: Vec<Vec<f64>> = idx.iter().map(|&i| vander(side.x[i] - c, Q)).collect();
    let r_p: Vec<Vec<f64>> = r_q.iter().map(|r| r[..=P].to_vec()).collect();
    let inv_gq = chol_inverse(
        &cholesky(&weighted_gram(&r_q, &w_b)).expect("checked: q+1 distinct x inside b"),
    );
    let inv_gp = chol_inverse(
        &cholesky(&weighted_gram(&r_p, &w_h)).expect("checked: p+1 distinct x inside h"),
    );
    // L = Σ w_h R_p u^(p+1), u = (x - c)/h.
    let mut l = vec![0.0; P + 1];
    for ((r, w), &i) in r_p.iter().zip(&w_h).zip(&idx) {
        let u = ((side.x[i] - c) / h).powi(P as i32 + 1);
        for (a, v) in l.iter_mut().enumerate() {
            *v += w * r[a] * u;
        }
    }
    let hp1 = h.powi(P as i32 + 1);
    // Score rows: conventional RW_p, bias-corrected Q_q = RW_p - h^(p+1) m L'.
    let rw_p: Vec<Vec<f64>> = r_p
        .iter()
        .zip(&w_h)
        .map(|(r, w)| r.iter().map(|v| v * w).collect())
        .collect();
    let q_q: Vec<Vec<f64>> = r_q
        .iter()
        .zip(&w_b)
        .zip(&rw_p)
        .map(|((rq, wb), rw)| {
            let m: f64 = (0..=Q).map(|k| rq[k] * inv_gq.get(P + 1, k)).sum::<f64>() * wb;
            rw.iter().zip(&l).map(|(v, lk)| v - hp1 * m * lk).collect()
        })
        .collect();
    let y: Vec<f64> = idx.iter().map(|&i| side.y[i]).collect();
    let coefs = |scores: &[Vec<f64>]| -> Vec<f64> {
        let mut s = vec![0.0; P + 1];
        for (row, yi) in scores.iter().zip(&y) {
            for (a, v) in s.iter_mut().enumerate() {
                *v += row[a] * yi;
            }
        }
        inv_gp.mul_vec(&s)
    };
    let beta = coefs(&rw_p);
    let tau_bc = coefs(&q_q)[0];
    let res = nn_residuals(side, &idx, nnmatch);
    SideEstimate {
        tau_cl: beta[0],
        tau_bc,
        v_cl: sandwich_entry(&inv_gp, &rw_p, &res, 0),
        v_rb: sandwich_entry(&inv_gp, &q_q, &res, 0),
        beta: [beta[0], beta[1]],
    }
}

/// Estimates the jump in E[y | x] at the cutoff.
///
/// # Errors
/// [`StatsError::BadInput`] for mismatched lengths or non-finite values, or too little variation
/// to select a bandwidth; [`StatsError::TooFewUnits`] when a side of the cutoff has fewer than 3
/// distinct x values, or the bandwidth leaves fewer than p+1 (h) or q+1 (b) distinct values on a
/// side; [`StatsError::ZeroVariance`] for a constant outcome or running variable.
pub fn regression_discontinuity(y: &[f64], x: &[f64], opts: &RdOptions) -> Result<RdResult> {
    check_alpha(opts.alpha)?;
    if y.len() != x.len() {
        return Err(StatsError::BadInput {
            what: format!(
                "outcome has {} rows, running variable has {}",
                y.len(),
                x.len()
            ),
            hint: "read both from the same rows".into(),
        });
    }
    if let Some(i) = (0..x.len()).find(|&i| !x[i].is_finite() || !y[i].is_finite()) {
        return Err(StatsError::BadInput {
            what: format!("non-finite outcome or running variable at row {i}"),
            hint: "drop or fix missing values first".into(),
        });
    }
    if opts.nnmatch == 0 {
        return Err(StatsError::InvalidArgument {
            name: "nnmatch".into(),
            message: "must be at least 1".into(),
            hint: "rdrobust's default is 3".into(),
        });
    }
    let c = opts.cutoff;
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let split = xs.partition_point(|v| *v < c);
    let left = Side::new(xs[..split].to_vec(), ys[..split].to_vec());
    let right = Side::new(xs[split..].to_vec(), ys[split..].to_vec());
    for (name, side) in [("left", &left), ("right", &right)] {
        let m = side.distinct(&(0..side.x.len()).collect::<Vec<_>>());
        if m < Q + 1 {
            return Err(StatsError::TooFewUnits {
                what: format!("the {name} side of the cutoff {c} (distinct running-variable values)"),
                got: m,
                need: Q + 1,
                hint: "check the cutoff: it must lie inside the range of the running variable with data on both sides".into(),
            });
        }
    }
    let mut warnings = Vec::new();
    let (h, b, selector) = match opts.bandwidth {
        Some(h) => {
            if !(h.is_finite() && h > 0.0) {
                return Err(StatsError::InvalidArgument {
                    name: "bandwidth".into(),
                    message: format!("{h} must be positive"),
                    hint: "give a bandwidth in units of the running variable".into(),
                });
            }
            (h, h, "manual")
        }
        None if xs.len() < 20 => {
            warnings.push("fewer than 20 observations: bandwidth set to the widest distance from the cutoff (as rdrobust does)".into());
            let h = (c - xs[0]).abs().max((xs[xs.len() - 1] - c).abs());
            (h, h, "manual")
        }
        None => {
            let (h, b, mass) = mserd(&left, &right, &xs, &ys, c, opts.nnmatch)?;
            if mass {
                warnings.push("mass points detected in the running variable: bandwidths held at or above the 10th distinct value from the cutoff (rdrobust masspoints=\"adjust\")".into());
            }
            (h, b, "mserd")
        }
    };
    let count = |s: &Side, bw: f64| s.x.iter().filter(|&&v| kweight(v, c, bw) > 0.0).count();
    let inside = |s: &Side, bw: f64| {
        let idx: Vec<usize> = (0..s.x.len())
            .filter(|&i| kweight(s.x[i], c, bw) > 0.0)
            .collect();
        s.distinct(&idx)
    };
    for (name, side) in [("left", &left), ("right", &right)] {
        for (bw, need, label) in [(h, P + 1, "h"), (b, Q + 1, "b")] {
            let got = inside(side, bw);
            if got < need {
                return Err(StatsError::TooFewUnits {
                    what: format!("the {name} side inside the bandwidth {label} = {bw} (distinct running-variable values)"),
                    got,
                    need,
                    hint: "widen the bandwidth or collect more observations near the cutoff".into(),
                });
            }
        }
    }
    let l = side_estimate(&left, c, h, b, opts.nnmatch);
    let r = side_estimate(&right, c, h, b, opts.nnmatch);
    let tau_cl = r.tau_cl - l.tau_cl;
    let tau_bc = r.tau_bc - l.tau_bc;
    let se_cl = (l.v_cl + r.v_cl).sqrt();
    let se_rb = (l.v_rb + r.v_rb).sqrt();
    if !(se_cl > 0.0 && se_rb > 0.0) {
        return Err(StatsError::ZeroVariance {
            what: "the outcome near the cutoff (the standard error is zero)".into(),
            hint: "check the outcome column".into(),
        });
    }
    let q = norm_ppf(1.0 - opts.alpha / 2.0);
    let mut diagnostics = BTreeMap::new();
    diagnostics.insert("h".into(), h);
    diagnostics.insert("b".into(), b);
    diagnostics.insert("n_h_left".into(), count(&left, h) as f64);
    diagnostics.insert("n_h_right".into(), count(&right, h) as f64);
    diagnostics.insert("mean_y_left".into(), mean(&left.y));
    diagnostics.insert("mean_y_right".into(), mean(&right.y));
    let make = |method: &str, tau: f64, se: f64| Estimate {
        method: method.into(),
        effect: tau,
        std_error: se,
        statistic: tau / se,
        df: None,
        p_value: norm_two_sided_p(tau / se),
        ci: Interval {
            level: 1.0 - opts.alpha,
            lower: tau - q * se,
            upper: tau + q * se,
            reference: Reference::Normal,
        },
        diagnostics: diagnostics.clone(),
        warnings: warnings.clone(),
    };
    Ok(RdResult {
        conventional: make("RD local linear (conventional)", tau_cl, se_cl),
        bias_corrected: make("RD local linear (bias-corrected)", tau_bc, se_cl),
        robust: make("RD local linear (robust bias-corrected)", tau_bc, se_rb),
        h,
        b,
        bandwidth_selector: selector.into(),
        fit_left: l.beta,
        fit_right: r.beta,
        n_left: left.x.len(),
        n_right: right.x.len(),
        n_h_left: count(&left, h),
        n_h_right: count(&right, h),
        n_b_left: count(&left, b),
        n_b_right: count(&right, b),
        warnings,
    })
}
