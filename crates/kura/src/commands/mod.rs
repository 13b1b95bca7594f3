//! One module per subcommand; `run` dispatches.

pub mod cost;
pub mod demo;
pub mod experiment;
pub mod ga4;
pub mod init;
pub mod load;
pub mod ml;
pub mod models;
pub mod quality;
pub mod sql;
pub mod tables;

use std::process::ExitCode;

use kura_engine::{Project, Warehouse};

use crate::{Cli, Command};

/// What every command needs from the global flags.
pub struct Globals {
    pub project_dir: Option<std::path::PathBuf>,
    pub principal: String,
    pub quiet: bool,
}

impl Globals {
    /// Opens the project named by --project, or the one containing the current directory.
    pub fn open_warehouse(&self) -> anyhow::Result<Warehouse> {
        let project = match &self.project_dir {
            Some(dir) => Project::open(dir)?,
            None => Project::discover(&std::env::current_dir()?)?,
        };
        let wh = Warehouse::open(project)?;
        kura_ga4::register(&wh);
        Ok(wh)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let globals = Globals {
        project_dir: cli.project,
        principal: cli.principal.unwrap_or_else(kura_engine::default_principal),
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Init(args) => init::run(args, &globals).await,
        Command::Demo(args) => demo::run(args, &globals).await,
        Command::Load(args) => load::run(args, &globals).await,
        Command::Sql(args) => sql::run(args, &globals).await,
        Command::Tables(args) => tables::run_tables(args, &globals).await,
        Command::Schema(args) => tables::run_schema(args, &globals).await,
        Command::Vacuum(args) => tables::run_vacuum(args, &globals).await,
        Command::Cost(args) => cost::run(args, &globals).await,
        Command::Experiment(args) => experiment::run(args, &globals).await,
        Command::Ga4(args) => ga4::run(args, &globals).await,
        Command::Run(args) => models::run_models(args, &globals).await,
        Command::Plan(args) => models::run_plan(args, &globals).await,
        Command::Apply(args) => models::run_apply(args, &globals).await,
        Command::Models(args) => models::run_list(args, &globals).await,
        Command::Lint(args) => models::run_lint(args, &globals).await,
        Command::Docs(args) => models::run_docs(args, &globals).await,
        Command::Check(args) => quality::run_check(args, &globals).await,
        Command::Monitor(args) => quality::run_monitor(args, &globals).await,
        Command::Quality(args) => quality::run_quality(args, &globals).await,
        Command::Ml(args) => ml::run(args, &globals).await,
    }
}
