//! `kura cost`: who and what scanned how much, and what it would cost on BigQuery.

use std::process::ExitCode;

use chrono::Utc;
use kura_engine::cost::{cost_report, CostGrouping};

use super::Globals;
use crate::output::human_bytes;

#[derive(Debug, clap::Args)]
pub struct CostArgs {
    /// How far back: e.g. 24h, 7d, 4w.
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Group by principal, label, table or day.
    #[arg(long, value_enum, default_value = "principal")]
    pub by: By,
    /// How many top queries (by normalised text) to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CostFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum By {
    Principal,
    Label,
    Table,
    Day,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CostFormat {
    Table,
    Json,
}

/// Parses `30m`, `24h`, `7d`, `4w` (see [`crate::age::parse_age`]).
pub fn parse_since(s: &str) -> anyhow::Result<chrono::Duration> {
    let age = crate::age::parse_age(s).map_err(|e| anyhow::anyhow!("--since {e}"))?;
    chrono::Duration::from_std(age).map_err(|_| anyhow::anyhow!("--since `{s}` is too long"))
}

pub async fn run(args: CostArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let since = Utc::now() - parse_since(&args.since)?;
    let grouping = match args.by {
        By::Principal => CostGrouping::Principal,
        By::Label => CostGrouping::Label,
        By::Table => CostGrouping::Table,
        By::Day => CostGrouping::Day,
    };
    let report = cost_report(&wh, since, grouping, args.top).await?;
    if let CostFormat::Json = args.format {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Queries since {}: {}, {} scanned, {:.6} USD at {} USD/TiB",
        report.since.format("%Y-%m-%d %H:%M UTC"),
        report.queries,
        human_bytes(report.bytes_scanned),
        report.cost_usd,
        report.usd_per_tib
    );
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([report.grouping.as_str(), "queries", "scanned", "cost (USD)"]);
    for row in &report.rows {
        table.add_row([
            row.key.clone(),
            row.queries.to_string(),
            human_bytes(row.bytes_scanned),
            format!("{:.6}", row.cost_usd),
        ]);
    }
    outln!("{table}");
    if !report.top_queries.is_empty() {
        outln!("Top queries by bytes scanned:");
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header([
            "query (normalised)",
            "runs",
            "scanned",
            "cost (USD)",
            "principals",
        ]);
        for q in &report.top_queries {
            let text: String = q.normalized.chars().take(80).collect();
            table.add_row([
                text,
                q.runs.to_string(),
                human_bytes(q.bytes_scanned),
                format!("{:.6}", q.cost_usd),
                q.principals.join(", "),
            ]);
        }
        outln!("{table}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_since("7d").unwrap(), chrono::Duration::days(7));
        assert_eq!(parse_since("24h").unwrap(), chrono::Duration::hours(24));
        assert!(parse_since("7x").is_err());
        assert!(parse_since("d").is_err());
    }
}
