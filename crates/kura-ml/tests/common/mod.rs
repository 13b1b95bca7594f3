//! Loading the reference fixtures written by `fixtures/make_fixtures.py`.
#![allow(dead_code)]

use std::path::PathBuf;

use kura_ml::{DenseMatrix, LgbmModel};
use serde::Deserialize;

pub const CASES: [&str; 5] = [
    "regression",
    "regression_zero",
    "binary",
    "multiclass_categorical",
    "binary_categorical",
];

#[derive(Deserialize)]
pub struct Expected {
    pub feature_names: Vec<String>,
    pub num_class: usize,
    pub rows: Vec<Vec<Option<f64>>>,
    pub raw: Vec<Vec<f64>>,
    pub prob: Vec<Vec<f64>>,
    pub pred_contrib: Vec<Vec<f64>>,
    /// `[class][row][feature]`
    pub shap_values: Vec<Vec<Vec<f64>>>,
    pub shap_expected_value: Vec<f64>,
    pub shap_internal: Option<Vec<Vec<Vec<f64>>>>,
    pub shap_internal_expected_value: Option<Vec<f64>>,
}

pub struct Case {
    pub name: &'static str,
    pub text: String,
    pub model: LgbmModel,
    pub x: DenseMatrix,
    pub expected: Expected,
}

pub fn fixture_dir(name: &str) -> PathBuf {
    // The runtime variable cargo sets for the test process, not the compile-time one: a test
    // binary reused from a shared target directory may have been built from another checkout.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("fixtures")
        .join(name)
}

pub fn load(name: &'static str) -> Case {
    let dir = fixture_dir(name);
    let text = std::fs::read_to_string(dir.join("model.txt")).expect("fixture model.txt");
    let model = LgbmModel::from_text(&text, name).expect("fixture model parses");
    let json = std::fs::read_to_string(dir.join("expected.json")).expect("fixture expected.json");
    let expected: Expected = serde_json::from_str(&json).expect("fixture json");
    let rows: Vec<Vec<f64>> = expected
        .rows
        .iter()
        .map(|r| r.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        .collect();
    let x = DenseMatrix::from_rows(&rows).expect("rectangular rows");
    Case {
        name,
        text,
        model,
        x,
        expected,
    }
}

pub fn all() -> Vec<Case> {
    CASES.iter().map(|c| load(c)).collect()
}
