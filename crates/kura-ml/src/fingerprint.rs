//! A fingerprint of training data, stored with a model to tell later whether it was trained on
//! the same rows.
//!
//! It hashes (BLAKE3) the feature names, the encoded feature matrix and the target, bit for
//! bit, so it does not depend on how the table was split into record batches, and any change
//! to a value, a column name or the row order changes it.

use crate::matrix::DenseMatrix;

/// Hex BLAKE3 digest of names, shape, feature values and target values.
pub fn fingerprint(feature_names: &[String], x: &DenseMatrix, target: &[f64]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"kura-ml training data v1\0");
    for name in feature_names {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
    }
    h.update(&(x.rows() as u64).to_le_bytes());
    h.update(&(x.cols() as u64).to_le_bytes());
    for v in x.as_slice() {
        h.update(&v.to_bits().to_le_bytes());
    }
    for v in target {
        h.update(&v.to_bits().to_le_bytes());
    }
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_with_any_value() {
        let names = vec!["a".to_string(), "b".to_string()];
        let x = DenseMatrix::new(2, 2, vec![1.0, 2.0, f64::NAN, 4.0]).expect("m");
        let a = fingerprint(&names, &x, &[0.0, 1.0]);
        assert_eq!(a, fingerprint(&names, &x, &[0.0, 1.0]));
        assert_ne!(a, fingerprint(&names, &x, &[1.0, 1.0]));
        let y = DenseMatrix::new(2, 2, vec![1.0, 2.0, 0.0, 4.0]).expect("m");
        assert_ne!(a, fingerprint(&names, &y, &[0.0, 1.0]));
        assert_ne!(a, fingerprint(&["a".into(), "c".into()], &x, &[0.0, 1.0]));
    }
}
