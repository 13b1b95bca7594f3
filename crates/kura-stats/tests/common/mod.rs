//! Fixture loading and the 1e-6 relative comparison shared by the reference tests.
#![allow(dead_code)]

use serde_json::Value;

/// Reads `fixtures/<name>` (made by `fixtures/make_fixtures.py`).
pub fn fixture(name: &str) -> Value {
    // The runtime variable cargo sets for the test process, not the compile-time one: a test
    // binary reused from a shared target directory may have been built from another checkout.
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    let path = format!("{dir}/fixtures/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

pub fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn vf(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(f)
        .collect()
}

/// Asserts |got - want| <= 1e-6 * max(|want|, tiny) — relative, with an absolute floor of 1e-12
/// only for values that are themselves ~0.
#[track_caller]
pub fn close(what: &str, got: f64, want: f64) {
    close_tol(what, got, want, 1e-6);
}

#[track_caller]
pub fn close_tol(what: &str, got: f64, want: f64, rel: f64) {
    assert!(got.is_finite(), "{what}: got non-finite {got}, want {want}");
    let tol = rel * want.abs().max(1e-6);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.15e}, want {want:.15e} (diff {:.3e}, tol {tol:.3e})",
        (got - want).abs()
    );
}
