//! CausalImpact against bsts-causalimpact (PyPI; R CausalImpact's model), within Monte Carlo
//! tolerance (fixtures/causal_impact.json).
//!
//! Rule: for each reported quantity the Rust value must lie within
//! `max(4 × SD across the 5 reference seeds, 0.2 × posterior SD of that quantity)` of the mean
//! of the reference runs. The second term allows for what is not Monte Carlo error: the
//! reference's spike-and-slab uses a g-prior and a different residual prior from R's bsts,
//! which kura-stats follows. The p-value must be within 0.05 absolute, or both below 0.01.
//!
//! Known difference: when variable selection is active (more covariates than the expected
//! model size 3, case `effect_5_covariates`) the two samplers' priors differ enough that the
//! posteriors differ by more than Monte Carlo error (kura-stats: average effect 3.56 [2.92,
//! 4.70]; bsts-causalimpact: 2.96 [1.45, 4.57]; truth 4.0). For that case only the
//! conclusions are checked (sign, significance, overlapping intervals). Against R itself
//! (next test) kura-stats agrees closely, but R's fixtures have no case with selection active.

mod common;
use common::{f, fixture, vf};
use kura_stats::causal_impact::{causal_impact, CausalImpactOptions};
use kura_stats::StatsError;
use serde_json::Value;

fn ref_stats(runs: &[Value], key: &str) -> (f64, f64) {
    let v: Vec<f64> = runs.iter().map(|r| f(&r[key])).collect();
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
    (m, sd)
}

#[test]
fn matches_bsts_causalimpact_within_monte_carlo_tolerance() {
    let fx = fixture("causal_impact.json");
    let cases = fx["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    let mut failures: Vec<String> = Vec::new();
    for c in cases {
        let label = c["label"].as_str().expect("label");
        let y = vf(&c["y"]);
        let names: Vec<String> = c["covariates"]
            .as_array()
            .expect("cov")
            .iter()
            .map(|v| v.as_str().expect("s").to_string())
            .collect();
        let xs: Vec<Vec<f64>> = names.iter().map(|n| vf(&c["x"][n])).collect();
        let covs: Vec<(&str, &[f64])> = names
            .iter()
            .zip(&xs)
            .map(|(n, x)| (n.as_str(), x.as_slice()))
            .collect();
        let opts = CausalImpactOptions {
            nseasons: c["nseasons"].as_u64().map(|s| s as usize),
            ..CausalImpactOptions::default()
        };
        let post = c["post_start"].as_u64().expect("post") as usize;
        let r = causal_impact(&y, &covs, post, &opts).expect(label);
        let runs = c["reference_runs"].as_array().expect("runs");
        let abs_sd = ref_stats(runs, "abs_effect_avg_sd").0;
        let rel_sd =
            (ref_stats(runs, "rel_effect_upper").0 - ref_stats(runs, "rel_effect_lower").0) / 3.92;
        let npost = (y.len() - post) as f64;
        let checks = [
            ("abs_effect_avg", r.average.abs_effect, abs_sd),
            ("abs_effect_avg_lower", r.average.abs_effect_lower, abs_sd),
            ("abs_effect_avg_upper", r.average.abs_effect_upper, abs_sd),
            ("abs_effect_avg_sd", r.average.abs_effect_sd, abs_sd),
            ("abs_effect_cum", r.cumulative.abs_effect, abs_sd * npost),
            ("rel_effect", r.average.rel_effect.expect("rel"), rel_sd),
            (
                "rel_effect_lower",
                r.average.rel_effect_lower.expect("rel"),
                rel_sd,
            ),
            (
                "rel_effect_upper",
                r.average.rel_effect_upper.expect("rel"),
                rel_sd,
            ),
        ];
        let selection_active = names.len() > 3;
        if selection_active {
            let (lo, _) = ref_stats(runs, "abs_effect_avg_lower");
            let (hi, _) = ref_stats(runs, "abs_effect_avg_upper");
            let (m, _) = ref_stats(runs, "abs_effect_avg");
            let (p_ref, _) = ref_stats(runs, "p_value");
            println!("{label} (selection active): got {:.4} [{:.4}, {:.4}], reference {m:.4} [{lo:.4}, {hi:.4}]",
                r.average.abs_effect, r.average.abs_effect_lower, r.average.abs_effect_upper);
            assert_eq!(r.average.abs_effect > 0.0, m > 0.0, "{label}: sign differs");
            assert_eq!(
                r.p_value < 0.05,
                p_ref < 0.05,
                "{label}: significance differs"
            );
            assert!(r.average.abs_effect_lower < hi && lo < r.average.abs_effect_upper);
            continue;
        }
        for (key, got, post_sd) in checks {
            let (m, sd) = ref_stats(runs, key);
            let tol = (4.0 * sd).max(0.2 * post_sd);
            println!("{label} {key}: got {got:.4} ref {m:.4} (seed sd {sd:.4}, tol {tol:.4})");
            if (got - m).abs() > tol {
                failures.push(format!("{label} {key}: got {got}, reference {m} ± {tol}"));
            }
        }
        let (p_ref, _) = ref_stats(runs, "p_value");
        println!("{label} p: got {:.4} ref {p_ref:.4}", r.p_value);
        assert!(
            (r.p_value - p_ref).abs() <= 0.05 || (r.p_value < 0.01 && p_ref < 0.01),
            "{label} p-value {} vs {p_ref}",
            r.p_value
        );
        // The cumulative relative effect equals the average one by definition (R >= 1.3).
        assert_eq!(r.cumulative.rel_effect, r.average.rel_effect);
        assert_eq!(r.n_samples, 900);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn same_seed_same_answer_and_degenerate_input_errors() {
    let y: Vec<f64> = (0..40).map(|t| 10.0 + (t as f64 * 0.7).sin()).collect();
    let x: Vec<f64> = (0..40).map(|t| 3.0 + (t as f64 * 0.7).sin()).collect();
    let opts = CausalImpactOptions {
        niter: 200,
        ..CausalImpactOptions::default()
    };
    let a = causal_impact(&y, &[("x", &x)], 30, &opts).expect("fit");
    let b = causal_impact(&y, &[("x", &x)], 30, &opts).expect("fit");
    assert_eq!(a, b);
    assert!(matches!(
        causal_impact(&y, &[("x", &x)], 2, &opts),
        Err(StatsError::TooFewUnits { need: 3, .. })
    ));
    let mut flat = x.clone();
    for v in flat.iter_mut().take(30) {
        *v = 1.0;
    }
    assert!(matches!(
        causal_impact(&y, &[("flat", &flat)], 30, &opts),
        Err(StatsError::ZeroVariance { .. })
    ));
    assert!(matches!(
        causal_impact(&y, &[], 40, &opts),
        Err(StatsError::TooFewUnits { .. })
    ));
}

/// R CausalImpact 1.4.1 / bsts 0.9.10 outputs (niter = 5000), generated by
/// `scripts/generate_r_reference.R` of github.com/YuminosukeSato/bsts-causalimpact (MIT) and
/// vendored under fixtures/r_causalimpact/. Rule: each quantity within 0.25 posterior SD of
/// R's value (posterior SD = interval width / 3.92; for the relative effect that SD divided by
/// the mean prediction), and the p-value on the same side of 0.05.
#[test]
fn matches_r_causalimpact_outputs() {
    for scenario in [
        "basic",
        "covariates",
        "strong_effect",
        "no_effect",
        "seasonal",
    ] {
        let fx = fixture(&format!("r_causalimpact/r_reference_{scenario}.json"));
        let y = vf(&fx["data"]["y"]);
        let xs: Vec<(String, Vec<f64>)> = match fx["data"]["x"].as_object() {
            Some(obj) => obj.iter().map(|(k, v)| (k.clone(), vf(v))).collect(),
            None => vec![],
        };
        let covs: Vec<(&str, &[f64])> =
            xs.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        let opts = CausalImpactOptions {
            niter: 5000,
            nseasons: fx["model_args"]["nseasons"].as_u64().map(|s| s as usize),
            ..CausalImpactOptions::default()
        };
        let post = fx["n_pre"].as_u64().expect("n_pre") as usize;
        let r = causal_impact(&y, &covs, post, &opts).expect(scenario);
        let o = &fx["r_output"];
        let post_sd = (f(&o["ci_upper"]) - f(&o["ci_lower"])) / 3.92;
        let npost = (y.len() - post) as f64;
        let rel_r = f(&o["relative_effect_mean"]);
        // Posterior SD of the relative effect ≈ SD of the average effect / mean prediction.
        let y_post_mean = y[post..].iter().sum::<f64>() / npost;
        let rel_sd = post_sd / (y_post_mean - f(&o["point_effect_mean"])).abs();
        let checks = [
            (
                "point_effect_mean",
                r.average.abs_effect,
                f(&o["point_effect_mean"]),
                0.25 * post_sd,
            ),
            (
                "ci_lower",
                r.average.abs_effect_lower,
                f(&o["ci_lower"]),
                0.25 * post_sd,
            ),
            (
                "ci_upper",
                r.average.abs_effect_upper,
                f(&o["ci_upper"]),
                0.25 * post_sd,
            ),
            (
                "cumulative_effect_total",
                r.cumulative.abs_effect,
                f(&o["cumulative_effect_total"]),
                0.25 * post_sd * npost,
            ),
            (
                "relative_effect_mean",
                r.average.rel_effect.expect("rel"),
                rel_r,
                0.25 * rel_sd,
            ),
        ];
        for (key, got, want, tol) in checks {
            println!("R {scenario} {key}: got {got:.4} R {want:.4} tol {tol:.4}");
            assert!(
                (got - want).abs() <= tol,
                "{scenario} {key}: got {got}, R {want} ± {tol}"
            );
        }
        let p_r = f(&o["p_value"]);
        println!("R {scenario} p: got {:.4} R {p_r:.4}", r.p_value);
        assert_eq!(
            r.p_value < 0.05,
            p_r < 0.05,
            "{scenario} p-value {} vs R {p_r}",
            r.p_value
        );
    }
}
