//! Prediction against LightGBM's own `Booster.predict` on the fixtures.

mod common;

use kura_ml::MissingType;

const TOL: f64 = 1e-9;

#[test]
fn raw_scores_match_lightgbm() {
    for case in common::all() {
        let raw = case.model.predict_raw(&case.x).expect("predict_raw");
        let mut worst: f64 = 0.0;
        for (i, want) in case.expected.raw.iter().enumerate() {
            for (k, w) in want.iter().enumerate() {
                worst = worst.max((raw.get(i, k) - w).abs());
            }
        }
        assert!(
            worst <= TOL,
            "{}: raw score differs by {worst:e}",
            case.name
        );
    }
}

#[test]
fn transformed_predictions_match_lightgbm() {
    for case in common::all() {
        let pred = case.model.predict(&case.x).expect("predict");
        let mut worst: f64 = 0.0;
        for (i, want) in case.expected.prob.iter().enumerate() {
            assert_eq!(want.len(), pred.cols(), "{}", case.name);
            for (k, w) in want.iter().enumerate() {
                worst = worst.max((pred.get(i, k) - w).abs());
            }
        }
        assert!(
            worst <= TOL,
            "{}: prediction differs by {worst:e}",
            case.name
        );
    }
}

/// Guards against a trivial pass: the fixtures must exercise what they claim to.
#[test]
fn fixtures_exercise_missing_values_and_categorical_splits() {
    let mut missing_types = Vec::new();
    let mut categorical_nodes = 0;
    let mut nan_rows = 0;
    for case in common::all() {
        for tree in case.model.trees() {
            for node in 0..tree.num_leaves().saturating_sub(1) {
                missing_types.push(tree.missing_type(node));
                if tree.is_categorical(node) {
                    categorical_nodes += 1;
                }
            }
        }
        nan_rows += (0..case.x.rows())
            .filter(|&i| case.x.row(i).iter().any(|v| v.is_nan()))
            .count();
        // predictions vary: a constant model would make equality checks weak
        let raw = case.model.predict_raw(&case.x).expect("predict");
        let col = raw.column(0);
        let spread = col.iter().cloned().fold(f64::MIN, f64::max)
            - col.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 0.5, "{}: raw spread {spread}", case.name);
    }
    for t in [MissingType::None, MissingType::Zero, MissingType::NaN] {
        assert!(
            missing_types.contains(&t),
            "no split with missing type {t:?}"
        );
    }
    assert!(
        categorical_nodes > 20,
        "only {categorical_nodes} categorical splits"
    );
    assert!(nan_rows > 100, "only {nan_rows} rows with NaN");
}

#[test]
fn wrong_width_is_an_error() {
    let case = common::load("binary");
    let x = kura_ml::DenseMatrix::new(1, 2, vec![0.0, 1.0]).expect("matrix");
    let err = case.model.predict_raw(&x).expect_err("width");
    assert!(err.to_string().contains("expects 6"), "{err}");
}
