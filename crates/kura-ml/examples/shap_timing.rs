//! Times TreeSHAP (the default subset-table algorithm) against Algorithm 2, the reference.
//!
//! Usage: `cargo run --release -p kura-ml --example shap_timing -- MODEL.txt X.f64 COLS [fast]`
//! where `X.f64` holds the rows as raw little-endian f64, row-major (NaN = missing), e.g.
//! written by numpy's `X.astype("<f8").tofile(path)`. With `fast`, only the default
//! algorithm runs (for profiling it alone).

use std::error::Error;
use std::time::Instant;

use kura_ml::{DenseMatrix, LgbmModel};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (model_path, data_path, cols, fast_only) = match args.as_slice() {
        [_, m, d, c] => (m, d, c, false),
        [_, m, d, c, f] if f == "fast" => (m, d, c, true),
        _ => return Err("usage: shap_timing MODEL.txt X.f64 COLS [fast]".into()),
    };
    let cols: usize = cols.parse()?;
    let model = LgbmModel::from_file(model_path.as_ref())?;
    let bytes = std::fs::read(data_path)?;
    if cols == 0 || bytes.len() % (8 * cols) != 0 {
        return Err(format!(
            "{data_path}: {} bytes are not rows of {cols} f64",
            bytes.len()
        )
        .into());
    }
    let data: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| {
            let mut word = [0u8; 8];
            word.copy_from_slice(b);
            f64::from_le_bytes(word)
        })
        .collect();
    let x = DenseMatrix::new(data.len() / cols, cols, data)?;
    let leaves = model
        .trees()
        .iter()
        .map(|t| t.num_leaves())
        .max()
        .unwrap_or(0);
    println!(
        "{} rows x {} features, {} trees (up to {leaves} leaves)",
        x.rows(),
        x.cols(),
        model.trees().len()
    );

    let start = Instant::now();
    let fast = model.shap_values(&x)?;
    let fast_secs = start.elapsed().as_secs_f64();
    println!("shap_values (subset tables): {fast_secs:.3} s");
    if fast_only {
        return Ok(());
    }

    let start = Instant::now();
    let reference = model.shap_values_recursive(&x)?;
    let reference_secs = start.elapsed().as_secs_f64();
    println!("shap_values_recursive (Algorithm 2): {reference_secs:.3} s");

    let mut worst: f64 = 0.0;
    for r in 0..x.rows() {
        for k in 0..fast.outputs() {
            for (a, b) in fast.row(r, k).iter().zip(reference.row(r, k)) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    println!(
        "speed-up {:.2}x, max |difference| {worst:e}",
        reference_secs / fast_secs
    );
    Ok(())
}
