//! The `kura` command line: parse arguments, call the library crates, print results.
//!
//! Only this crate prints, draws progress bars or reads the terminal; everything it calls
//! returns values and errors.

// First, so that its `out!` and `outln!` are in scope in the modules after it.
#[macro_use]
mod output;
mod age;
mod commands;
mod png;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kura: load, model, check and query a warehouse for a small data team, in one binary.
#[derive(Debug, Parser)]
#[command(name = "kura", version, about, long_about = None)]
pub struct Cli {
    /// The project directory (holding kura.toml); default: the current directory or the
    /// nearest parent with a kura.toml.
    #[arg(long, global = true, env = "KURA_PROJECT", value_name = "DIR")]
    project: Option<PathBuf>,

    /// Run as this principal; default: $KURA_PRINCIPAL, then the OS user.
    #[arg(long = "as", global = true, value_name = "NAME")]
    principal: Option<String>,

    /// No progress bars and no summaries on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a project: kura.toml, models/, .gitignore (and demo data with --demo).
    Init(commands::init::InitArgs),
    /// Create a demo project, load the bundled data, run a few queries and show the cost.
    Demo(commands::demo::DemoArgs),
    /// Load CSV, NDJSON or Parquet files into a warehouse table.
    Load(commands::load::LoadArgs),
    /// Run a GoogleSQL query against the warehouse.
    Sql(commands::sql::SqlArgs),
    /// List the warehouse's tables.
    Tables(commands::tables::TablesArgs),
    /// Show a table's columns and types.
    Schema(commands::tables::SchemaArgs),
    /// Delete data files no table version within the retention reads (replaced days,
    /// compacted files, files of loads that died before their commit).
    Vacuum(commands::tables::VacuumArgs),
    /// Show bytes scanned and estimated cost from the query log.
    Cost(commands::cost::CostArgs),
    /// Design, register and analyse experiments with the method the design calls for.
    Experiment(commands::experiment::ExperimentArgs),
    /// Load a Google Analytics 4 export and flatten every parameter into columns.
    Ga4(commands::ga4::Ga4Args),
    /// Build the project's models (views and tables) in dependency order.
    Run(commands::models::RunArgs),
    /// Show what applying the project would create, change, rebuild or drop.
    Plan(commands::models::PlanArgs),
    /// Apply a plan: build exactly what it lists.
    Apply(commands::models::ApplyArgs),
    /// List the project's models in build order.
    Models(commands::models::ModelsArgs),
    /// Check the models against the project's conventions (stable rule codes, like ruff's).
    Lint(commands::models::LintArgs),
    /// Write a static documentation site of the models, with their lineage graph.
    Docs(commands::models::DocsArgs),
    /// Run the data checks declared on tables (not_null, unique, freshness, ...) and alert.
    Check(commands::quality::CheckArgs),
    /// Compute monitor metrics per time bucket, detect anomalies and alert.
    Monitor(commands::quality::MonitorArgs),
    /// Data-quality reports from the check and monitor history.
    Quality(commands::quality::QualityArgs),
    /// Train LightGBM on a table, predict, and explain with SHAP values as tables.
    Ml(commands::ml::MlArgs),
}

// The engine, the SQL parser and the loaders make many small short-lived allocations, where
// mimalloc is markedly faster than the system allocator (a quarter off parsing a model:
// bench/RESULTS.md, "Parse and rewrite").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes: 0 success, 1 findings (failed checks, lint), 2 could not run.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(2)
        }
    }
}
