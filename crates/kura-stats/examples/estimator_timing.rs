//! Times one estimator on a CSV file, for `bench/experiments.py`.
//!
//! ```text
//! estimator_timing DATA.csv SPEC.json [REPEATS]
//! ```
//! `DATA.csv` has a header and numeric cells only; `SPEC.json` is an [`AnalysisSpec`] (the
//! JSON that `kura experiment design --spec` takes). The estimator runs once to warm up, then
//! `REPEATS` times (default 5); the output is one JSON object with each run's seconds and the
//! last report, so the benchmark can check the result as well as the time.

use arrow::array::{ArrayRef, Float64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use kura_stats::{analyze, AnalysisSpec, MissingPolicy};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(data), Some(spec)) = (args.get(1), args.get(2)) else {
        return Err("usage: estimator_timing DATA.csv SPEC.json [REPEATS]".into());
    };
    let repeats: usize = match args.get(3) {
        Some(r) => r
            .parse()
            .map_err(|_| format!("REPEATS `{r}` is not a count"))?,
        None => 5,
    };
    let batch = read_numeric_csv(data)?;
    let spec: AnalysisSpec = serde_json::from_str(&std::fs::read_to_string(spec)?)?;
    let batches = [batch];
    analyze(&batches, &spec, 0.05, MissingPolicy::Error)?;
    let mut seconds = Vec::with_capacity(repeats);
    let mut report = None;
    for _ in 0..repeats {
        let start = Instant::now();
        report = Some(analyze(&batches, &spec, 0.05, MissingPolicy::Error)?);
        seconds.push(start.elapsed().as_secs_f64());
    }
    let out = serde_json::json!({ "seconds": seconds, "report": report });
    println!("{out}");
    Ok(())
}

/// Reads a CSV of numbers into one batch of Float64 columns.
fn read_numeric_csv(path: &str) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| format!("{path} is empty"))?
        .split(',')
        .collect();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != header.len() {
            return Err(format!(
                "{path}:{}: {} cells, header has {}",
                i + 2,
                cells.len(),
                header.len()
            )
            .into());
        }
        for (col, cell) in columns.iter_mut().zip(cells) {
            col.push(
                cell.parse()
                    .map_err(|_| format!("{path}:{}: `{cell}` is not a number", i + 2))?,
            );
        }
    }
    let schema = Schema::new(
        header
            .iter()
            .map(|h| Field::new(*h, DataType::Float64, false))
            .collect::<Vec<_>>(),
    );
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
        .collect();
    Ok(RecordBatch::try_new(Arc::new(schema), arrays)?)
}
