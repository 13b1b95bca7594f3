//! `kura ga4`: load a Google Analytics 4 export and flatten it into columns.

use std::path::PathBuf;
use std::process::ExitCode;

use kura_ga4::keys::KeyScope;
use kura_ga4::{Ga4FileStatus, Ga4LoadOutcome, Ga4LoadRequest};

use super::Globals;
use crate::output::human_count;

#[derive(Debug, clap::Args)]
pub struct Ga4Args {
    #[command(subcommand)]
    pub command: Ga4Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Ga4Command {
    /// Load export files (events_YYYYMMDD, events_intraday_..., events_fresh_...; NDJSON,
    /// plain or .gz, or Parquet) into raw.ga4_events, and rebuild the ga4.* tables.
    Load(LoadArgs),
    /// The parameter keys seen so far: column, type, first and last day, count, type changes.
    Schema(SchemaArgs),
    /// Rebuild every ga4.* table from raw.ga4_events.
    Rebuild,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Export files, or directories to search for them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The GA4 property the export belongs to: each property's days are loaded and replaced
    /// apart from the others' (raw.ga4_events._property, ga4.events.property).
    #[arg(long, value_name = "NAME")]
    pub property: Option<String>,
    /// Keep up to N unreadable lines in raw.ga4_events__rejected instead of failing.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_bad_rows: u64,
    /// Make the files given the whole of their days (a day re-exported in fewer shards), even
    /// if the raw table already holds exactly these files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SchemaFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SchemaFormat {
    Table,
    Json,
}

pub async fn run(args: Ga4Args, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    match args.command {
        Ga4Command::Load(a) => {
            let request = Ga4LoadRequest {
                paths: a.paths,
                max_bad_rows: a.max_bad_rows,
                force: a.force,
                property: a.property,
            };
            let outcome = kura_ga4::load(&wh, &request, &globals.principal).await?;
            print_outcome(&outcome, globals.quiet);
        }
        Ga4Command::Rebuild => {
            let outcome = kura_ga4::rebuild(&wh, &globals.principal).await?;
            if !globals.quiet {
                eprintln!(
                    "rebuilt ga4.events, ga4.event_params, ga4.user_properties, ga4.items, ga4.sessions and ga4.pages from raw.ga4_events: {} sessions ({:.1}s)",
                    human_count(outcome.sessions),
                    outcome.elapsed.as_secs_f64()
                );
            }
        }
        Ga4Command::Schema(a) => {
            let rows = kura_ga4::key_report(&wh).await?;
            match a.format {
                SchemaFormat::Json => outln!("{}", serde_json::to_string_pretty(&rows)?),
                SchemaFormat::Table => {
                    let mut table = comfy_table::Table::new();
                    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
                    table.set_header([
                        "scope",
                        "key",
                        "column",
                        "type",
                        "first seen",
                        "last seen",
                        "count",
                        "string",
                        "int",
                        "double",
                        "type changed",
                    ]);
                    for r in &rows {
                        let changed = match (r.type_changed_from, r.type_changed_on) {
                            (Some(from), Some(on)) => format!("from {from} on {on}"),
                            _ if r.type_changed => "mixed within a day".to_string(),
                            _ => String::new(),
                        };
                        table.add_row([
                            r.scope.to_string(),
                            r.key.clone(),
                            r.column.clone(),
                            r.column_type.to_string(),
                            r.first_seen.to_string(),
                            r.last_seen.to_string(),
                            r.count.to_string(),
                            r.string_values.to_string(),
                            r.int_values.to_string(),
                            r.double_values.to_string(),
                            changed,
                        ]);
                    }
                    outln!("{table}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(outcome: &Ga4LoadOutcome, quiet: bool) {
    if quiet {
        return;
    }
    for f in &outcome.files {
        match &f.status {
            Ga4FileStatus::Loaded { rows, rejected } => {
                let bad = if *rejected > 0 {
                    format!(", {rejected} rejected into raw.ga4_events__rejected")
                } else {
                    String::new()
                };
                eprintln!(
                    "  loaded   {} ({} {}, {rows} events{bad})",
                    f.path.display(),
                    f.kind.as_str(),
                    f.date
                );
            }
            Ga4FileStatus::Skipped { reason } => {
                eprintln!("  skipped  {}: {reason}", f.path.display());
            }
        }
    }
    for scope in [KeyScope::Event, KeyScope::User, KeyScope::Item] {
        let added: Vec<String> = outcome
            .new_columns
            .iter()
            .filter(|c| c.scope == scope)
            .map(|c| format!("{} {}", c.column, c.param_type.as_str()))
            .collect();
        if !added.is_empty() {
            let table = if scope == KeyScope::Item {
                "ga4.items"
            } else {
                "ga4.events"
            };
            eprintln!(
                "  {} new {} column(s) in {table}: {}",
                added.len(),
                scope.as_str(),
                added.join(", ")
            );
        }
    }
    for w in &outcome.widened {
        if w.from == kura_ga4::keys::ParamType::Null {
            eprintln!(
                "  typed    {} as {} ({} key `{}` had only empty values before); rebuilt every day",
                w.column,
                w.to.as_str(),
                w.scope.as_str(),
                w.key,
            );
            continue;
        }
        eprintln!(
            "  widened  {} from {} to {} ({} key `{}` now has {} values); rebuilt every day",
            w.column,
            w.from.as_str(),
            w.to.as_str(),
            w.scope.as_str(),
            w.key,
            w.to.as_str().to_lowercase()
        );
    }
    for (column, counts) in &outcome.mixed_types {
        let seen: Vec<String> = [
            ("string", counts.string),
            ("int", counts.int),
            ("double", counts.double),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
        eprintln!(
            "  mixed    {} is {}: {} key `{}` came as {} in this load",
            column.column,
            column.param_type.as_str(),
            column.scope.as_str(),
            column.key,
            seen.join(", ")
        );
    }
    if outcome.days.is_empty() && !outcome.files.is_empty() {
        eprintln!("nothing to load: every day is already up to date");
        return;
    }
    eprintln!(
        "{} events in {} day(s) into raw.ga4_events; ga4.events, ga4.event_params, ga4.user_properties, ga4.items rebuilt for those days; {} sessions in ga4.sessions ({:.1}s)",
        human_count(outcome.events),
        outcome.days.len(),
        human_count(outcome.sessions),
        outcome.elapsed.as_secs_f64()
    );
    if !outcome.phases.is_empty() {
        let phases: Vec<String> = outcome
            .phases
            .iter()
            .map(|(name, d)| format!("{name} {:.1}s", d.as_secs_f64()))
            .collect();
        eprintln!("  time: {}", phases.join(", "));
    }
    if let Some(reason) = &outcome.flat_rebuilt {
        eprintln!(
            "  note: the flat tables were rebuilt from raw.ga4_events after the load: {reason}"
        );
    }
    if outcome.events_without_session > 0 {
        eprintln!(
            "  note: {} event(s) have no ga_session_id or no user_pseudo_id and belong to no session",
            outcome.events_without_session
        );
    }
}
