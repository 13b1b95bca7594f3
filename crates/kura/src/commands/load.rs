//! `kura load`: files into a warehouse table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use kura_engine::load::{FileFormat, FileStatus, LoadMode, LoadRequest};
use kura_engine::TableName;

use super::Globals;
use crate::output::human_count;
use crate::progress::LoadBar;

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Files to load: .csv, .tsv, .json/.jsonl/.ndjson, .parquet, optionally .gz.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The target table, DATASET.TABLE.
    #[arg(long, value_name = "DATASET.TABLE")]
    pub into: String,
    /// A BigQuery JSON schema file to use instead of inferring types.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Append to the table, or replace its contents in one commit.
    #[arg(long, value_enum, default_value = "append")]
    pub mode: Mode,
    /// Partition a new table by this column.
    #[arg(long, value_name = "COL")]
    pub partition_by: Vec<String>,
    /// Keep up to N unparsable rows in TABLE__rejected instead of failing the load.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_bad_rows: u64,
    /// Load files even if they were loaded before.
    #[arg(long)]
    pub force: bool,
    /// The file format, when the file name does not tell.
    #[arg(long, value_name = "csv|tsv|ndjson|parquet")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Mode {
    Append,
    Replace,
}

pub async fn run(args: LoadArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let table = TableName::parse(&args.into)?;
    let mut request = LoadRequest::new(args.paths, table);
    request.mode = match args.mode {
        Mode::Append => LoadMode::Append,
        Mode::Replace => LoadMode::Replace,
    };
    if let Some(path) = &args.schema {
        request.schema = Some(kura_engine::load::read_schema_file(path)?);
    }
    request.partition_by = args.partition_by;
    request.max_bad_rows = args.max_bad_rows;
    request.force = args.force;
    if let Some(f) = &args.format {
        request.format = Some(FileFormat::parse(f).ok_or_else(|| {
            anyhow::anyhow!("unknown format `{f}`; use csv, tsv, ndjson or parquet")
        })?);
    }
    let bar = Arc::new(LoadBar::new(globals.quiet));
    let result = wh.load(&request, &globals.principal, bar.clone()).await;
    bar.finish();
    let outcome = result?;
    if !globals.quiet {
        for file in &outcome.files {
            match &file.status {
                FileStatus::Loaded { rows, rejected } => {
                    let bad = if *rejected > 0 {
                        format!(", {rejected} rejected into {}__rejected", outcome.table)
                    } else {
                        String::new()
                    };
                    eprintln!("  loaded  {} ({rows} rows{bad})", file.path.display());
                }
                FileStatus::Skipped { table_version } => eprintln!(
                    "  skipped {} (already loaded at version {table_version}; --force reloads)",
                    file.path.display()
                ),
            }
        }
        for (col, ty) in &outcome.new_columns {
            eprintln!("  added column `{col}` {ty} to {}", outcome.table);
        }
        let secs = outcome.elapsed.as_secs_f64();
        match outcome.version {
            Some(v) => eprintln!(
                "Loaded {} rows into {} (version {v}) in {secs:.2}s, {} rows/s",
                outcome.rows,
                outcome.table,
                human_count((outcome.rows as f64 / secs.max(1e-6)) as u64)
            ),
            None => eprintln!(
                "Nothing to load: {} already holds these files",
                outcome.table
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
