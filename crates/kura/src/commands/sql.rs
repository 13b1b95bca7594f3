//! `kura sql`: run a query, print or write its rows.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use kura_engine::{Dialect, QueryContext};

use super::Globals;
use crate::output::{human_bytes, write_batches, Format};

#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The GoogleSQL query; tables are `dataset.table`.
    pub query: Option<String>,
    /// Read the query from a file.
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// How to print rows.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write rows to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the bytes the query would scan, without running it.
    #[arg(long)]
    pub dry_run: bool,
    /// A label for the query log, KEY=VALUE (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// The SQL dialect of the query: GoogleSQL (rewritten for the embedded engine) or
    /// DataFusion's own SQL, planned as written.
    #[arg(long, value_enum, default_value = "googlesql")]
    pub dialect: SqlDialect,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SqlDialect {
    Googlesql,
    Datafusion,
}

impl From<SqlDialect> for Dialect {
    fn from(d: SqlDialect) -> Self {
        match d {
            SqlDialect::Googlesql => Dialect::GoogleSql,
            SqlDialect::Datafusion => Dialect::DataFusion,
        }
    }
}

pub async fn run(args: SqlArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let sql = match (&args.query, &args.file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        (None, None) => bail!("give a query, or -f FILE"),
    };
    let wh = globals.open_warehouse()?;
    let mut ctx = QueryContext::new(globals.principal.clone()).with_dialect(args.dialect.into());
    for label in &args.label {
        let Some((k, v)) = label.split_once('=') else {
            bail!("label `{label}` is not KEY=VALUE");
        };
        ctx = ctx.with_label(k.trim(), v.trim());
    }
    if args.dry_run {
        let dry = wh.dry_run(&sql, &ctx).await?;
        let price = wh.project().config().cost.usd_per_tib;
        outln!(
            "This query will process {} ({} bytes) from {} file(s), about {:.6} USD at {price} USD/TiB.",
            human_bytes(dry.bytes),
            dry.bytes,
            dry.files,
            dry.bytes as f64 / 1024f64.powi(4) * price
        );
        for t in &dry.tables {
            outln!("  {}: {}", t.table, human_bytes(t.bytes));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let result = wh.query(&sql, &ctx).await?;
    write_batches(
        result.schema.clone(),
        &result.batches,
        args.format,
        args.output.as_deref(),
    )?;
    if !globals.quiet {
        eprintln!(
            "{} row(s), {} scanned, query {}",
            result.rows,
            human_bytes(result.bytes_scanned),
            result.query_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
