//! OLS against statsmodels `OLS(...).fit(cov_type=...)` (fixtures/ols.json).

mod common;
use common::{close, f, fixture, vf};
use kura_stats::ols::{fit_ols, CovType};
use kura_stats::{Reference, StatsError};

#[test]
fn coefficients_and_all_covariance_types_match_statsmodels() {
    let fx = fixture("ols.json");
    for c in fx["cases"].as_array().expect("cases") {
        let y = vf(&c["y"]);
        let (t, x1, x2) = (vf(&c["treatment"]), vf(&c["x1"]), vf(&c["x2"]));
        let fit = fit_ols(
            &y,
            &[("treatment", &t), ("x1", &x1), ("x2", &x2)],
            f(&c["alpha"]),
        )
        .expect("fit");
        let names: Vec<String> = c["names"]
            .as_array()
            .expect("names")
            .iter()
            .map(|v| v.as_str().expect("s").to_string())
            .collect();
        assert_eq!(fit.names, names);
        for (key, cov) in [
            ("nonrobust", CovType::NonRobust),
            ("HC0", CovType::HC0),
            ("HC1", CovType::HC1),
            ("HC2", CovType::HC2),
            ("HC3", CovType::HC3),
        ] {
            let r = &c["fits"][key];
            close("df_resid", fit.df_resid, f(&r["df_resid"]));
            close("r2", fit.r_squared, f(&r["rsquared"]));
            for (j, name) in names.iter().enumerate() {
                let row = fit.row(name, cov).expect("row");
                let at = |k: &str| vf(&r[k])[j];
                let w = format!("{key} {name}");
                close(&format!("{w} param"), row.estimate, at("params"));
                close(&format!("{w} se"), row.std_error, at("bse"));
                close(&format!("{w} p_t"), row.p_value_t, at("p_t"));
                close(&format!("{w} p_z"), row.p_value_normal, at("p_z"));
                close(&format!("{w} ci_t lo"), row.ci_t.lower, at("ci_t_lower"));
                close(&format!("{w} ci_t hi"), row.ci_t.upper, at("ci_t_upper"));
                close(
                    &format!("{w} ci_z lo"),
                    row.ci_normal.lower,
                    at("ci_z_lower"),
                );
                close(
                    &format!("{w} ci_z hi"),
                    row.ci_normal.upper,
                    at("ci_z_upper"),
                );
                assert_eq!(row.ci_t.reference, Reference::StudentT);
                assert_eq!(row.ci_normal.reference, Reference::Normal);
            }
        }
        let est = fit.estimate("treatment", CovType::HC3).expect("treatment");
        close(
            "estimate se",
            est.std_error,
            vf(&c["fits"]["HC3"]["bse"])[1],
        );
    }
}

#[test]
fn collinear_or_tiny_designs_are_errors() {
    let y = [1.0, 2.0, 3.5, 4.0, 5.5, 6.0];
    let a = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    let b = [2.0, 0.0, 2.0, 0.0, 2.0, 0.0];
    assert!(matches!(
        fit_ols(&y, &[("a", &a), ("b", &b)], 0.05),
        Err(StatsError::Singular { .. })
    ));
    let c = [3.0; 6];
    assert!(matches!(
        fit_ols(&y, &[("c", &c)], 0.05),
        Err(StatsError::Singular { .. })
    ));
    assert!(matches!(
        fit_ols(&y[..2], &[("a", &a[..2])], 0.05),
        Err(StatsError::TooFewUnits { .. })
    ));
}
