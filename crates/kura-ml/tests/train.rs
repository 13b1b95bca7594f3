//! Training through LightGBM on Arrow batches: tasks, categorical and missing values, early
//! stopping, and the bad inputs the issue names. Every trained model is cross-checked against
//! LightGBM itself (through the `lightgbm3` crate): kura's predictions and TreeSHAP values must
//! equal LightGBM's `predict` and `pred_contrib` on the same rows.
#![cfg(feature = "train")]
// A panic is how a test fails; the lint is for library code.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use kura_ml::train::{train, Task, TrainOptions, TrainedModel};
use kura_ml::{FeatureKind, MlError, UnseenCategories};

/// A deterministic pseudo-random number in [0, 1) from (row, salt).
fn u(i: usize, salt: u64) -> f64 {
    let mut x =
        (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

/// n rows: x1, x2 numeric (x2 with 10 % nulls), colour text (with nulls), a constant and an
/// all-null column, and targets for each task.
fn table(n: usize) -> RecordBatch {
    let colours = ["red", "green", "blue", "black"];
    let x1: Vec<f64> = (0..n).map(|i| u(i, 1) * 4.0 - 2.0).collect();
    let x2: Vec<Option<f64>> = (0..n)
        .map(|i| (u(i, 2) >= 0.1).then(|| u(i, 3) * 2.0))
        .collect();
    let colour: Vec<Option<&str>> = (0..n)
        .map(|i| (u(i, 4) >= 0.05).then(|| colours[(u(i, 5) * 4.0) as usize]))
        .collect();
    let effect = |c: Option<&str>| match c {
        Some("red") => 1.5,
        Some("green") => -1.0,
        Some("blue") => 0.5,
        _ => 0.0,
    };
    let score: Vec<f64> = (0..n)
        .map(|i| 2.0 * x1[i] + x2[i].unwrap_or(1.0) + effect(colour[i]) + (u(i, 6) - 0.5) * 0.5)
        .collect();
    let y_reg = score.clone();
    let y_bin: Vec<i64> = score.iter().map(|&s| i64::from(s > 1.0)).collect();
    let y_multi: Vec<&str> = score
        .iter()
        .map(|&s| {
            if s < -0.5 {
                "low"
            } else if s < 2.0 {
                "mid"
            } else {
                "high"
            }
        })
        .collect();
    batch(vec![
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef,
        ),
        ("x1", Arc::new(Float64Array::from(x1))),
        ("x2", Arc::new(Float64Array::from(x2))),
        ("colour", Arc::new(StringArray::from(colour))),
        ("flag", Arc::new(BooleanArray::from(vec![true; n]))),
        ("empty", Arc::new(Float64Array::from(vec![None::<f64>; n]))),
        ("y_reg", Arc::new(Float64Array::from(y_reg))),
        ("y_bin", Arc::new(Int64Array::from(y_bin))),
        ("y_multi", Arc::new(StringArray::from(y_multi))),
    ])
}

fn options(task: Task, exclude: &[&str]) -> TrainOptions {
    TrainOptions {
        task,
        exclude: exclude.iter().map(|s| (*s).to_string()).collect(),
        num_threads: 2,
        ..TrainOptions::default()
    }
}

/// kura's predictions and SHAP values equal LightGBM's own on every row of `b`.
fn matches_lightgbm(trained: &TrainedModel, b: &RecordBatch) {
    let encoded = trained
        .features
        .encode(std::slice::from_ref(b), UnseenCategories::Error)
        .unwrap();
    let x = &encoded.matrix;
    let f = x.cols();
    let booster = lightgbm3::Booster::from_string(&trained.text).unwrap();
    let theirs = booster.raw_scores(x.as_slice(), f as i32, true).unwrap();
    let ours = trained.model.predict_raw(x).unwrap();
    assert_eq!(theirs.len(), ours.as_slice().len());
    for (a, b) in theirs.iter().zip(ours.as_slice()) {
        assert!(
            (a - b).abs() <= 1e-12,
            "raw score: LightGBM {a} vs kura {b}"
        );
    }
    let shap = trained.model.shap_values(x).unwrap();
    let k = shap.outputs();
    let contrib = lightgbm_contrib(&trained.text, x.as_slice(), x.rows(), f, k);
    for row in 0..x.rows() {
        for out in 0..k {
            let base = (row * k + out) * (f + 1);
            for j in 0..f {
                let (a, b) = (contrib[base + j], shap.get(row, out, j));
                assert!(
                    (a - b).abs() <= 1e-9,
                    "SHAP row {row} output {out} feature {j}: LightGBM {a} vs kura {b}"
                );
            }
            let sum: f64 = shap.row(row, out).iter().sum::<f64>() + shap.expected_value()[out];
            assert!(
                (sum - ours.get(row, out)).abs() <= 1e-9,
                "additivity, row {row}"
            );
        }
    }
}

/// LightGBM's `pred_contrib` through its C API. (`lightgbm3`'s `predict_contrib` sizes its
/// buffer for one output, too small for multiclass models.)
fn lightgbm_contrib(
    model: &str,
    x: &[f64],
    rows: usize,
    features: usize,
    outputs: usize,
) -> Vec<f64> {
    use lightgbm3_sys as sys;
    let text = std::ffi::CString::new(model).unwrap();
    let mut iterations = 0;
    let mut handle: sys::BoosterHandle = std::ptr::null_mut();
    let mut out = vec![0f64; rows * outputs * (features + 1)];
    let mut len = 0i64;
    let params = std::ffi::CString::new("num_threads=1").unwrap();
    // SAFETY: NUL-terminated model text; `out` has room for rows x outputs x (features + 1)
    // values, the size of LightGBM's contribution output; the booster is freed below.
    unsafe {
        assert_eq!(
            sys::LGBM_BoosterLoadModelFromString(text.as_ptr(), &mut iterations, &mut handle),
            0
        );
        let code = sys::LGBM_BoosterPredictForMat(
            handle,
            x.as_ptr().cast(),
            sys::C_API_DTYPE_FLOAT64 as i32,
            rows as i32,
            features as i32,
            1,
            sys::C_API_PREDICT_CONTRIB as i32,
            0,
            -1,
            params.as_ptr(),
            &mut len,
            out.as_mut_ptr(),
        );
        sys::LGBM_BoosterFree(handle);
        assert_eq!(code, 0);
    }
    assert_eq!(len as usize, out.len());
    out
}

#[test]
fn regression_learns_drops_useless_columns_and_matches_lightgbm() {
    let b = table(3000);
    let trained = train(
        std::slice::from_ref(&b),
        "y_reg",
        &options(Task::Auto, &["id", "y_bin", "y_multi"]),
    )
    .unwrap();
    assert_eq!(trained.task, Task::Regression);
    assert_eq!(trained.features.names(), ["x1", "x2", "colour"]);
    assert!(
        matches!(trained.features.features[2].kind, FeatureKind::Category { ref categories } if categories == &["black", "blue", "green", "red"])
    );
    let notes = trained.notes.join("\n");
    assert!(
        notes.contains("`flag` (constant)") && notes.contains("`empty` (all null)"),
        "{notes}"
    );
    assert_eq!((trained.rows_train, trained.rows_valid), (2400, 600));
    let r2 = trained.metrics.get("r2").unwrap();
    assert!(r2 > 0.9, "r2 on validation rows {r2}");
    for m in ["rmse", "mse", "mae", "r2", "mape", "spearman", "pearson"] {
        assert!(trained.metrics.get(m).is_some_and(f64::is_finite), "{m}");
    }
    assert!(trained.model.feature_infos().len() == 3);
    matches_lightgbm(&trained, &b);
}

#[test]
fn binary_from_integer_target_with_categories_and_nans() {
    let b = table(3000);
    let trained = train(
        std::slice::from_ref(&b),
        "y_bin",
        &options(Task::Auto, &["id", "y_reg", "y_multi"]),
    )
    .unwrap();
    assert_eq!(trained.task, Task::Binary);
    assert_eq!(
        trained.class_labels.as_deref(),
        Some(&["0".to_string(), "1".to_string()][..])
    );
    let auc = trained.metrics.get("auc").unwrap();
    assert!(auc > 0.95, "auc {auc}");
    // Categorical splits exist: the colour effect is learned as a category, not a number.
    assert!(
        trained.text.contains("num_cat=") && !trained.text.contains("num_cat=0\nsplit_feature=\n")
    );
    matches_lightgbm(&trained, &b);
}

#[test]
fn multiclass_from_text_target_and_early_stopping() {
    let b = table(3000);
    let mut opts = options(Task::Auto, &["id", "y_reg", "y_bin"]);
    opts.learning_rate = 0.3;
    opts.early_stopping_rounds = 5;
    let trained = train(std::slice::from_ref(&b), "y_multi", &opts).unwrap();
    assert_eq!(trained.task, Task::Multiclass);
    assert_eq!(
        trained.class_labels.as_deref(),
        Some(&["high".to_string(), "low".to_string(), "mid".to_string()][..])
    );
    assert!(trained.metrics.get("accuracy").unwrap() > 0.85);
    assert!(
        trained.iterations < 1000,
        "early stopping ends well before 1000 iterations"
    );
    assert!(trained
        .notes
        .iter()
        .any(|n| n.contains("early stopping kept iteration")));
    assert_eq!(trained.model.num_iterations(), trained.iterations);
    matches_lightgbm(&trained, &b);
}

#[test]
fn same_data_same_seed_same_model_and_fingerprint() {
    let b = table(800);
    let opts = options(Task::Regression, &["id", "y_bin", "y_multi"]);
    let a = train(std::slice::from_ref(&b), "y_reg", &opts).unwrap();
    let c = train(std::slice::from_ref(&b), "y_reg", &opts).unwrap();
    assert_eq!(a.text, c.text);
    assert_eq!(a.fingerprint, c.fingerprint);
    // Without a validation split the metrics describe the training rows, from LightGBM's own
    // running scores: the same numbers kura's predictor gives for the saved model.
    let mut all = opts.clone();
    all.valid_fraction = 0.0;
    all.num_iterations = 30;
    let on_all = train(std::slice::from_ref(&b), "y_reg", &all).unwrap();
    assert_eq!(
        (on_all.metrics_on, on_all.rows_train, on_all.iterations),
        ("training", 800, 30)
    );
    let x = on_all
        .features
        .encode(std::slice::from_ref(&b), UnseenCategories::Error)
        .unwrap()
        .matrix;
    let ours = on_all.model.predict(&x).unwrap().column(0);
    let y: Vec<f64> = (0..800)
        .map(|i| {
            b.column(6)
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap()
                .value(i)
        })
        .collect();
    let expected = kura_ml::metrics::regression(&y, &ours);
    for ((name, a), (_, e)) in on_all.metrics.0.iter().zip(&expected.0) {
        assert!(
            (a - e).abs() <= 1e-9 * e.abs().max(1.0),
            "{name}: {a} vs {e}"
        );
    }
    let other = table(801);
    let d = train(std::slice::from_ref(&other), "y_reg", &opts).unwrap();
    assert_ne!(a.fingerprint, d.fingerprint);
}

#[test]
fn bad_targets_and_features_are_refused_with_the_reason() {
    let b = table(200);
    let err = |target: &str, opts: TrainOptions| -> String {
        train(std::slice::from_ref(&b), target, &opts)
            .unwrap_err()
            .to_string()
    };
    let e = err("nope", options(Task::Auto, &[]));
    assert!(
        e.contains("target `nope`: no such column") && e.contains("x1"),
        "{e}"
    );
    let e = err("empty", options(Task::Auto, &[]));
    assert!(e.contains("all 200 values are null"), "{e}");
    let e = err("flag", options(Task::Auto, &[]));
    assert!(e.contains("single class \"true\""), "{e}");
    let e = err("y_multi", options(Task::Regression, &[]));
    assert!(e.contains("regression needs a numeric target"), "{e}");
    let e = err("y_multi", options(Task::Binary, &[]));
    assert!(e.contains("exactly two classes, found 3"), "{e}");
    let e = err("y_reg", options(Task::Binary, &[]));
    assert!(
        e.contains("classification needs text, boolean or integer classes"),
        "{e}"
    );

    let mut opts = options(Task::Auto, &[]);
    opts.features = Some(vec!["x1".into(), "missing_col".into()]);
    let e = err("y_reg", opts);
    assert!(e.contains("`missing_col`"), "{e}");
    let mut opts = options(Task::Auto, &[]);
    opts.features = Some(vec!["flag".into(), "empty".into()]);
    let e = train(std::slice::from_ref(&b), "y_reg", &opts).unwrap_err();
    assert!(matches!(e, MlError::NoFeatures { .. }), "{e}");
    assert!(e.to_string().contains("`flag` (constant)"), "{e}");
    let mut opts = options(Task::Auto, &[]);
    opts.valid_fraction = 0.9;
    assert!(err("y_reg", opts).contains("outside [0, 0.5]"));

    // A null target row is left out with a note, not trained on as a class.
    let with_nulls = batch(vec![
        (
            "x",
            Arc::new(Float64Array::from_iter_values((0..100).map(f64::from))) as ArrayRef,
        ),
        (
            "y",
            Arc::new(StringArray::from(
                (0..100)
                    .map(|i| {
                        if i % 10 == 0 {
                            None
                        } else if i < 50 {
                            Some("a")
                        } else {
                            Some("b")
                        }
                    })
                    .collect::<Vec<_>>(),
            )),
        ),
    ]);
    let trained = train(&[with_nulls], "y", &options(Task::Auto, &[])).unwrap();
    assert_eq!(trained.rows_train + trained.rows_valid, 90);
    assert!(trained
        .notes
        .iter()
        .any(|n| n.contains("10 rows with a null target were left out")));
}

#[test]
fn unseen_categories_at_prediction_are_missing_or_an_error() {
    let b = table(1000);
    let trained = train(
        std::slice::from_ref(&b),
        "y_reg",
        &options(Task::Regression, &["id", "y_bin", "y_multi"]),
    )
    .unwrap();
    let new = batch(vec![
        (
            "x1",
            Arc::new(Float64Array::from(vec![0.5, 0.5])) as ArrayRef,
        ),
        ("x2", Arc::new(Float64Array::from(vec![1.0, 1.0]))),
        (
            "colour",
            Arc::new(StringArray::from(vec![Some("purple"), None])),
        ),
    ]);
    let encoded = trained
        .features
        .encode(std::slice::from_ref(&new), UnseenCategories::AsMissing)
        .unwrap();
    assert!(
        encoded.notes[0].contains("\"purple\""),
        "{:?}",
        encoded.notes
    );
    let p = trained.model.predict(&encoded.matrix).unwrap();
    assert_eq!(
        p.get(0, 0),
        p.get(1, 0),
        "an unseen category goes where missing goes"
    );
    let e = trained
        .features
        .encode(std::slice::from_ref(&new), UnseenCategories::Error)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("feature `colour` has 1 values never seen"),
        "{e}"
    );
    let retyped = batch(vec![
        ("x1", Arc::new(StringArray::from(vec!["a"])) as ArrayRef),
        ("x2", Arc::new(Float64Array::from(vec![1.0]))),
        ("colour", Arc::new(StringArray::from(vec!["red"]))),
    ]);
    let e = trained
        .features
        .encode(&[retyped], UnseenCategories::AsMissing)
        .unwrap_err();
    assert!(
        e.to_string().contains("`x1` is Utf8, expected Float64"),
        "{e}"
    );
}
