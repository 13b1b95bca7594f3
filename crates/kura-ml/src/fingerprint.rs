//! A fingerprint of training data, stored with a model to tell later whether it was trained on
//! the same rows.
//!
//! It hashes (BLAKE3) the feature names, the encoded feature matrix and the target, bit for
//! bit, so it does not depend on how the table was split into record batches, and any change
//! to a value, a column name or the row order changes it.

use crate::matrix::DenseMatrix;

/// Values hashed per block.
const BLOCK_VALUES: usize = 8192;

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
    // The values go to the hasher in 64 KiB blocks: the digest is that of the same byte
    // stream, but BLAKE3 is only fast on large inputs (one update per value took longer
    // than everything else kura does around a training run).
    let mut block = Vec::with_capacity(BLOCK_VALUES * 8);
    for values in [x.as_slice(), target] {
        for chunk in values.chunks(BLOCK_VALUES) {
            block.clear();
            for v in chunk {
                block.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            h.update(&block);
        }
    }
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_hash_the_same_stream_as_one_value_at_a_time() {
        let names = vec!["a".to_string()];
        let n = 3 * BLOCK_VALUES + 5;
        let values: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 7.0).collect();
        let target: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
        let x = DenseMatrix::new(n, 1, values.clone()).expect("m");
        let mut h = blake3::Hasher::new();
        h.update(b"kura-ml training data v1\0");
        h.update(&1u64.to_le_bytes());
        h.update(b"a");
        h.update(&(n as u64).to_le_bytes());
        h.update(&1u64.to_le_bytes());
        for v in values.iter().chain(&target) {
            h.update(&v.to_bits().to_le_bytes());
        }
        assert_eq!(
            fingerprint(&names, &x, &target),
            h.finalize().to_hex().to_string()
        );
    }

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
