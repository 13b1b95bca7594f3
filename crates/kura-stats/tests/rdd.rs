//! Regression discontinuity against Python rdrobust 2.1 (fixtures/rd.json), including
//! rdrobust's bundled U.S. Senate data.

mod common;
use common::{close, f, fixture, vf};
use kura_stats::rdd::{regression_discontinuity, RdOptions};
use kura_stats::StatsError;

#[test]
fn matches_rdrobust_on_senate_synthetic_and_mass_point_data() {
    let fx = fixture("rd.json");
    let cases = fx["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    assert!(cases.iter().any(|c| c["label"] == "senate_default"));
    for c in cases {
        let label = c["label"].as_str().expect("label");
        let data = &fx[c["data"].as_str().expect("data")];
        let (x, y) = (vf(&data["x"]), vf(&data["y"]));
        let opts = RdOptions {
            cutoff: f(&c["cutoff"]),
            bandwidth: c["h_fixed"].as_f64(),
            ..RdOptions::default()
        };
        let r = regression_discontinuity(&y, &x, &opts).expect(label);
        close(&format!("{label} h"), r.h, f(&c["h"]));
        close(&format!("{label} b"), r.b, f(&c["b"]));
        let rows = [&r.conventional, &r.bias_corrected, &r.robust];
        for (k, est) in rows.iter().enumerate() {
            let w = format!("{label} row {k}");
            close(&format!("{w} coef"), est.effect, vf(&c["coef"])[k]);
            close(&format!("{w} se"), est.std_error, vf(&c["se"])[k]);
            close(&format!("{w} p"), est.p_value, vf(&c["pv"])[k]);
            close(&format!("{w} ci lo"), est.ci.lower, vf(&c["ci_lower"])[k]);
            close(&format!("{w} ci hi"), est.ci.upper, vf(&c["ci_upper"])[k]);
        }
        let n = |k: &str, i: usize| c[k][i].as_u64().expect("n") as usize;
        assert_eq!((r.n_left, r.n_right), (n("n", 0), n("n", 1)), "{label}");
        assert_eq!(
            (r.n_h_left, r.n_h_right),
            (n("n_h", 0), n("n_h", 1)),
            "{label}"
        );
        assert_eq!(
            (r.n_b_left, r.n_b_right),
            (n("n_b", 0), n("n_b", 1)),
            "{label}"
        );
    }
}

#[test]
fn degenerate_designs_are_errors() {
    let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
    let y: Vec<f64> = x.iter().map(|v| v * 0.5).collect();
    // Cutoff outside the data: nothing on the right.
    let opts = RdOptions {
        cutoff: 100.0,
        ..RdOptions::default()
    };
    assert!(matches!(
        regression_discontinuity(&y, &x, &opts),
        Err(StatsError::TooFewUnits { got: 0, .. })
    ));
    // A fixed bandwidth so narrow that no observation is inside it on one side.
    let opts = RdOptions {
        cutoff: 25.5,
        bandwidth: Some(0.4),
        ..RdOptions::default()
    };
    assert!(matches!(
        regression_discontinuity(&y, &x, &opts),
        Err(StatsError::TooFewUnits { .. })
    ));
    let mut y2 = y.clone();
    y2[3] = f64::NAN;
    assert!(matches!(
        regression_discontinuity(
            &y2,
            &x,
            &RdOptions {
                cutoff: 25.5,
                ..RdOptions::default()
            }
        ),
        Err(StatsError::BadInput { .. })
    ));
}
