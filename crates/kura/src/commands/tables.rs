//! `kura tables` and `kura schema`.

use std::process::ExitCode;

use kura_engine::load::bigquery_type_name;
use kura_engine::{EngineError, TableName};

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
    println!("{table}");
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
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
