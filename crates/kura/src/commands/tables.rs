//! `kura tables` and `kura schema`.

use std::process::ExitCode;

use kura_engine::load::bigquery_type_name;
use kura_engine::vacuum::{self, VacuumRequest};
use kura_engine::{EngineError, QueryContext, TableName};

use super::Globals;
use crate::output::human_bytes;

#[derive(Debug, clap::Args)]
pub struct TablesArgs {
    /// Only this dataset.
    pub dataset: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// The table, DATASET.TABLE.
    pub table: String,
}

pub async fn run_tables(args: TablesArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "table",
        "rows",
        "size",
        "files",
        "version",
        "partitioned by",
    ]);
    let mut hidden = 0;
    for info in wh.tables().await? {
        if args
            .dataset
            .as_ref()
            .is_some_and(|d| *d != info.name.dataset)
        {
            continue;
        }
        // A table's existence and size are shown to those who may read it, as in `kura sql`;
        // other failures (an unreadable readers file) are errors, not a hidden table.
        match wh.check_table_read(&globals.principal, &info.name) {
            Ok(()) => {}
            Err(EngineError::AccessDenied(_)) => {
                hidden += 1;
                continue;
            }
            Err(err) => return Err(err.into()),
        }
        table.add_row([
            info.name.to_string(),
            info.rows.map_or("?".into(), |r| r.to_string()),
            human_bytes(info.bytes),
            info.files.to_string(),
            info.version.to_string(),
            info.partition_columns.join(", "),
        ]);
    }
    outln!("{table}");
    if hidden > 0 {
        eprintln!(
            "{hidden} table(s) not shown: `{}` may not read them (see `[access]` in kura.toml \
             and the models' `grants`)",
            globals.principal
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_schema(args: SchemaArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let name = TableName::parse(&args.table)?;
    wh.check_table_read(&globals.principal, &name)?;
    let schema = wh.table_schema(&name).await?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["column", "type", "nullable"]);
    for f in schema.fields() {
        table.add_row([
            f.name().clone(),
            bigquery_type_name(f.data_type()),
            if f.is_nullable() { "yes" } else { "no" }.to_string(),
        ]);
    }
    outln!("{table}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct VacuumArgs {
    /// Only these tables, DATASET.TABLE; default: every table you may write.
    pub tables: Vec<String>,
    /// Keep files younger than this: a whole number and s, m, h, d or w.
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = crate::age::parse_age)]
    pub retain: std::time::Duration,
    /// List the files that would go; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow a retention under 1h: nothing else is writing to the warehouse.
    #[arg(long)]
    pub force: bool,
}

pub async fn run_vacuum(args: VacuumArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let mut tables = Vec::new();
    for t in &args.tables {
        tables.push(TableName::parse(t)?);
    }
    let request = VacuumRequest {
        tables,
        retain: args.retain,
        dry_run: args.dry_run,
        force: args.force,
    };
    let outcome = wh
        .vacuum(&request, &QueryContext::new(&globals.principal))
        .await?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["table", "files", "size"]);
    for t in outcome.tables.iter().filter(|t| !t.files.is_empty()) {
        table.add_row([
            t.table.to_string(),
            t.files.len().to_string(),
            human_bytes(t.bytes),
        ]);
    }
    if outcome.files() > 0 {
        outln!("{table}");
    }
    if !globals.quiet {
        let verb = if outcome.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        eprintln!(
            "{verb} {} file(s), {}, from {} of {} table(s); files younger than {} were kept",
            outcome.files(),
            human_bytes(outcome.bytes()),
            outcome
                .tables
                .iter()
                .filter(|t| !t.files.is_empty())
                .count(),
            outcome.tables.len(),
            vacuum::describe(args.retain),
        );
        if !outcome.skipped.is_empty() {
            eprintln!(
                "{} table(s) skipped: `{}` may not write them",
                outcome.skipped.len(),
                globals.principal
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
