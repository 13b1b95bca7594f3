//! Sample sizes against statsmodels `TTestIndPower` / `NormalIndPower` `.solve_power`.

mod common;
use common::{close, f, fixture};
use kura_stats::{sample_size, MetricKind, SampleSizeRequest};

#[test]
fn sample_sizes_match_statsmodels_exactly() {
    let fx = fixture("power.json");
    let cases = fx["cases"].as_array().expect("cases");
    assert!(cases.len() >= 9);
    for c in cases {
        let metric = match c["kind"].as_str() {
            Some("continuous") => MetricKind::Continuous { sd: f(&c["sd"]) },
            _ => MetricKind::Proportion {
                baseline: f(&c["baseline"]),
            },
        };
        let plan = sample_size(&SampleSizeRequest {
            metric,
            mde: f(&c["mde"]),
            alpha: f(&c["alpha"]),
            power: f(&c["power"]),
            treatment_share: f(&c["share"]),
            eligible_units_per_day: Some(f(&c["per_day"])),
        })
        .expect("valid request");
        let label = format!("{c}");
        close(
            &format!("effect size {label}"),
            plan.effect_size,
            f(&c["effect_size"]),
        );
        close(&format!("nobs1 {label}"), plan.nobs1_exact, f(&c["nobs1"]));
        assert_eq!(
            plan.n_control,
            c["n_control"].as_u64().expect("n"),
            "{label}"
        );
        assert_eq!(
            plan.n_treatment,
            c["n_treatment"].as_u64().expect("n"),
            "{label}"
        );
        assert_eq!(plan.days, c["days"].as_u64(), "{label}");
        assert!(plan.achieved_power >= f(&c["power"]) - 1e-12, "{label}");
    }
}

#[test]
fn bad_requests_are_errors() {
    let base = SampleSizeRequest {
        metric: MetricKind::Proportion { baseline: 0.99 },
        mde: 0.02,
        alpha: 0.05,
        power: 0.8,
        treatment_share: 0.5,
        eligible_units_per_day: None,
    };
    assert!(sample_size(&base).is_err(), "baseline + mde > 1");
    let mut r = base;
    r.metric = MetricKind::Continuous { sd: 0.0 };
    assert!(sample_size(&r).is_err(), "zero sd");
    r.metric = MetricKind::Continuous { sd: 1.0 };
    r.treatment_share = 1.0;
    assert!(sample_size(&r).is_err(), "share 1");
    r.treatment_share = 0.5;
    r.mde = 0.0;
    assert!(sample_size(&r).is_err(), "zero mde");
}
