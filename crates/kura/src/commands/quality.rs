//! `kura check`, `kura monitor` and `kura quality report`: the data's own health.

use std::process::ExitCode;

use kura_alert::AlertSettings;
use kura_engine::Warehouse;
use kura_quality::{
    raise_alerts, AlertRecord, CheckResult, CheckStatus, MonitorOutcome, RunScope, TableCheck,
    TableMonitor,
};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Tables whose checks run: dataset.table (or a model's name), dataset.*, tag:x; all when
    /// left out.
    #[arg(long, short, value_name = "SELECTOR")]
    pub select: Vec<String>,
    /// Record results but send no alerts.
    #[arg(long)]
    pub no_alerts: bool,
}

#[derive(Debug, clap::Args)]
pub struct MonitorArgs {
    /// Tables whose monitors run, as for `kura check`.
    #[arg(long, short, value_name = "SELECTOR")]
    pub select: Vec<String>,
    /// Record metrics but send no alerts.
    #[arg(long)]
    pub no_alerts: bool,
}

#[derive(Debug, clap::Args)]
pub struct QualityArgs {
    #[command(subcommand)]
    pub command: QualityCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum QualityCommand {
    /// The state per table: last result of each check and monitor, with trends and open alerts.
    Report {
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

/// The alert channels of `kura.toml`'s `[alerts]`, checked before anything runs.
pub fn alert_settings(wh: &Warehouse) -> anyhow::Result<AlertSettings> {
    let table = wh.project().config().alerts.clone();
    let settings: AlertSettings = toml::Value::Table(table)
        .try_into()
        .map_err(|e| anyhow::anyhow!("kura.toml [alerts]: {e}"))?;
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("kura.toml [alerts]: {e}\n  help: {}", e.hint()))?;
    Ok(settings)
}

fn scope(wh: &Warehouse, globals: &Globals, command: &str) -> RunScope {
    let mut scope = RunScope::for_warehouse(wh, globals.principal.clone());
    scope.labels.push(("command".into(), command.into()));
    scope
}

/// `kura check`: exit 1 when an error-severity check fails or cannot run.
pub async fn run_check(args: CheckArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let settings = alert_settings(&wh)?;
    let project = kura_models::ModelProject::load(wh.project().root())?;
    let declared = project
        .select_quality(&args.select)
        .map_err(|e| anyhow::anyhow!(e))?;
    let checks: Vec<TableCheck> = declared.iter().flat_map(|q| q.table_checks()).collect();
    if checks.is_empty() {
        eprintln!(
            "no checks declared; add [[checks]] to a model's header or a models/<dataset>/checks.toml"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let scope = scope(&wh, globals, "check");
    let results = kura_quality::run_checks(&wh, &checks, &scope).await?;
    print_check_results(&results);
    let alerts = if args.no_alerts {
        Vec::new()
    } else {
        let name = wh.project().config().project.name.clone();
        raise_alerts(&wh, &settings, &name, &results, &[], &scope).await?
    };
    print_alerts(&alerts, globals.quiet);
    if !globals.quiet {
        let count = |s: CheckStatus| results.iter().filter(|r| r.status() == s).count();
        eprintln!(
            "{} passed, {} warned, {} failed, {} could not run (run {})",
            count(CheckStatus::Pass),
            count(CheckStatus::Warn),
            count(CheckStatus::Fail),
            count(CheckStatus::Error),
            scope.run_id
        );
    }
    Ok(if kura_quality::any_error(&results) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kura monitor`: exit 1 when a monitor cannot run; anomalies alert but do not fail.
pub async fn run_monitor(args: MonitorArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let settings = alert_settings(&wh)?;
    let project = kura_models::ModelProject::load(wh.project().root())?;
    let declared = project
        .select_quality(&args.select)
        .map_err(|e| anyhow::anyhow!(e))?;
    let monitors: Vec<TableMonitor> = declared.iter().filter_map(|q| q.table_monitor()).collect();
    if monitors.is_empty() {
        eprintln!("no monitors declared; add [monitor] time_column = \"...\" to a model's header or a checks.toml");
        return Ok(ExitCode::SUCCESS);
    }
    let scope = scope(&wh, globals, "monitor");
    let outcomes = kura_quality::run_monitors(&wh, &monitors, &scope).await?;
    print_monitor_outcomes(&outcomes);
    let alerts = if args.no_alerts {
        Vec::new()
    } else {
        let name = wh.project().config().project.name.clone();
        raise_alerts(&wh, &settings, &name, &[], &outcomes, &scope).await?
    };
    print_alerts(&alerts, globals.quiet);
    Ok(if outcomes.iter().any(|o| o.error.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kura quality report`.
pub async fn run_quality(args: QualityArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    match args.command {
        QualityCommand::Report { format } => {
            let report = kura_quality::quality_report(&wh).await?;
            match format {
                ReportFormat::Text => out!("{}", report.render_text()),
                ReportFormat::Markdown => out!("{}", report.render_markdown()),
                ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_check_results(results: &[CheckResult]) {
    for r in results {
        let mark = match r.status() {
            CheckStatus::Pass => "pass ",
            CheckStatus::Warn => "WARN ",
            CheckStatus::Fail => "FAIL ",
            CheckStatus::Error => "ERROR",
        };
        outln!("{mark} {} {}: {}", r.table, r.check_name, r.message);
    }
}

fn print_monitor_outcomes(outcomes: &[MonitorOutcome]) {
    for o in outcomes {
        if let Some(e) = &o.error {
            outln!("ERROR {}: monitor could not run: {e}", o.table);
            continue;
        }
        let judged = o.metrics.iter().filter(|m| m.assessed).count();
        let anomalies: Vec<_> = o.anomalies().collect();
        outln!(
            "{} {}: {} metrics judged over {} rows, {} anomalous",
            if anomalies.is_empty() {
                "ok   "
            } else {
                "ANOM "
            },
            o.table,
            judged,
            o.rows_scanned,
            anomalies.len()
        );
        for a in anomalies {
            outln!("      {}", kura_quality::monitor::describe_anomaly(a));
        }
    }
}

pub fn print_alerts(alerts: &[AlertRecord], quiet: bool) {
    if quiet {
        return;
    }
    for a in alerts {
        let delivery = if a.deliveries == "[]" {
            "no channels configured".to_string()
        } else if a.delivered {
            "delivered".to_string()
        } else {
            format!("NOT delivered: {}", a.deliveries)
        };
        eprintln!(
            "alert {} {}: {} ({delivery})",
            a.event, a.alert_key, a.title
        );
    }
}
