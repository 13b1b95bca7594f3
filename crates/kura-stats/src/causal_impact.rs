//! CausalImpact: a Bayesian structural time-series counterfactual, fitted by Gibbs sampling.
//!
//! The model is Google's R package CausalImpact with its defaults (which call `bsts`): on the
//! pre-period, standardised to mean 0 and SD 1,
//!
//! ```text
//! y_t = mu_t [+ s_t] + x_t' beta + eps_t,   eps_t ~ N(0, sigma^2)
//! mu_{t+1} = mu_t + eta_t,                  eta_t ~ N(0, sigma_level^2)
//! s_{t+1}  = -(s_t + ... + s_{t-S+2}) + w_t  (optional dummy seasonal with S seasons)
//! ```
//!
//! with CausalImpact's priors: `1/sigma_level^2 ~ Gamma(32/2, 32 (0.01 sd_y)^2 / 2)` truncated
//! at `sigma_level <= sd_y`; a spike-and-slab prior on the static coefficients (inclusion
//! probability = expected model size 3 / number of covariates, slab precision
//! `0.01 [(1 - 0.5) X'X/n + 0.5 diag(X'X)/n]`, residual prior `1/sigma^2 ~ Gamma(50/2, 50 *
//! (1 - 0.8) sd_y^2 / 2)`). One Gibbs sweep draws the states by forward-filtering
//! backward-sampling, then `sigma_level` (and `sigma_season`), then the inclusion indicators
//! one at a time from their marginal likelihood (beta and sigma integrated out), then `sigma`
//! and `beta`. The post-period states are simulated forward from the last pre-period state,
//! which is what the Kalman smoother does with missing observations.
//!
//! Reported exactly as the R package does (`CompileSummaryTable` since 1.3): absolute effect
//! = observed minus the posterior-mean prediction; its interval from posterior predictive
//! samples (with observation noise); relative effect = mean over samples of
//! `sum(y_post) / sum(y_sample_post) - 1` (the same for average and cumulative); the one-sided
//! tail-area probability `min(#{sum_s >= sum_y}, #{sum_s <= sum_y}) / (S + 1)` with the
//! observed sum counted among the samples. Intervals use R's default (type 7) quantiles.
//!
//! Results are Monte Carlo draws: with a fixed seed they are reproducible, and they agree with
//! other implementations of the same model only up to Monte Carlo error.

use crate::summary::{mean, var};
use crate::{Result, StatsError};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, StandardNormal};
use serde::Serialize;

/// Options; [`Default`] is R CausalImpact's defaults (1000 iterations, 10% burn-in, seed 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct CausalImpactOptions {
    pub niter: usize,
    /// Share of the first iterations discarded (R's `SuggestBurn(0.1, ...)`).
    pub burn_fraction: f64,
    pub seed: u64,
    /// Seasons of a dummy seasonal component (`nseasons`); None or 1 for no seasonality.
    pub nseasons: Option<usize>,
    /// Prior guess of the level's random-walk SD, in SDs of y (`prior.level.sd`).
    pub prior_level_sd: f64,
    /// Expected number of covariates in the model (bsts' `expected.model.size`, 3 in R).
    pub expected_model_size: f64,
    pub alpha: f64,
}

impl Default for CausalImpactOptions {
    fn default() -> Self {
        CausalImpactOptions {
            niter: 1000,
            burn_fraction: 0.1,
            seed: 1,
            nseasons: None,
            prior_level_sd: 0.01,
            expected_model_size: 3.0,
            alpha: 0.05,
        }
    }
}

/// One row of the R summary table ("Average" or "Cumulative").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectSummary {
    pub actual: f64,
    pub predicted: f64,
    pub predicted_lower: f64,
    pub predicted_upper: f64,
    pub predicted_sd: f64,
    pub abs_effect: f64,
    pub abs_effect_lower: f64,
    pub abs_effect_upper: f64,
    pub abs_effect_sd: f64,
    /// None when the predicted sum is zero in some draw (the ratio is undefined).
    pub rel_effect: Option<f64>,
    pub rel_effect_lower: Option<f64>,
    pub rel_effect_upper: Option<f64>,
    pub rel_effect_sd: Option<f64>,
}

/// Pointwise series for the three-panel plot (original units, whole series).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImpactSeries {
    pub actual: Vec<f64>,
    pub pred_mean: Vec<f64>,
    pub pred_lower: Vec<f64>,
    pub pred_upper: Vec<f64>,
    pub point_effect: Vec<f64>,
    pub point_effect_lower: Vec<f64>,
    pub point_effect_upper: Vec<f64>,
    /// Cumulative effect, zero before the intervention.
    pub cum_effect: Vec<f64>,
    pub cum_effect_lower: Vec<f64>,
    pub cum_effect_upper: Vec<f64>,
}

/// The CausalImpact report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CausalImpactResult {
    pub average: EffectSummary,
    pub cumulative: EffectSummary,
    /// Posterior tail-area probability of the overall effect (one-sided).
    pub p_value: f64,
    pub alpha: f64,
    /// Index of the first post-period point.
    pub post_start: usize,
    /// Posterior inclusion probability of each covariate, in input order.
    pub inclusion_probabilities: Vec<(String, f64)>,
    /// Retained draws (after burn-in).
    pub n_samples: usize,
    pub series: ImpactSeries,
    pub warnings: Vec<String>,
}

/// Dense small-matrix helpers for the state-space recursions (m = 1 + seasons - 1).
mod small {
    pub type M = Vec<f64>;
    pub fn mul(a: &M, b: &M, m: usize) -> M {
        let mut o = vec![0.0; m * m];
        for i in 0..m {
            for k in 0..m {
                let v = a[i * m + k];
                if v != 0.0 {
                    for j in 0..m {
                        o[i * m + j] += v * b[k * m + j];
                    }
                }
            }
        }
        o
    }
    pub fn t(a: &M, m: usize) -> M {
        let mut o = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                o[j * m + i] = a[i * m + j];
            }
        }
        o
    }
    pub fn mv(a: &M, v: &[f64], m: usize) -> Vec<f64> {
        (0..m)
            .map(|i| (0..m).map(|j| a[i * m + j] * v[j]).sum())
            .collect()
    }
    /// Cholesky factor of a positive semi-definite matrix; pivots below `tol` are zeroed so
    /// that deterministic state components (seasonal lags) are handled.
    pub fn chol_psd(a: &M, m: usize) -> M {
        let mut l = vec![0.0; m * m];
        let scale = (0..m).map(|i| a[i * m + i].abs()).fold(0.0, f64::max);
        let tol = 1e-12 * scale.max(1e-300);
        for j in 0..m {
            let mut d = a[j * m + j];
            for k in 0..j {
                d -= l[j * m + k] * l[j * m + k];
            }
            if d <= tol {
                continue;
            }
            let djj = d.sqrt();
            l[j * m + j] = djj;
            for i in (j + 1)..m {
                let mut s = a[i * m + j];
                for k in 0..j {
                    s -= l[i * m + k] * l[j * m + k];
                }
                l[i * m + j] = s / djj;
            }
        }
        l
    }
    /// Inverse of a symmetric positive-definite matrix (Gauss-Jordan with partial pivoting).
    pub fn inv(a: &M, m: usize) -> Option<M> {
        let mut w = a.clone();
        let mut o: M = (0..m * m)
            .map(|k| if k / m == k % m { 1.0 } else { 0.0 })
            .collect();
        for c in 0..m {
            let p = (c..m).max_by(|&x, &y| w[x * m + c].abs().total_cmp(&w[y * m + c].abs()))?;
            if w[p * m + c].abs() < 1e-300 {
                return None;
            }
            for j in 0..m {
                w.swap(c * m + j, p * m + j);
                o.swap(c * m + j, p * m + j);
            }
            let d = w[c * m + c];
            for j in 0..m {
                w[c * m + j] /= d;
                o[c * m + j] /= d;
            }
            for r in 0..m {
                if r != c {
                    let f = w[r * m + c];
                    if f != 0.0 {
                        for j in 0..m {
                            w[r * m + j] -= f * w[c * m + j];
                            o[r * m + j] -= f * o[c * m + j];
                        }
                    }
                }
            }
        }
        Some(o)
    }
}

/// The structural part: local level plus an optional dummy seasonal.
struct StateModel {
    m: usize,
    seasonal: bool,
    t_mat: small::M,
}

impl StateModel {
    fn new(nseasons: Option<usize>) -> Self {
        let s = nseasons.unwrap_or(1);
        let seasonal = s > 1;
        let m = if seasonal { s } else { 1 };
        let mut t_mat = vec![0.0; m * m];
        t_mat[0] = 1.0;
        if seasonal {
            for j in 1..m {
                t_mat[m + j] = -1.0;
            }
            for i in 2..m {
                t_mat[i * m + i - 1] = 1.0;
            }
        }
        StateModel { m, seasonal, t_mat }
    }
    /// Z' alpha: level plus current season.
    fn observe(&self, a: &[f64]) -> f64 {
        if self.seasonal {
            a[0] + a[1]
        } else {
            a[0]
        }
    }
    /// The seasonal component's innovation from state `prev` to state `next`: the new
    /// season's value minus what the transition matrix predicts for it.
    fn season_innovation(&self, prev: &[f64], next: &[f64]) -> f64 {
        let predicted: f64 = (0..self.m).map(|j| self.t_mat[self.m + j] * prev[j]).sum();
        next[1] - predicted
    }
    fn z(&self) -> Vec<f64> {
        let mut z = vec![0.0; self.m];
        z[0] = 1.0;
        if self.seasonal {
            z[1] = 1.0;
        }
        z
    }
}

fn normal<R: Rng>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// Draws 1/sigma^2 ~ Gamma(shape, rate) and returns sigma^2, optionally truncated so that
/// sigma <= `upper` (by rejection, as bsts does; the bound itself after 100 rejections).
fn draw_sigma2<R: Rng>(rng: &mut R, shape: f64, rate: f64, upper: Option<f64>) -> f64 {
    let g = Gamma::new(shape, 1.0 / rate).expect("shape and rate are positive");
    for _ in 0..100 {
        let s2 = 1.0 / g.sample(rng);
        match upper {
            Some(u) if s2 > u * u => continue,
            _ => return s2,
        }
    }
    upper.map_or(1.0, |u| u * u)
}

/// [`ffbs`] for the local level alone (m = 1): the same recursions in scalars, which is the
/// common case and an order of magnitude faster than the matrix path.
fn ffbs_level<R: Rng>(
    rng: &mut R,
    target: &[f64],
    sigma2: f64,
    sigma2_level: f64,
    a1: f64,
    p1: f64,
) -> Vec<f64> {
    let n = target.len();
    let mut af = Vec::with_capacity(n);
    let mut pf = Vec::with_capacity(n);
    let (mut a, mut p) = (a1, p1);
    for &yt in target {
        let f = p + sigma2;
        let k = p / f;
        let a_f = a + k * (yt - a);
        let p_f = p * (1.0 - k);
        af.push(a_f);
        pf.push(p_f);
        a = a_f;
        p = p_f + sigma2_level;
    }
    let mut states = vec![0.0; n];
    let mut next = af[n - 1] + pf[n - 1].max(0.0).sqrt() * normal(rng);
    states[n - 1] = next;
    for t in (0..n - 1).rev() {
        let j = pf[t] / (pf[t] + sigma2_level);
        let mean = af[t] + j * (next - af[t]);
        let var = (pf[t] * (1.0 - j)).max(0.0);
        next = mean + var.sqrt() * normal(rng);
        states[t] = next;
    }
    states
}

/// Forward-filtering backward-sampling of the states given the target series; the draws are
/// returned flat, `m` values per time point.
#[allow(clippy::too_many_arguments)]
fn ffbs<R: Rng>(
    rng: &mut R,
    model: &StateModel,
    target: &[f64],
    sigma2: f64,
    q: &[f64],
    a1: &[f64],
    p1: &small::M,
) -> Vec<f64> {
    let m = model.m;
    let n = target.len();
    let z = model.z();
    let tt = &model.t_mat;
    let t_tr = small::t(tt, m);
    let mut a = a1.to_vec();
    let mut p = p1.clone();
    let mut af = Vec::with_capacity(n);
    let mut pf = Vec::with_capacity(n);
    let mut pp_next = Vec::with_capacity(n);
    for &yt in target {
        let pz = small::mv(&p, &z, m);
        let f: f64 = z.iter().zip(&pz).map(|(a, b)| a * b).sum::<f64>() + sigma2;
        let v = yt - model.observe(&a);
        let a_f: Vec<f64> = a.iter().zip(&pz).map(|(ai, k)| ai + k * v / f).collect();
        let mut p_f = p.clone();
        for i in 0..m {
            for j in 0..m {
                p_f[i * m + j] -= pz[i] * pz[j] / f;
            }
        }
        let a_next = small::mv(tt, &a_f, m);
        let mut p_next = small::mul(&small::mul(tt, &p_f, m), &t_tr, m);
        for i in 0..m {
            p_next[i * m + i] += q[i];
        }
        af.push(a_f);
        pf.push(p_f);
        pp_next.push(p_next.clone());
        a = a_next;
        p = p_next;
    }
    let draw = |rng: &mut R, mean: &[f64], cov: &small::M| -> Vec<f64> {
        let l = small::chol_psd(cov, m);
        let e: Vec<f64> = (0..m).map(|_| normal(rng)).collect();
        (0..m)
            .map(|i| mean[i] + (0..=i).map(|k| l[i * m + k] * e[k]).sum::<f64>())
            .collect()
    };
    let mut states = vec![0.0; n * m];
    states[(n - 1) * m..].copy_from_slice(&draw(rng, &af[n - 1], &pf[n - 1]));
    for t in (0..n - 1).rev() {
        // J = P_t|t T' P_{t+1|t}^{-1}
        let Some(pinv) = small::inv(&pp_next[t], m) else {
            states[t * m..(t + 1) * m].copy_from_slice(&af[t]);
            continue;
        };
        let j = small::mul(&small::mul(&pf[t], &t_tr, m), &pinv, m);
        let pred = small::mv(tt, &af[t], m);
        let diff: Vec<f64> = states[(t + 1) * m..(t + 2) * m]
            .iter()
            .zip(&pred)
            .map(|(a, b)| a - b)
            .collect();
        let adj = small::mv(&j, &diff, m);
        let mean: Vec<f64> = af[t].iter().zip(&adj).map(|(a, b)| a + b).collect();
        let jtp = small::mul(&small::mul(&j, tt, m), &pf[t], m);
        let cov: small::M = pf[t].iter().zip(&jtp).map(|(a, b)| a - b).collect();
        let sym: small::M = (0..m * m)
            .map(|k| 0.5 * (cov[k] + cov[(k % m) * m + k / m]))
            .collect();
        states[t * m..(t + 1) * m].copy_from_slice(&draw(rng, &mean, &sym));
    }
    states
}

/// The spike-and-slab regression state: data summaries and prior, fixed across sweeps.
struct SpikeSlab {
    k: usize,
    n: f64,
    xtx: Vec<f64>,
    omega: Vec<f64>,
    log_prior_in: f64,
    log_prior_out: f64,
    df: f64,
    ss: f64,
}

/// Posterior of the regression for a given inclusion set: (log marginal, b_n, V_n, SS_n).
struct Conditional {
    log_marginal: f64,
    mean: Vec<f64>,
    chol_prec: Vec<f64>,
    ss_n: f64,
}

impl SpikeSlab {
    fn conditional(&self, inc: &[usize], xty: &[f64], yty: f64) -> Option<Conditional> {
        let q = inc.len();
        let logp: f64 = (0..self.k)
            .map(|j| {
                if inc.contains(&j) {
                    self.log_prior_in
                } else {
                    self.log_prior_out
                }
            })
            .sum();
        if q == 0 {
            let ss_n = self.ss + yty;
            return Some(Conditional {
                log_marginal: logp - 0.5 * (self.df + self.n) * ss_n.ln(),
                mean: vec![],
                chol_prec: vec![],
                ss_n,
            });
        }
        let sub = |mat: &[f64]| -> crate::linalg::Matrix {
            let mut o = crate::linalg::Matrix::zeros(q, q);
            for (a, &i) in inc.iter().enumerate() {
                for (b, &j) in inc.iter().enumerate() {
                    o.set(a, b, mat[i * self.k + j]);
                }
            }
            o
        };
        let omega = sub(&self.omega);
        let mut prec = sub(&self.xtx);
        for (p, o) in prec.data.iter_mut().zip(&omega.data) {
            *p += o;
        }
        let l_omega = crate::linalg::cholesky(&omega)?;
        let l_prec = crate::linalg::cholesky(&prec)?;
        let rhs: Vec<f64> = inc.iter().map(|&j| xty[j]).collect();
        let mean = crate::linalg::chol_solve(&l_prec, &rhs);
        let fit: f64 = mean.iter().zip(&rhs).map(|(a, b)| a * b).sum();
        let ss_n = (self.ss + yty - fit).max(1e-12);
        let logdet = |l: &crate::linalg::Matrix| (0..q).map(|i| l.get(i, i).ln()).sum::<f64>();
        Some(Conditional {
            log_marginal: logp + logdet(&l_omega)
                - logdet(&l_prec)
                - 0.5 * (self.df + self.n) * ss_n.ln(),
            mean,
            chol_prec: l_prec.data,
            ss_n,
        })
    }
}

/// R's type-7 quantile of unsorted values, by selection: O(n) rather than a sort, which matters
/// because the summary takes two quantiles of every time point's draws.
fn select_quantile(v: &mut [f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let (_, &mut below, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    match above.iter().copied().min_by(f64::total_cmp) {
        Some(next) => below + (h - lo as f64) * (next - below),
        None => below,
    }
}

fn quantiles(mut v: Vec<f64>, alpha: f64) -> (f64, f64) {
    let lower = select_quantile(&mut v, alpha / 2.0);
    (lower, select_quantile(&mut v, 1.0 - alpha / 2.0))
}

fn sd(v: &[f64]) -> f64 {
    var(v, 1.0).sqrt()
}

/// Fits the model on `y[..post_start]` and estimates the effect on `y[post_start..]`.
///
/// `covariates` are (name, full series) pairs: untreated series that predict y, observed in
/// both periods.
///
/// # Errors
/// [`StatsError::TooFewUnits`] for fewer than 3 pre-period points or no post-period point;
/// [`StatsError::ZeroVariance`] when y, or a covariate, is constant in the pre-period;
/// [`StatsError::BadInput`] for non-finite values or mismatched lengths;
/// [`StatsError::InvalidArgument`] for bad options.
pub fn causal_impact(
    y: &[f64],
    covariates: &[(&str, &[f64])],
    post_start: usize,
    opts: &CausalImpactOptions,
) -> Result<CausalImpactResult> {
    crate::result::check_alpha(opts.alpha)?;
    let n = y.len();
    if post_start < 3 {
        return Err(StatsError::TooFewUnits {
            what: "the pre-period".into(),
            got: post_start,
            need: 3,
            hint: "start the analysis window earlier so the model can learn the series".into(),
        });
    }
    if post_start >= n {
        return Err(StatsError::TooFewUnits {
            what: "the post-period".into(),
            got: n.saturating_sub(post_start),
            need: 1,
            hint: "the intervention date must fall inside the series".into(),
        });
    }
    if opts.niter < 10 || !(0.0..1.0).contains(&opts.burn_fraction) {
        return Err(StatsError::InvalidArgument {
            name: "niter".into(),
            message: format!(
                "{} iterations with burn-in fraction {}",
                opts.niter, opts.burn_fraction
            ),
            hint: "use at least 10 iterations (1000 by default) and a burn-in in [0, 1)".into(),
        });
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::BadInput {
            what: format!("the response has a non-finite value at point {i}"),
            hint: "fill or drop missing days before the analysis".into(),
        });
    }
    let pre = &y[..post_start];
    let (y_mean, y_sd) = (mean(pre), sd(pre));
    if y_sd == 0.0 {
        return Err(StatsError::ZeroVariance {
            what: "the response in the pre-period".into(),
            hint: "a constant series gives the model nothing to learn".into(),
        });
    }
    let mut xs: Vec<Vec<f64>> = Vec::new();
    for (name, x) in covariates {
        if x.len() != n {
            return Err(StatsError::BadInput {
                what: format!(
                    "covariate `{name}` has {} points, the response {n}",
                    x.len()
                ),
                hint: "align the covariates to the response's dates".into(),
            });
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(StatsError::BadInput {
                what: format!("covariate `{name}` has a non-finite value at point {i}"),
                hint: "fill or drop missing days before the analysis".into(),
            });
        }
        let (m, s) = (mean(&x[..post_start]), sd(&x[..post_start]));
        if s == 0.0 {
            return Err(StatsError::ZeroVariance {
                what: format!("covariate `{name}` in the pre-period"),
                hint: "drop it: a covariate constant before the intervention cannot predict y"
                    .into(),
            });
        }
        xs.push(x.iter().map(|v| (v - m) / s).collect());
    }
    let ys: Vec<f64> = y.iter().map(|v| (v - y_mean) / y_sd).collect();
    let k = xs.len();
    let npre = post_start;
    let model = StateModel::new(opts.nseasons);
    let m = model.m;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);

    // Priors (y is standardised, so sd_y = 1 on the pre-period).
    let sdy = 1.0;
    let level_guess = opts.prior_level_sd * sdy;
    let (level_shape, level_rate) = (32.0 / 2.0, 32.0 * level_guess * level_guess / 2.0);
    let (season_shape, season_rate) = (0.01 / 2.0, 0.01 * level_guess * level_guess / 2.0);
    let spike = (k > 0).then(|| {
        let mut xtx = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                xtx[i * k + j] = (0..npre).map(|t| xs[i][t] * xs[j][t]).sum();
            }
        }
        let nf = npre as f64;
        let mut omega = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                let dense = 0.5 * xtx[i * k + j] / nf;
                let diag = if i == j {
                    0.5 * xtx[i * k + j] / nf
                } else {
                    0.0
                };
                omega[i * k + j] = 0.01 * (dense + diag);
            }
        }
        let pi = (opts.expected_model_size / k as f64).min(1.0);
        SpikeSlab {
            k,
            n: nf,
            xtx,
            omega,
            log_prior_in: pi.ln(),
            log_prior_out: if pi < 1.0 {
                (1.0 - pi).ln()
            } else {
                f64::NEG_INFINITY
            },
            df: 50.0,
            ss: 50.0 * (1.0 - 0.8) * sdy * sdy,
        }
    });
    let (obs_df, obs_ss) = (0.01, 0.01 * sdy * sdy); // bsts without regression

    let mut sigma2 = 0.5;
    let mut sigma2_level = level_guess * level_guess;
    let mut sigma2_season = level_guess * level_guess;
    let mut beta = vec![0.0; k];
    let mut included: Vec<bool> = vec![
        spike
            .as_ref()
            .is_some_and(|s| s.log_prior_out == f64::NEG_INFINITY);
        k
    ];
    let mut a1 = vec![0.0; m];
    a1[0] = ys[0];
    let mut p1 = vec![0.0; m * m];
    for i in 0..m {
        p1[i * m + i] = sdy * sdy;
    }

    let burn = (opts.niter as f64 * opts.burn_fraction).floor() as usize;
    let keep = opts.niter - burn;
    let mut state_draws: Vec<Vec<f64>> = Vec::with_capacity(keep);
    let mut y_draws: Vec<Vec<f64>> = Vec::with_capacity(keep);
    let mut inclusion_counts = vec![0usize; k];
    let mut order: Vec<usize> = (0..k).collect();
    for iter in 0..opts.niter {
        // 1. States given the regression.
        let reg: Vec<f64> = (0..n)
            .map(|t| (0..k).map(|j| xs[j][t] * beta[j]).sum())
            .collect();
        let target: Vec<f64> = (0..npre).map(|t| ys[t] - reg[t]).collect();
        let mut q = vec![0.0; m];
        q[0] = sigma2_level;
        if model.seasonal {
            q[1] = sigma2_season;
        }
        let states = if model.seasonal {
            ffbs(&mut rng, &model, &target, sigma2, &q, &a1, &p1)
        } else {
            ffbs_level(&mut rng, &target, sigma2, sigma2_level, a1[0], p1[0])
        };
        // 2. Level (and seasonal) variances from the state innovations.
        // `states` is flat: point t's state is states[t * m..(t + 1) * m].
        let ssd: f64 = (1..npre)
            .map(|t| (states[t * m] - states[(t - 1) * m]).powi(2))
            .sum();
        sigma2_level = draw_sigma2(
            &mut rng,
            level_shape + (npre - 1) as f64 / 2.0,
            level_rate + ssd / 2.0,
            Some(sdy),
        );
        if model.seasonal {
            let ssd_s: f64 = (1..npre)
                .map(|t| {
                    model
                        .season_innovation(&states[(t - 1) * m..t * m], &states[t * m..])
                        .powi(2)
                })
                .sum();
            sigma2_season = draw_sigma2(
                &mut rng,
                season_shape + (npre - 1) as f64 / 2.0,
                season_rate + ssd_s / 2.0,
                Some(sdy),
            );
        }
        // 3. Regression (inclusion, sigma, beta) on y minus the states.
        let resid: Vec<f64> = (0..npre)
            .map(|t| ys[t] - model.observe(&states[t * m..]))
            .collect();
        match &spike {
            None => {
                let sse: f64 = resid.iter().map(|r| r * r).sum();
                sigma2 = draw_sigma2(
                    &mut rng,
                    (obs_df + npre as f64) / 2.0,
                    (obs_ss + sse) / 2.0,
                    None,
                );
            }
            Some(ss) => {
                let xty: Vec<f64> = (0..k)
                    .map(|j| (0..npre).map(|t| xs[j][t] * resid[t]).sum())
                    .collect();
                let yty: f64 = resid.iter().map(|r| r * r).sum();
                let set = |inc: &[bool]| -> Vec<usize> { (0..k).filter(|&j| inc[j]).collect() };
                if ss.log_prior_out.is_finite() {
                    order.shuffle(&mut rng);
                    for &j in &order {
                        let mut with = included.clone();
                        with[j] = true;
                        let mut without = included.clone();
                        without[j] = false;
                        let lw = ss
                            .conditional(&set(&with), &xty, yty)
                            .map(|c| c.log_marginal);
                        let lo = ss
                            .conditional(&set(&without), &xty, yty)
                            .map(|c| c.log_marginal);
                        included[j] = match (lw, lo) {
                            (Some(a), Some(b)) => {
                                let p_in = 1.0 / (1.0 + (b - a).exp());
                                rng.random::<f64>() < p_in
                            }
                            (None, _) => false,
                            (Some(_), None) => true,
                        };
                    }
                }
                let inc = set(&included);
                let cond = ss
                    .conditional(&inc, &xty, yty)
                    .ok_or_else(|| StatsError::Singular {
                        model: "the CausalImpact regression".into(),
                    })?;
                sigma2 = draw_sigma2(&mut rng, (ss.df + ss.n) / 2.0, cond.ss_n / 2.0, None);
                // beta ~ N(mean, sigma2 * prec^-1): solve L' z = e for the draw.
                let qn = inc.len();
                let e: Vec<f64> = (0..qn).map(|_| normal(&mut rng)).collect();
                let mut zv = e.clone();
                for i in (0..qn).rev() {
                    for r in (i + 1)..qn {
                        zv[i] -= cond.chol_prec[r * qn + i] * zv[r];
                    }
                    zv[i] /= cond.chol_prec[i * qn + i];
                }
                beta = vec![0.0; k];
                for (a, &j) in inc.iter().enumerate() {
                    beta[j] = cond.mean[a] + sigma2.sqrt() * zv[a];
                }
            }
        }
        if iter < burn {
            continue;
        }
        for (c, inc) in inclusion_counts.iter_mut().zip(&included) {
            *c += usize::from(*inc);
        }
        // Post-period states by forward simulation; contributions and predictive draws.
        let mut all_states = states;
        all_states.reserve((n - npre) * m);
        for t in npre..n {
            let mut next = small::mv(&model.t_mat, &all_states[(t - 1) * m..t * m], m);
            next[0] += sigma2_level.sqrt() * normal(&mut rng);
            if model.seasonal {
                next[1] += sigma2_season.sqrt() * normal(&mut rng);
            }
            all_states.extend_from_slice(&next);
        }
        let contrib: Vec<f64> = (0..n)
            .map(|t| {
                let reg_t: f64 = (0..k).map(|j| xs[j][t] * beta[j]).sum();
                (model.observe(&all_states[t * m..]) + reg_t) * y_sd + y_mean
            })
            .collect();
        let sig = sigma2.sqrt() * y_sd;
        let draws: Vec<f64> = contrib.iter().map(|c| c + sig * normal(&mut rng)).collect();
        state_draws.push(contrib);
        y_draws.push(draws);
    }

    summarise(
        y,
        post_start,
        &state_draws,
        &y_draws,
        opts.alpha,
        covariates
            .iter()
            .zip(&inclusion_counts)
            .map(|((name, _), c)| (name.to_string(), *c as f64 / keep as f64))
            .collect(),
    )
}

fn summarise(
    y: &[f64],
    post_start: usize,
    state_draws: &[Vec<f64>],
    y_draws: &[Vec<f64>],
    alpha: f64,
    inclusion_probabilities: Vec<(String, f64)>,
) -> Result<CausalImpactResult> {
    let n = y.len();
    let s = state_draws.len();
    let post = &y[post_start..];
    let npost = post.len() as f64;
    let pred_mean: Vec<f64> = (0..n)
        .map(|t| state_draws.iter().map(|d| d[t]).sum::<f64>() / s as f64)
        .collect();
    let (mut pred_lower, mut pred_upper) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for t in 0..n {
        let (lo, hi) = quantiles(y_draws.iter().map(|d| d[t]).collect(), alpha);
        pred_lower.push(lo);
        pred_upper.push(hi);
    }
    let sum_draws: Vec<f64> = y_draws
        .iter()
        .map(|d| d[post_start..].iter().sum())
        .collect();
    let y_sum: f64 = post.iter().sum();
    let pred_sum: f64 = pred_mean[post_start..].iter().sum();
    let mut warnings = Vec::new();
    let rel: Option<Vec<f64>> = if sum_draws.iter().all(|v| v.abs() > 1e-12) {
        Some(sum_draws.iter().map(|v| y_sum / v - 1.0).collect())
    } else {
        warnings
            .push("a predicted post-period sum is zero: the relative effect is undefined".into());
        None
    };
    let row = |scale: f64| -> EffectSummary {
        let preds: Vec<f64> = sum_draws.iter().map(|v| v / scale).collect();
        let effects: Vec<f64> = sum_draws.iter().map(|v| (y_sum - v) / scale).collect();
        let (pl, pu) = quantiles(preds.clone(), alpha);
        let (el, eu) = quantiles(effects.clone(), alpha);
        let (rl, ru) = match &rel {
            Some(r) => {
                let (a, b) = quantiles(r.clone(), alpha);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        EffectSummary {
            actual: y_sum / scale,
            predicted: pred_sum / scale,
            predicted_lower: pl,
            predicted_upper: pu,
            predicted_sd: sd(&preds),
            abs_effect: (y_sum - pred_sum) / scale,
            abs_effect_lower: el,
            abs_effect_upper: eu,
            abs_effect_sd: sd(&effects),
            rel_effect: rel.as_ref().map(|r| mean(r)),
            rel_effect_lower: rl,
            rel_effect_upper: ru,
            rel_effect_sd: rel.as_ref().map(|r| sd(r)),
        }
    };
    let average = row(npost);
    let cumulative = row(1.0);
    let ge = sum_draws.iter().filter(|v| **v >= y_sum).count() + 1;
    let le = sum_draws.iter().filter(|v| **v <= y_sum).count() + 1;
    let p_value = ge.min(le) as f64 / (s + 1) as f64;

    let point_effect: Vec<f64> = (0..n).map(|t| y[t] - pred_mean[t]).collect();
    let point_effect_lower: Vec<f64> = (0..n).map(|t| y[t] - pred_upper[t]).collect();
    let point_effect_upper: Vec<f64> = (0..n).map(|t| y[t] - pred_lower[t]).collect();
    let mut cum_effect = vec![0.0; n];
    let mut cum_effect_lower = vec![0.0; n];
    let mut cum_effect_upper = vec![0.0; n];
    let mut running = vec![0.0; s];
    let mut acc = 0.0;
    for t in post_start..n {
        acc += point_effect[t];
        for (r, d) in running.iter_mut().zip(y_draws) {
            *r += y[t] - d[t];
        }
        let (lo, hi) = quantiles(running.clone(), alpha);
        cum_effect[t] = acc;
        cum_effect_lower[t] = lo;
        cum_effect_upper[t] = hi;
    }
    Ok(CausalImpactResult {
        average,
        cumulative,
        p_value,
        alpha,
        post_start,
        inclusion_probabilities,
        n_samples: s,
        series: ImpactSeries {
            actual: y.to_vec(),
            pred_mean,
            pred_lower,
            pred_upper,
            point_effect,
            point_effect_lower,
            point_effect_upper,
            cum_effect,
            cum_effect_lower,
            cum_effect_upper,
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::select_quantile;

    /// R's type-7 quantile on sorted data, the definition the selection must reproduce.
    fn sorted_quantile(sorted: &[f64], p: f64) -> f64 {
        let h = (sorted.len() - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(sorted.len() - 1);
        sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
    }

    #[test]
    fn selection_quantile_equals_the_sorted_definition() {
        // R: quantile(c(3, 1, 4, 1, 5, 9, 2, 6), c(0.025, 0.5, 0.975)) = 1, 3.5, 8.475
        let mut v = vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        assert!((select_quantile(&mut v, 0.025) - 1.0).abs() < 1e-12);
        assert!((select_quantile(&mut v, 0.5) - 3.5).abs() < 1e-12);
        assert!((select_quantile(&mut v, 0.975) - 8.475).abs() < 1e-12);
        let mut x: Vec<f64> = (0..901)
            .map(|i| ((i * 7919) % 1009) as f64 * 0.37)
            .collect();
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        for p in [0.0, 0.025, 0.3, 0.5, 0.975, 1.0] {
            assert_eq!(
                select_quantile(&mut x, p),
                sorted_quantile(&sorted, p),
                "p = {p}"
            );
        }
        assert_eq!(select_quantile(&mut [2.5], 0.975), 2.5);
    }
}
