//! A/B estimators against scipy.stats and statsmodels (fixtures/ab.json).

mod common;
use common::{close, f, fixture, vf};
use kura_stats::ab::{chi_square, cuped, student_t_test, two_proportion_z_test, welch_t_test};
use kura_stats::{Reference, StatsError};

#[test]
fn t_tests_match_scipy_ttest_ind() {
    let fx = fixture("ab.json");
    for c in fx["ttests"].as_array().expect("ttests") {
        let (t, ctl) = (vf(&c["treatment"]), vf(&c["control"]));
        for (name, est) in [
            (
                "welch",
                welch_t_test(&t, &ctl, f(&c["alpha"])).expect("welch"),
            ),
            (
                "student",
                student_t_test(&t, &ctl, f(&c["alpha"])).expect("student"),
            ),
        ] {
            let r = &c[name];
            close(&format!("{name} effect"), est.effect, f(&r["effect"]));
            close(&format!("{name} t"), est.statistic, f(&r["statistic"]));
            close(&format!("{name} p"), est.p_value, f(&r["p_value"]));
            close(&format!("{name} df"), est.df.expect("df"), f(&r["df"]));
            close(&format!("{name} ci lo"), est.ci.lower, f(&r["ci_lower"]));
            close(&format!("{name} ci hi"), est.ci.upper, f(&r["ci_upper"]));
            assert_eq!(est.ci.reference, Reference::StudentT);
        }
    }
}

#[test]
fn two_proportions_match_statsmodels() {
    let fx = fixture("ab.json");
    for c in fx["proportions"].as_array().expect("proportions") {
        let u = |k: &str| c[k].as_u64().expect("count");
        let est = two_proportion_z_test(u("x_t"), u("n_t"), u("x_c"), u("n_c"), f(&c["alpha"]))
            .expect("z-test");
        close("effect", est.effect, f(&c["effect"]));
        close("z (pooled SE)", est.statistic, f(&c["z"]));
        close("p", est.p_value, f(&c["p_value"]));
        close("wald ci lo", est.ci.lower, f(&c["ci_lower"]));
        close("wald ci hi", est.ci.upper, f(&c["ci_upper"]));
        assert_eq!(est.ci.reference, Reference::Normal);
    }
}

#[test]
fn chi_square_matches_scipy_with_and_without_yates() {
    let fx = fixture("ab.json");
    let cases = fx["chi_square"].as_array().expect("chi");
    assert!(cases.iter().any(|c| c["yates"] == true));
    for c in cases {
        let table: Vec<Vec<f64>> = c["table"].as_array().expect("t").iter().map(vf).collect();
        let yates = c["yates"].as_bool().expect("bool");
        let r = chi_square(&table, yates).expect("chi-square");
        close("chi2", r.statistic, f(&c["statistic"]));
        close("chi2 p", r.p_value, f(&c["p_value"]));
        assert_eq!(r.dof as u64, c["dof"].as_u64().expect("dof"));
        assert_eq!(r.yates_applied, yates && r.dof == 1);
        for (got, want) in r.expected.iter().zip(c["expected"].as_array().expect("e")) {
            for (g, w) in got.iter().zip(vf(want)) {
                close("expected", *g, w);
            }
        }
    }
}

#[test]
fn cuped_matches_numpy_theta_and_scipy_welch() {
    let fx = fixture("ab.json");
    for c in fx["cuped"].as_array().expect("cuped") {
        let r = cuped(
            &vf(&c["y_t"]),
            &vf(&c["x_t"]),
            &vf(&c["y_c"]),
            &vf(&c["x_c"]),
            f(&c["alpha"]),
        )
        .expect("cuped");
        close("theta", r.theta, f(&c["theta"]));
        close(
            "adj mean t",
            r.adjusted_mean_treatment,
            f(&c["adjusted_mean_t"]),
        );
        close(
            "adj mean c",
            r.adjusted_mean_control,
            f(&c["adjusted_mean_c"]),
        );
        close("t", r.estimate.statistic, f(&c["statistic"]));
        close("p", r.estimate.p_value, f(&c["p_value"]));
        close("df", r.estimate.df.expect("df"), f(&c["df"]));
        close("ci lo", r.estimate.ci.lower, f(&c["ci_lower"]));
        close("ci hi", r.estimate.ci.upper, f(&c["ci_upper"]));
        assert!(r.variance_reduction > 0.0);
    }
}

#[test]
fn degenerate_ab_input_is_a_typed_error() {
    assert!(matches!(
        welch_t_test(&[1.0], &[1.0, 2.0], 0.05),
        Err(StatsError::TooFewUnits { got: 1, .. })
    ));
    assert!(matches!(
        welch_t_test(&[3.0, 3.0], &[3.0, 3.0, 3.0], 0.05),
        Err(StatsError::ZeroVariance { .. })
    ));
    assert!(matches!(
        student_t_test(&[1.0, f64::NAN], &[1.0, 2.0], 0.05),
        Err(StatsError::BadInput { .. })
    ));
    assert!(matches!(
        two_proportion_z_test(0, 100, 0, 100, 0.05),
        Err(StatsError::ZeroVariance { .. })
    ));
    assert!(matches!(
        two_proportion_z_test(5, 3, 0, 100, 0.05),
        Err(StatsError::BadInput { .. })
    ));
    assert!(matches!(
        chi_square(&[vec![0.0, 0.0], vec![3.0, 4.0]], true),
        Err(StatsError::ZeroVariance { .. })
    ));
    assert!(matches!(
        cuped(&[1.0, 2.0], &[5.0, 5.0], &[1.0, 3.0], &[5.0, 5.0], 0.05),
        Err(StatsError::ZeroVariance { .. })
    ));
    assert!(matches!(
        welch_t_test(&[1.0, 2.0], &[1.0, 2.0], 1.5),
        Err(StatsError::InvalidArgument { .. })
    ));
}
