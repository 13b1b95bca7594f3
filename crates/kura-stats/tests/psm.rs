//! Propensity score matching against statsmodels Logit + a brute-force Python implementation
//! of MatchIt's nearest-neighbour algorithm (fixtures/psm.json).

mod common;
use common::{close, f, fixture, vf};
use kura_stats::psm::{propensity_score_matching, PsmOptions};
use kura_stats::StatsError;
use serde_json::Value;

fn check_case(c: &Value, treat: &[f64], y: &[f64], covs: &[(&str, &[f64])]) {
    let label = c["label"].as_str().expect("label");
    let opts = PsmOptions {
        caliper_sd: c["caliper_sd"].as_f64(),
        ratio: c["ratio"].as_u64().expect("ratio") as usize,
        replace: c["replace"].as_bool().expect("replace"),
        alpha: 0.05,
    };
    let r = propensity_score_matching(treat, y, covs, &opts).expect(label);
    for (g, w) in r.propensity_model.params.iter().zip(vf(&c["logit_params"])) {
        close(&format!("{label} logit param"), *g, w);
    }
    for (g, w) in r
        .propensity_model
        .std_errors
        .iter()
        .zip(vf(&c["logit_bse"]))
    {
        close(&format!("{label} logit se"), *g, w);
    }
    match c["caliper_logit"].as_f64() {
        Some(w) => close(
            &format!("{label} caliper"),
            r.caliper_logit.expect("caliper"),
            w,
        ),
        None => assert!(r.caliper_logit.is_none()),
    }
    let want: Vec<(usize, usize)> = c["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            (
                p[0].as_u64().expect("t") as usize,
                p[1].as_u64().expect("c") as usize,
            )
        })
        .collect();
    let got: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.treated, p.control)).collect();
    assert!(!want.is_empty());
    assert_eq!(got, want, "{label}: matched pairs differ");
    assert_eq!(
        r.n_treated_matched as u64,
        c["n_treated_matched"].as_u64().expect("n")
    );
    assert_eq!(
        r.n_controls_used as u64,
        c["n_controls_used"].as_u64().expect("n")
    );
    close(&format!("{label} att"), r.estimate.effect, f(&c["att"]));
    close(&format!("{label} se"), r.estimate.std_error, f(&c["se"]));
    close(&format!("{label} p"), r.estimate.p_value, f(&c["p_value"]));
    close(
        &format!("{label} ci lo"),
        r.estimate.ci.lower,
        f(&c["ci_lower"]),
    );
    close(
        &format!("{label} ci hi"),
        r.estimate.ci.upper,
        f(&c["ci_upper"]),
    );
    let bal = c["balance"].as_array().expect("balance");
    assert_eq!(r.balance.len(), bal.len());
    for (g, w) in r.balance.iter().zip(bal) {
        assert_eq!(g.variable, w["variable"].as_str().expect("v"));
        let v = &g.variable;
        close(
            &format!("{label} {v} smd before"),
            g.smd_before.expect("smd"),
            f(&w["smd_before"]),
        );
        close(
            &format!("{label} {v} smd after"),
            g.smd_after.expect("smd"),
            f(&w["smd_after"]),
        );
        close(
            &format!("{label} {v} control mean after"),
            g.mean_control_after,
            f(&w["mean_control_after"]),
        );
    }
}

#[test]
fn matches_reference_on_continuous_covariates() {
    let fx = fixture("psm.json");
    let d = &fx["data"];
    let (t, y) = (vf(&d["treatment"]), vf(&d["outcome"]));
    let (x1, x2, x3) = (vf(&d["x1"]), vf(&d["x2"]), vf(&d["x3"]));
    let covs: [(&str, &[f64]); 3] = [("x1", &x1), ("x2", &x2), ("x3", &x3)];
    let cases = fx["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 5);
    for c in cases {
        check_case(c, &t, &y, &covs);
    }
}

#[test]
fn matches_reference_with_exact_score_ties() {
    let fx = fixture("psm.json");
    let d = &fx["ties_data"];
    let (t, y) = (vf(&d["treatment"]), vf(&d["outcome"]));
    let (a, b) = (vf(&d["a"]), vf(&d["b"]));
    check_case(&fx["ties_case"], &t, &y, &[("a", &a), ("b", &b)]);
}

#[test]
fn separation_and_empty_caliper_are_errors() {
    // x perfectly predicts treatment.
    let t = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let y = [1.0, 2.0, 1.5, 2.5, 3.0, 4.0, 3.5, 4.5];
    assert!(matches!(
        propensity_score_matching(&t, &y, &[("x", &x)], &PsmOptions::default()),
        Err(StatsError::PerfectSeparation { .. })
    ));
    // Overlapping but far apart scores with a tiny caliper: nobody matches.
    let t2 = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    let x2 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let opts = PsmOptions {
        caliper_sd: Some(1e-9),
        ..PsmOptions::default()
    };
    assert!(matches!(
        propensity_score_matching(&t2, &y, &[("x", &x2)], &opts),
        Err(StatsError::NoMatches { .. })
    ));
    assert!(matches!(
        propensity_score_matching(
            &[1.0, 0.0, 0.0],
            &[1.0, 2.0, 3.0],
            &[("x", &[1.0, 2.0, 2.5])],
            &PsmOptions::default()
        ),
        Err(StatsError::TooFewUnits { .. })
    ));
}
