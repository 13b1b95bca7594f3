//! `kura run`, `kura plan`, `kura apply` and `kura models`: the project's SQL models.

use std::path::PathBuf;
use std::process::ExitCode;

use kura_models::plan::{self, human_bytes};
use kura_models::{BuildOptions, BuildReport, BuildStatus, Environment, Plan};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Models to build: a name (orders, marts.orders), a dataset (marts.*), a tag
    /// (tag:finance); +name adds everything upstream, name+ everything downstream.
    #[arg(long, short, value_name = "SELECTOR")]
    pub select: Vec<String>,
    /// Rebuild incremental models from scratch.
    #[arg(long)]
    pub full_refresh: bool,
    /// Build into `<dataset>__<env>` instead of prod (e.g. --env dev).
    #[arg(long, default_value = "prod")]
    pub env: String,
    /// Models built at the same time, at most.
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
    /// Skip the models' data checks (run by default right after each model is built).
    #[arg(long)]
    pub no_checks: bool,
    /// Record check results but send no alerts.
    #[arg(long)]
    pub no_alerts: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Plan for prod, or for a development environment built into `<dataset>__<env>`.
    #[arg(long, default_value = "prod")]
    pub env: String,
    /// text for a terminal, markdown for a pull-request comment, json for tools.
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    /// Also save the plan here, for `kura apply FILE`.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A plan saved by `kura plan --out`: applied only if the project and the warehouse are
    /// still as it was made from. Without it, the current plan is applied.
    pub plan: Option<PathBuf>,
    #[arg(long, default_value = "prod")]
    pub env: String,
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
}

fn environment(name: &str) -> anyhow::Result<Environment> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        anyhow::bail!("invalid --env `{name}`: use lowercase letters, digits and underscores");
    }
    Ok(Environment(name.to_string()))
}

pub async fn run_models(args: RunArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let (project, graph) = kura_models::plan::load_project(&wh, wh.project().root())?;
    let selected = graph.select(&project, &args.select)?;
    let options = BuildOptions {
        env: environment(&args.env)?,
        principal: globals.principal.clone(),
        full_refresh: args.full_refresh,
        threads: args.threads,
        command: "run".into(),
        run_checks: !args.no_checks,
    };
    let settings = super::quality::alert_settings(&wh)?;
    let report = kura_models::build::build(&wh, &project, &graph, &selected, &options).await?;
    print_report(&report, globals.quiet);
    let checks: Vec<kura_quality::CheckResult> = report
        .results
        .iter()
        .flat_map(|r| r.checks.iter().cloned())
        .collect();
    if !checks.is_empty() {
        super::quality::print_check_results(&checks);
        if !args.no_alerts {
            let mut scope = kura_quality::RunScope::for_warehouse(&wh, globals.principal.clone());
            scope.run_id = report.run_id.clone();
            let name = wh.project().config().project.name.clone();
            let alerts =
                kura_quality::raise_alerts(&wh, &settings, &name, &checks, &[], &scope).await?;
            super::quality::print_alerts(&alerts, globals.quiet);
        }
    }
    Ok(if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn run_plan(args: PlanArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let (project, graph) = plan::load_project(&wh, wh.project().root())?;
    let env = environment(&args.env)?;
    let plan = plan::plan(&wh, &project, &graph, &env, &globals.principal).await?;
    match args.format {
        PlanFormat::Text => out!("{}", plan::render_text(&plan)),
        PlanFormat::Markdown => out!("{}", plan::render_markdown(&plan)),
        PlanFormat::Json => outln!("{}", serde_json::to_string_pretty(&plan)?),
    }
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_string_pretty(&plan)?)?;
        if !globals.quiet {
            eprintln!(
                "saved the plan to {}; apply it with `kura apply {}`",
                path.display(),
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_apply(args: ApplyArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let (project, graph) = plan::load_project(&wh, wh.project().root())?;
    let saved = args.plan.as_deref().map(Plan::read).transpose()?;
    let options = BuildOptions {
        env: environment(&args.env)?,
        principal: globals.principal.clone(),
        full_refresh: false,
        threads: args.threads,
        command: "apply".into(),
        run_checks: true,
    };
    let (plan, report) = plan::apply(&wh, &project, &graph, saved.as_ref(), &options).await?;
    if !globals.quiet {
        eprint!("{}", plan::render_text(&plan));
    }
    print_report(&report, globals.quiet);
    Ok(if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    #[arg(long, short, value_name = "SELECTOR")]
    pub select: Vec<String>,
}

/// `kura models`: the project's models in build order, with what they read.
pub async fn run_list(args: ModelsArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let (project, graph) = plan::load_project(&wh, wh.project().root())?;
    let selected = graph.select(&project, &args.select)?;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY);
    table.set_header(vec!["model", "materialized", "reads", "owner", "tags"]);
    for &i in graph.order.iter().filter(|i| selected.contains(i)) {
        let m = &project.models[i];
        let reads: Vec<String> = m.reads.iter().map(|r| r.table.to_string()).collect();
        table.add_row(vec![
            m.name.to_string(),
            m.header.materialized.as_str().to_string(),
            reads.join(", "),
            m.header.owner.clone().unwrap_or_default(),
            m.header.tags.join(", "),
        ]);
    }
    outln!("{table}");
    Ok(ExitCode::SUCCESS)
}

pub fn print_report(report: &BuildReport, quiet: bool) {
    for r in &report.results {
        let detail = match &r.status {
            BuildStatus::Built => {
                let mut parts = vec![r.materialized.as_str().to_string()];
                if let Some(rows) = r.rows {
                    parts.push(format!("{rows} rows"));
                }
                if r.bytes_scanned > 0 {
                    parts.push(format!("scanned {}", human_bytes(r.bytes_scanned)));
                }
                if let Some(w) = &r.window_start {
                    parts.push(format!("rebuilt from {w}"));
                }
                if !r.added_columns.is_empty() {
                    parts.push(format!("added columns {}", r.added_columns.join(", ")));
                }
                format!(
                    "ok      {} ({}) in {:.2}s",
                    r.target,
                    parts.join(", "),
                    r.elapsed.as_secs_f64()
                )
            }
            BuildStatus::Failed(e) => format!("FAILED  {}: {e}", r.target),
            BuildStatus::Skipped { upstream } => {
                format!("skipped {} (upstream {upstream} did not build)", r.target)
            }
        };
        outln!("{detail}");
    }
    if !quiet {
        let count =
            |f: fn(&BuildStatus) -> bool| report.results.iter().filter(|r| f(&r.status)).count();
        eprintln!(
            "{} built, {} failed, {} skipped (run {})",
            count(|s| *s == BuildStatus::Built),
            count(|s| matches!(s, BuildStatus::Failed(_))),
            count(|s| matches!(s, BuildStatus::Skipped { .. })),
            report.run_id
        );
    }
}

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Explain a rule (e.g. K201) instead of linting.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,
    /// List every rule with its code, severity and why.
    #[arg(long)]
    pub rules: bool,
}

/// `kura lint`: exit 1 when any error-severity finding remains, so CI can gate on it.
pub async fn run_lint(args: LintArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    if args.rules {
        for r in kura_lint::rules() {
            outln!(
                "{} {:<32} {:<5} {}",
                r.code,
                r.name,
                r.default_severity,
                r.why
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(code) = &args.explain {
        let Some(rule) = kura_lint::rule(code) else {
            anyhow::bail!("no rule `{code}`; `kura lint --rules` lists them");
        };
        outln!(
            "{} ({}): {}\n\nfix: {}\n\n{}",
            rule.code,
            rule.name,
            rule.why,
            rule.fix,
            rule.explanation
        );
        return Ok(ExitCode::SUCCESS);
    }
    let wh = globals.open_warehouse()?;
    let (project, _) = plan::load_project(&wh, wh.project().root())?;
    let config = kura_models::lint::config(&wh)?;
    let findings = kura_models::lint::lint(&wh, &project, &config, &globals.principal).await?;
    for d in &findings {
        outln!("{d}");
    }
    let errors = findings
        .iter()
        .filter(|d| d.severity == kura_lint::Severity::Error)
        .count();
    if !globals.quiet {
        eprintln!(
            "{} finding{} ({errors} error{}, {} warning{}) in {} models",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            findings.len() - errors,
            if findings.len() - errors == 1 {
                ""
            } else {
                "s"
            },
            project.models.len()
        );
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Debug, clap::Args)]
pub struct DocsArgs {
    /// Where to write the site.
    #[arg(long, short, default_value = "target/kura-docs", value_name = "DIR")]
    pub out: PathBuf,
}

/// `kura docs`: a static site of the models with their lineage.
pub async fn run_docs(args: DocsArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let (project, _) = plan::load_project(&wh, wh.project().root())?;
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        wh.project().root().join(&args.out)
    };
    let summary = kura_models::docs::write(&wh, &project, &out, &globals.principal).await?;
    outln!("{}", summary.index.display());
    if !globals.quiet {
        eprintln!(
            "wrote {} pages; open the path above in a browser",
            summary.pages
        );
    }
    Ok(ExitCode::SUCCESS)
}
