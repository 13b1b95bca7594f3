//! Printing: results in the formats users pipe into other tools, and errors with their cause
//! and a hint.

use std::io::{ErrorKind, Write};
use std::path::Path;

use anyhow::{bail, Context};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use kura_engine::EngineError;

/// Like `print!`, but a reader that went away (`kura cost | head`) ends kura quietly, as it
/// ends `cat`, instead of the panic `print!` raises on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

/// Like `println!`, with [`out!`]'s handling of a closed pipe.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to stdout for [`out!`] and [`outln!`]. A closed pipe exits with status 0: the
/// reader has what it wanted, and everything kura writes commits atomically, so stopping
/// between two lines loses nothing.
pub fn write_stdout(args: std::fmt::Arguments) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        exit_on_stdout_error(&e);
    }
}

/// Ends the process after a failed write to stdout: quietly when the reader closed the pipe.
fn exit_on_stdout_error(e: &std::io::Error) -> ! {
    if e.kind() == ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    let _ = writeln!(
        std::io::stderr(),
        "error: cannot write to standard output: {e}"
    );
    std::process::exit(2);
}

/// Stdout for writers that take an `io::Write` (CSV, JSON): a failed write ends the process
/// as [`write_stdout`] does, because those writers turn the I/O error into text of their own.
struct StdoutSink(std::io::StdoutLock<'static>);

impl Write for StdoutSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(fatal_unless_interrupted)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(fatal_unless_interrupted)
    }
}

/// `write_all` retries an interrupted write; every other failure ends the process.
fn fatal_unless_interrupted(e: std::io::Error) -> std::io::Error {
    if e.kind() == ErrorKind::Interrupted {
        return e;
    }
    exit_on_stdout_error(&e)
}

/// How `kura sql` writes rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
}

/// Writes batches to `out` (a file) or stdout.
pub fn write_batches(
    schema: SchemaRef,
    batches: &[RecordBatch],
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    if format == Format::Parquet {
        let Some(path) = out else {
            bail!("--format parquet writes binary data; pass -o FILE");
        };
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
        for b in batches {
            w.write(b)?;
        }
        w.close()?;
        return Ok(());
    }
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(StdoutSink(std::io::stdout().lock())),
    };
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches(batches)?;
            if batches.iter().all(|b| b.num_rows() == 0) {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                writeln!(sink, "(no rows; columns: {})", names.join(", "))?;
            } else {
                writeln!(sink, "{table}")?;
            }
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut sink);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            writeln!(sink)?;
        }
        Format::Ndjson => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        Format::Parquet => unreachable!("handled above"),
    }
    sink.flush()?;
    Ok(())
}

/// Prints an error as `error: ...`, each cause as `  caused by: ...`, then `hint: ...`.
pub fn print_error(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    let mut hint = None;
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            hint = hint.or_else(|| e.hint());
        }
        if let Some(e) = cause.downcast_ref::<kura_models::ModelError>() {
            hint = hint.or_else(|| e.hint());
        }
    }
    // Library errors often repeat their source in their own message; print each text once.
    let mut shown = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !shown.contains(&text) {
            let _ = writeln!(stderr, "  caused by: {text}");
            shown.push_str(&text);
        }
    }
    if let Some(h) = hint {
        let _ = writeln!(stderr, "hint: {h}");
    }
}

/// `1234567` as `1.23 M`, for rates and counts in summaries.
pub fn human_count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1} k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.2} M", n as f64 / 1e6),
        _ => format!("{:.2} G", n as f64 / 1e9),
    }
}

/// Bytes in binary units, as BigQuery's console shows them.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_count(1_500_000), "1.50 M");
    }
}
