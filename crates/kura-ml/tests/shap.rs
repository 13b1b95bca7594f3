//! TreeSHAP against shap's TreeExplainer, LightGBM's `pred_contrib` and shap's own C++ TreeSHAP.

mod common;

const TOL: f64 = 1e-9;

#[test]
fn shap_values_match_shap_tree_explainer() {
    for case in common::all() {
        let shap = case.model.shap_values(&case.x).expect("shap");
        let e = &case.expected;
        assert_eq!(shap.outputs(), e.shap_values.len(), "{}", case.name);
        let mut worst: f64 = 0.0;
        let mut largest: f64 = 0.0;
        for (k, per_class) in e.shap_values.iter().enumerate() {
            for (i, row) in per_class.iter().enumerate() {
                for (j, want) in row.iter().enumerate() {
                    worst = worst.max((shap.get(i, k, j) - want).abs());
                    largest = largest.max(want.abs());
                }
            }
        }
        assert!(worst <= TOL, "{}: SHAP differs by {worst:e}", case.name);
        assert!(largest > 0.1, "{}: SHAP values are all tiny", case.name);
        for (k, want) in e.shap_expected_value.iter().enumerate() {
            let got = shap.expected_value()[k];
            assert!(
                (got - want).abs() <= TOL,
                "{}: expected value {got} vs {want}",
                case.name
            );
        }
    }
}

#[test]
fn shap_values_match_lightgbm_pred_contrib() {
    for case in common::all() {
        let shap = case.model.shap_values(&case.x).expect("shap");
        let f = case.expected.feature_names.len();
        let k = case.expected.num_class;
        let mut worst: f64 = 0.0;
        for (i, row) in case.expected.pred_contrib.iter().enumerate() {
            assert_eq!(row.len(), k * (f + 1));
            for c in 0..k {
                for j in 0..f {
                    worst = worst.max((shap.get(i, c, j) - row[c * (f + 1) + j]).abs());
                }
                worst = worst.max((shap.expected_value()[c] - row[c * (f + 1) + f]).abs());
            }
        }
        assert!(
            worst <= TOL,
            "{}: pred_contrib differs by {worst:e}",
            case.name
        );
    }
}

/// shap's own implementation routes NaN to the default child for every split, which is not
/// LightGBM's rule for missing type None/Zero; compare on the rows where the rules agree.
#[test]
fn shap_values_match_shaps_own_tree_shap_where_missing_rules_agree() {
    let mut compared = 0;
    for case in common::all() {
        let Some(internal) = &case.expected.shap_internal else {
            continue;
        };
        let shap = case.model.shap_values(&case.x).expect("shap");
        let zero_missing = case.name == "regression_zero";
        for i in 0..case.x.rows() {
            let row = case.x.row(i);
            if row
                .iter()
                .any(|v| v.is_nan() || (zero_missing && *v == 0.0))
            {
                continue;
            }
            compared += 1;
            for (k, per_class) in internal.iter().enumerate() {
                for (j, want) in per_class[i].iter().enumerate() {
                    let got = shap.get(i, k, j);
                    assert!(
                        (got - want).abs() <= TOL,
                        "{} row {i} feature {j}: {got} vs shap internal {want}",
                        case.name
                    );
                }
            }
        }
        let ev = case
            .expected
            .shap_internal_expected_value
            .as_ref()
            .expect("ev");
        assert!(
            (shap.expected_value()[0] - ev[0]).abs() <= TOL,
            "{}",
            case.name
        );
    }
    assert!(compared > 200, "only {compared} rows compared");
}

#[test]
fn shap_values_add_up_to_the_raw_score() {
    for case in common::all() {
        let shap = case.model.shap_values(&case.x).expect("shap");
        let raw = case.model.predict_raw(&case.x).expect("raw");
        for i in 0..case.x.rows() {
            for k in 0..shap.outputs() {
                let total: f64 = shap.row(i, k).iter().sum::<f64>() + shap.expected_value()[k];
                let lightgbm = case.expected.raw[i][k];
                assert!(
                    (total - raw.get(i, k)).abs() <= TOL && (total - lightgbm).abs() <= TOL,
                    "{} row {i} class {k}: sum {total} vs raw {}",
                    case.name,
                    raw.get(i, k)
                );
            }
        }
    }
}
