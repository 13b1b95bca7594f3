//! `kura experiment`: choose the method from how the target was picked, size an A/B test,
//! register the design, and analyse it once its pre-registered end date has passed.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{NaiveDate, Utc};
use kura_engine::QueryContext;
use kura_stats::{
    choose_method, next_question, sample_size, AnalysisSpec, Assignment, DesignAnswers, Method,
    MetricKind, MissingPolicy, SampleSizeRequest,
};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct ExperimentArgs {
    #[command(subcommand)]
    pub command: ExperimentCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ExperimentCommand {
    /// Choose the method, size an A/B test and register the design in `_kura.experiments`.
    Design(Box<DesignArgs>),
    /// Run the registered method on the registered query (refused before the end date).
    Analyze(AnalyzeArgs),
    /// List registered experiments.
    List,
}

#[derive(Debug, clap::Args)]
pub struct DesignArgs {
    /// The experiment's name (snake_case).
    pub name: String,
    /// How the targeted units were selected.
    #[arg(long, value_enum)]
    pub assignment: Option<AssignmentArg>,
    /// By people: can the outcome be predicted from observed covariates?
    #[arg(long)]
    pub outcome_predictable: Option<bool>,
    /// By people: can the targeting rule be predicted from observed covariates?
    #[arg(long)]
    pub targeting_predictable: Option<bool>,
    /// Is there an untreated group with a trend similar to the treated one?
    #[arg(long)]
    pub similar_trend: Option<bool>,
    /// Was treatment decided by a threshold on a continuous value?
    #[arg(long)]
    pub threshold: Option<bool>,
    /// The metric (a column of the analysis query).
    #[arg(long)]
    pub metric: String,
    /// The unit of randomisation or analysis (user, session, store, ...).
    #[arg(long, default_value = "user")]
    pub unit: String,
    /// The query whose rows the analysis uses (GoogleSQL).
    #[arg(long, value_name = "SQL")]
    pub analysis_sql: Option<String>,
    /// ... or read it from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "analysis_sql")]
    pub analysis_sql_file: Option<PathBuf>,
    /// The analysis as JSON (kura-stats AnalysisSpec); default for an A/B test: Welch's
    /// t-test of --metric by --group, or two proportions with --metric-kind conversion.
    #[arg(long, value_name = "JSON")]
    pub spec: Option<String>,
    /// The 0/1 treatment column of the analysis query.
    #[arg(long, default_value = "treated")]
    pub group: String,
    /// A/B sizing: continuous (t-test) or conversion (two proportions).
    #[arg(long, value_enum, default_value = "continuous")]
    pub metric_kind: MetricKindArg,
    /// Standard deviation of a continuous metric.
    #[arg(long)]
    pub sd: Option<f64>,
    /// Baseline conversion rate of a conversion metric.
    #[arg(long)]
    pub baseline: Option<f64>,
    /// Minimum detectable effect, as an absolute difference.
    #[arg(long)]
    pub mde: Option<f64>,
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    #[arg(long, default_value_t = 0.8)]
    pub power: f64,
    /// Share of eligible units in the test group.
    #[arg(long, default_value_t = 0.5)]
    pub treatment_share: f64,
    /// Expected eligible units per day, for the test length.
    #[arg(long)]
    pub units_per_day: Option<f64>,
    /// First day of the experiment (default: today).
    #[arg(long)]
    pub start: Option<NaiveDate>,
    /// Pre-registered end date (default for an A/B test: start + the computed length).
    #[arg(long)]
    pub end: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AssignmentArg {
    Random,
    ByPeople,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MetricKindArg {
    Continuous,
    Conversion,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    pub name: String,
    /// Analyse before the pre-registered end date; the peek is recorded with the result.
    #[arg(long)]
    pub peek: bool,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Drop rows with missing values (they are counted and reported either way).
    #[arg(long)]
    pub drop_missing: bool,
    /// Write the method's figure (CausalImpact's three panels, the RD plot) as SVG and PNG
    /// into this directory, named after the experiment.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
}

pub async fn run(args: ExperimentArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    match args.command {
        ExperimentCommand::Design(a) => design(*a, globals).await,
        ExperimentCommand::Analyze(a) => analyze(a, globals).await,
        ExperimentCommand::List => list(globals).await,
    }
}

/// The figure of a CausalImpact or regression-discontinuity analysis, as SVG.
fn figure(
    name: &str,
    spec: &AnalysisSpec,
    report: &kura_stats::AnalysisReport,
    batches: &[RecordBatch],
) -> anyhow::Result<Option<String>> {
    use kura_stats::AnalysisResult;
    Ok(match (&report.result, spec) {
        (AnalysisResult::CausalImpact(r), _) => Some(kura_stats::plot::causal_impact_svg(
            r,
            &format!("{name}: CausalImpact"),
        )),
        (
            AnalysisResult::RegressionDiscontinuity(r),
            AnalysisSpec::RegressionDiscontinuity {
                outcome,
                running,
                options,
            },
        ) => {
            // The plot shows every complete (outcome, running) pair, binned.
            let (columns, _) = kura_stats::data::complete_columns(
                batches,
                &[outcome.as_str(), running.as_str()],
                MissingPolicy::Drop,
            )?;
            Some(kura_stats::plot::rd_svg(
                &columns[0],
                &columns[1],
                r,
                options.cutoff,
                20,
                &format!("{name}: regression discontinuity"),
            ))
        }
        _ => None,
    })
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.is_empty();
    if !ok {
        bail!("experiment name `{name}` is not snake_case; use e.g. `free_shipping_2024q3`");
    }
    Ok(())
}

/// Fills unanswered questions by asking on a terminal; without one, names the missing flag.
fn complete_answers(mut a: DesignAnswers) -> anyhow::Result<DesignAnswers> {
    while let Some(q) = next_question(&a) {
        if !std::io::stdin().is_terminal() {
            bail!(
                "the design needs an answer to: {} (pass --assignment, --outcome-predictable, \
                 --targeting-predictable, --similar-trend or --threshold)",
                q.text()
            );
        }
        eprint!(
            "{} [y/n{}] ",
            q.text(),
            if a.assignment.is_none() {
                ", r=random"
            } else {
                ""
            }
        );
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        let yes = matches!(line.trim(), "y" | "yes" | "r" | "random");
        if a.assignment.is_none() {
            a.assignment = Some(if yes {
                Assignment::Random
            } else {
                Assignment::ByPeople
            });
        } else if a.outcome_predictable.is_none() {
            a.outcome_predictable = Some(yes);
        } else if a.targeting_rule_predictable.is_none() {
            a.targeting_rule_predictable = Some(yes);
        } else if a.similar_trend_group.is_none() {
            a.similar_trend_group = Some(yes);
        } else {
            a.threshold_on_continuous = Some(yes);
        }
    }
    Ok(a)
}

async fn design(args: DesignArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let wh = globals.open_warehouse()?;
    let answers = complete_answers(DesignAnswers {
        assignment: args.assignment.map(|a| match a {
            AssignmentArg::Random => Assignment::Random,
            AssignmentArg::ByPeople => Assignment::ByPeople,
        }),
        outcome_predictable: args.outcome_predictable,
        targeting_rule_predictable: args.targeting_predictable,
        similar_trend_group: args.similar_trend,
        threshold_on_continuous: args.threshold,
    })?;
    let choice = choose_method(&answers)?;
    outln!("Method: {}\nWhy: {}", choice.method.as_str(), choice.reason);

    let start = args.start.unwrap_or_else(|| Utc::now().date_naive());
    let mut plan_json = serde_json::Value::Null;
    let mut end = args.end;
    if choice.method == Method::AbTest {
        let Some(mde) = args.mde else {
            bail!("an A/B test needs --mde (the minimum detectable effect) to be sized");
        };
        let metric = match args.metric_kind {
            MetricKindArg::Continuous => MetricKind::Continuous {
                sd: args
                    .sd
                    .context("a continuous metric needs --sd (its standard deviation)")?,
            },
            MetricKindArg::Conversion => MetricKind::Proportion {
                baseline: args
                    .baseline
                    .context("a conversion metric needs --baseline (the control rate)")?,
            },
        };
        let plan = sample_size(&SampleSizeRequest {
            metric,
            mde,
            alpha: args.alpha,
            power: args.power,
            treatment_share: args.treatment_share,
            eligible_units_per_day: args.units_per_day,
        })?;
        outln!("{}", kura_stats::text::render_plan(&plan));
        if end.is_none() {
            end = plan
                .days
                .map(|d| start + chrono::Duration::days(d as i64 - 1));
        }
        plan_json = serde_json::to_value(&plan)?;
    }
    let Some(end) = end else {
        bail!("pass --end DATE (the pre-registered end of the observation period), or --units-per-day to derive it");
    };
    let analysis_sql = match (&args.analysis_sql, &args.analysis_sql_file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        (None, None) => {
            bail!("pass --analysis-sql or --analysis-sql-file: the query the analysis reads")
        }
    };
    let spec: AnalysisSpec = match &args.spec {
        Some(json) => serde_json::from_str(json).context("--spec is not a valid analysis spec")?,
        None if choice.method == Method::AbTest => match args.metric_kind {
            MetricKindArg::Continuous => AnalysisSpec::AbContinuous {
                metric: args.metric.clone(),
                group: args.group.clone(),
                pre_metric: None,
                equal_var: false,
            },
            MetricKindArg::Conversion => AnalysisSpec::AbConversion {
                converted: args.metric.clone(),
                group: args.group.clone(),
            },
        },
        None => bail!(
            "pass --spec for a {} analysis (its columns and options as JSON)",
            choice.method.as_str()
        ),
    };
    if spec.method() != choice.method {
        bail!(
            "--spec runs {}, but the design calls for {}",
            spec.method().as_str(),
            choice.method.as_str()
        );
    }
    let design = serde_json::json!({
        "answers": answers, "method": choice.method, "reason": choice.reason,
        "plan": plan_json, "alpha": args.alpha, "treatment_share": args.treatment_share,
    });
    let cols: Vec<(&str, String)> = vec![
        ("name", args.name.clone()),
        ("method", choice.method.as_str().to_string()),
        ("reason", choice.reason.clone()),
        ("metric", args.metric.clone()),
        ("unit", args.unit.clone()),
        ("start_date", start.to_string()),
        ("end_date", end.to_string()),
        ("design_json", design.to_string()),
        ("analysis_sql", analysis_sql),
        ("spec_json", serde_json::to_string(&spec)?),
        ("registered_by", globals.principal.clone()),
        ("registered_at", Utc::now().to_rfc3339()),
    ];
    wh.append_system("experiments", string_batch(&cols)?)
        .await?;
    outln!(
        "Registered `{}`: {} from {start} to {end}. `kura experiment analyze {}` runs after {end}.",
        args.name,
        choice.method.as_str(),
        args.name
    );
    Ok(ExitCode::SUCCESS)
}

fn string_batch(cols: &[(&str, String)]) -> anyhow::Result<RecordBatch> {
    let schema = Schema::new(
        cols.iter()
            .map(|(n, _)| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    );
    let arrays: Vec<ArrayRef> = cols
        .iter()
        .map(|(_, v)| Arc::new(StringArray::from(vec![v.as_str()])) as ArrayRef)
        .collect();
    Ok(RecordBatch::try_new(Arc::new(schema), arrays)?)
}

/// The latest registration of an experiment, as (column -> value).
async fn registered(
    wh: &kura_engine::Warehouse,
    name: &str,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let log = kura_engine::TableName::new("_kura", "experiments")?;
    if !wh.store().exists(&log) {
        bail!("no experiment `{name}` is registered; `kura experiment design` registers one");
    }
    let batches = wh
        .query_internal(&format!(
            "SELECT * FROM _kura.experiments WHERE name = '{name}' ORDER BY registered_at DESC LIMIT 1"
        ))
        .await?;
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        for b in &batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(if buf.is_empty() { b"[]" } else { &buf })?;
    rows.into_iter().next().with_context(|| {
        format!("no experiment `{name}` is registered; `kura experiment list` shows them")
    })
}

async fn analyze(args: AnalyzeArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let wh = globals.open_warehouse()?;
    let reg = registered(&wh, &args.name).await?;
    let get = |k: &str| {
        reg.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let end: NaiveDate = get("end_date").parse().context("registered end_date")?;
    let today = Utc::now().date_naive();
    if today <= end && !args.peek {
        bail!(
            "`{}` is pre-registered to end on {end}; testing before then inflates false positives \
             (p-hacking). Wait, or pass --peek to look anyway (recorded with the result)",
            args.name
        );
    }
    let spec: AnalysisSpec = serde_json::from_str(&get("spec_json"))?;
    let alpha = serde_json::from_str::<serde_json::Value>(&get("design_json"))
        .ok()
        .and_then(|d| d.get("alpha").and_then(|a| a.as_f64()))
        .unwrap_or(0.05);
    let ctx = QueryContext::new(globals.principal.clone()).with_label("experiment", &args.name);
    let result = wh.query(&get("analysis_sql"), &ctx).await?;
    let missing = if args.drop_missing {
        MissingPolicy::Drop
    } else {
        MissingPolicy::Error
    };
    let report = kura_stats::analyze(&result.batches, &spec, alpha, missing)?;
    if let Some(dir) = &args.plots {
        match figure(&args.name, &spec, &report, &result.batches)? {
            Some(svg) => {
                let (svg_path, png_path) = crate::png::write_figure(dir, &args.name, &svg)?;
                if !globals.quiet {
                    eprintln!("wrote {} and {}", svg_path.display(), png_path.display());
                }
            }
            None => eprintln!(
                "note: {:?} has no figure; --plots draws CausalImpact and regression discontinuity",
                report.method
            ),
        }
    }
    let report_json = serde_json::to_string(&report)?;
    if args.format == "json" {
        outln!("{report_json}");
    } else {
        if args.peek && today <= end {
            outln!(
                "PEEK: analysed before the pre-registered end date {end}; recorded as a peek.\n"
            );
        }
        outln!("{}", kura_stats::text::render_report(&report));
    }
    let schema = Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("analyzed_at", DataType::Utf8, false),
        Field::new("principal", DataType::Utf8, false),
        Field::new("peek", DataType::Boolean, false),
        Field::new("query_id", DataType::Utf8, false),
        Field::new("report_json", DataType::Utf8, false),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from(vec![args.name.as_str()])),
            Arc::new(StringArray::from(vec![Utc::now().to_rfc3339()])),
            Arc::new(StringArray::from(vec![globals.principal.as_str()])),
            Arc::new(BooleanArray::from(vec![args.peek && today <= end])),
            Arc::new(StringArray::from(vec![result.query_id.as_str()])),
            Arc::new(StringArray::from(vec![report_json.as_str()])),
        ],
    )?;
    wh.append_system("experiment_results", batch).await?;
    Ok(ExitCode::SUCCESS)
}

async fn list(globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let log = kura_engine::TableName::new("_kura", "experiments")?;
    if !wh.store().exists(&log) {
        outln!("No experiments registered.");
        return Ok(ExitCode::SUCCESS);
    }
    let batches = wh
        .query_internal(
            "SELECT name, method, metric, unit, start_date, end_date, registered_by \
             FROM _kura.experiments ORDER BY registered_at",
        )
        .await?;
    outln!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
    Ok(ExitCode::SUCCESS)
}
