//! `kura ml`: train LightGBM on a warehouse table, apply it, explain it with SHAP as tables, and
//! move models in and out of the project (`ml/<name>/model.txt` + `card.json`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use arrow::array::ArrayRef;
use arrow::compute::concat;
use arrow::record_batch::RecordBatch;
use kura_engine::{QueryContext, TableName, Warehouse};
use kura_ml::{
    prediction_table, row_number_key, shap_tables, FeatureSchema, ModelCard, ModelOrigin,
    ModelRegistry, UnseenCategories,
};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct MlArgs {
    #[command(subcommand)]
    pub command: MlCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum MlCommand {
    /// Train a LightGBM model on a table (validation split, early stopping, metrics).
    Train(TrainArgs),
    /// Write a model's predictions (and class probabilities) for a table into a table.
    Predict(PredictArgs),
    /// SHAP values of a model on a table, as tables: per row (long and wide) and importance.
    Explain(ExplainArgs),
    /// Register a LightGBM text model trained elsewhere.
    Import(ImportArgs),
    /// Write a registered model out as a LightGBM text model.
    Export(ExportArgs),
    /// List the project's models.
    List,
    /// Show a model's card: features, metrics, training data fingerprint, notes.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The table to train on (DATASET.TABLE).
    #[arg(long)]
    pub table: String,
    /// The column to predict.
    #[arg(long)]
    pub target: String,
    /// Feature columns (default: every other column, minus --exclude).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Columns never used as features (keys, ids).
    #[arg(long, value_delimiter = ',', conflicts_with = "features")]
    pub exclude: Vec<String>,
    /// auto (from the target's type), binary, multiclass or regression.
    #[arg(long, default_value = "auto")]
    pub task: String,
    /// The model's name in the project.
    #[arg(long)]
    pub name: String,
    /// Only rows matching this GoogleSQL condition train.
    #[arg(long = "where", value_name = "CONDITION")]
    pub filter: Option<String>,
    /// Share of rows held out for validation and early stopping (0 to 0.5).
    #[arg(long, default_value_t = 0.2)]
    pub valid_fraction: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 1000)]
    pub num_iterations: u32,
    #[arg(long, default_value_t = 50)]
    pub early_stopping_rounds: u32,
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 31)]
    pub num_leaves: u32,
    #[arg(long, default_value_t = 20)]
    pub min_data_in_leaf: u32,
    /// Replace an existing model of the same name.
    #[arg(long)]
    pub force: bool,
}

/// What to do with a category value training never saw.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum UnseenArg {
    /// Treat it as missing (LightGBM's own behaviour) and print a note.
    Missing,
    /// Refuse, naming the feature and example values.
    Error,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The model's name.
    pub name: String,
    /// The table to predict for (DATASET.TABLE).
    #[arg(long)]
    pub table: String,
    /// Where to write the predictions (DATASET.TABLE, replaced).
    #[arg(long)]
    pub into: String,
    /// A column of the table identifying rows, copied as `row_key` (default: row number).
    #[arg(long)]
    pub key: Option<String>,
    #[arg(long, value_enum, default_value = "missing")]
    pub unseen: UnseenArg,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The model's name.
    pub name: String,
    /// The table to explain (DATASET.TABLE).
    #[arg(long)]
    pub table: String,
    /// Write SHAP tables: INTO (long: row_key, [class,] feature, shap_value), INTO_wide and
    /// INTO_importance. Without it, only the importance is printed.
    #[arg(long)]
    pub into: Option<String>,
    /// A column of the table identifying rows, copied as `row_key` (default: row number).
    #[arg(long)]
    pub key: Option<String>,
    #[arg(long, value_enum, default_value = "missing")]
    pub unseen: UnseenArg,
    /// Write the importance bar chart and the beeswarm summary (SVG and PNG) into this
    /// directory: NAME_importance.{svg,png}, NAME_beeswarm[_CLASS].{svg,png}.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A LightGBM text model (`booster.save_model(path)`).
    pub path: PathBuf,
    /// The model's name in the project.
    #[arg(long)]
    pub name: String,
    /// Replace an existing model of the same name.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The model's name.
    pub name: String,
    /// The file to write (default: stdout).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The model's name.
    pub name: String,
}

pub async fn run(args: MlArgs, globals: &Globals) -> anyhow::Result<ExitCode> {
    let wh = globals.open_warehouse()?;
    let registry = ModelRegistry::new(wh.project().root().join("ml"));
    match args.command {
        MlCommand::Train(a) => train(a, &wh, &registry, globals).await,
        MlCommand::Predict(a) => predict(a, &wh, &registry, globals).await,
        MlCommand::Explain(a) => explain(a, &wh, &registry, globals).await,
        MlCommand::Import(a) => import(a, &registry, globals),
        MlCommand::Export(a) => export(a, &registry),
        MlCommand::List => list(&registry),
        MlCommand::Show(a) => show(a, &registry),
    }
}

fn context(globals: &Globals, name: &str) -> QueryContext {
    QueryContext::new(globals.principal.clone()).with_label("ml", name)
}

/// Reads a whole table (optionally filtered), access-checked and logged like any query.
async fn read_table(
    wh: &Warehouse,
    table: &str,
    filter: Option<&str>,
    ctx: &QueryContext,
) -> anyhow::Result<Vec<RecordBatch>> {
    let name = TableName::parse(table)
        .with_context(|| format!("--table `{table}` is not DATASET.TABLE"))?;
    let sql = match filter {
        Some(condition) => format!("SELECT * FROM {name} WHERE {condition}"),
        None => format!("SELECT * FROM {name}"),
    };
    let result = wh.query(&sql, ctx).await?;
    Ok(result
        .batches
        .into_iter()
        .filter(|b| b.num_rows() > 0)
        .collect())
}

/// The `row_key` column: the `--key` column of the table, or row numbers.
fn row_key(batches: &[RecordBatch], key: Option<&str>, rows: usize) -> anyhow::Result<ArrayRef> {
    let Some(key) = key else {
        return Ok(row_number_key(rows));
    };
    let columns: Vec<ArrayRef> = batches
        .iter()
        .map(|b| {
            b.column_by_name(key)
                .cloned()
                .with_context(|| format!("--key `{key}` is not a column of the table"))
        })
        .collect::<anyhow::Result<_>>()?;
    if columns.is_empty() {
        return Ok(row_number_key(0));
    }
    let refs: Vec<&dyn arrow::array::Array> = columns.iter().map(|c| c.as_ref()).collect();
    Ok(concat(&refs)?)
}

fn unseen_policy(arg: UnseenArg) -> UnseenCategories {
    match arg {
        UnseenArg::Missing => UnseenCategories::AsMissing,
        UnseenArg::Error => UnseenCategories::Error,
    }
}

async fn write_table(
    wh: &Warehouse,
    into: &str,
    batch: RecordBatch,
    what: &str,
    ctx: &QueryContext,
) -> anyhow::Result<()> {
    let name =
        TableName::parse(into).with_context(|| format!("--into `{into}` is not DATASET.TABLE"))?;
    let description = format!("-- kura ml: {what} into {name}");
    wh.replace_with_batches(&name, batch.schema(), vec![batch], &description, ctx)
        .await?;
    Ok(())
}

#[cfg(feature = "train")]
async fn train(
    args: TrainArgs,
    wh: &Warehouse,
    registry: &ModelRegistry,
    globals: &Globals,
) -> anyhow::Result<ExitCode> {
    use kura_ml::train::{train, Task, TrainOptions};

    kura_ml::check_model_name(&args.name)?;
    if registry.exists(&args.name) && !args.force {
        bail!(
            "a model named `{}` already exists\nhint: pass --force to replace it, or choose another --name",
            args.name
        );
    }
    let Some(task) = Task::parse(&args.task) else {
        bail!(
            "unknown --task `{}`\nhint: use auto, binary, multiclass or regression",
            args.task
        );
    };
    let ctx = context(globals, &args.name);
    let batches = read_table(wh, &args.table, args.filter.as_deref(), &ctx).await?;
    let opts = TrainOptions {
        task,
        features: args.features.clone(),
        exclude: args.exclude.clone(),
        valid_fraction: args.valid_fraction,
        seed: args.seed,
        num_iterations: args.num_iterations,
        early_stopping_rounds: args.early_stopping_rounds,
        learning_rate: args.learning_rate,
        num_leaves: args.num_leaves,
        min_data_in_leaf: args.min_data_in_leaf,
        ..TrainOptions::default()
    };
    let target = args.target.clone();
    let started = std::time::Instant::now();
    let trained = tokio::task::spawn_blocking(move || train(&batches, &target, &opts)).await??;
    let card = ModelCard {
        name: args.name.clone(),
        origin: ModelOrigin::Trained,
        task: trained.task.as_str().to_string(),
        features: trained.features.clone(),
        class_labels: trained.class_labels.clone(),
        table: Some(args.table.clone()),
        target: Some(args.target.clone()),
        metrics: Some(trained.metrics.clone()),
        metrics_on: Some(trained.metrics_on.to_string()),
        fingerprint: Some(trained.fingerprint.clone()),
        rows_train: trained.rows_train as u64,
        rows_valid: trained.rows_valid as u64,
        iterations: trained.iterations,
        params: Some(trained.params.clone()),
        notes: trained.notes.clone(),
        created_at: chrono::Utc::now().to_rfc3339(),
        created_by: globals.principal.clone(),
    };
    let dir = registry.save(&card, &trained.text)?;
    if !globals.quiet {
        for note in &card.notes {
            eprintln!("note: {note}");
        }
        eprintln!(
            "trained `{}` ({}, {} features, {} iterations) on {} rows, validated on {} in {:.1} s; saved to {}",
            card.name,
            card.task,
            card.features.features.len(),
            card.iterations,
            card.rows_train,
            card.rows_valid,
            started.elapsed().as_secs_f64(),
            dir.display()
        );
    }
    print_metrics(&card);
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "train"))]
async fn train(
    _args: TrainArgs,
    _wh: &Warehouse,
    _registry: &ModelRegistry,
    _globals: &Globals,
) -> anyhow::Result<ExitCode> {
    bail!(
        "this kura was built without training (the `train` feature builds LightGBM from source)\n\
         hint: install cmake >= 3.28 (`pip install cmake`), clang and libclang-dev, then \
         `cargo build --release --features train`; predict, explain and import work without it"
    )
}

#[cfg(feature = "train")]
fn print_metrics(card: &ModelCard) {
    let Some(metrics) = &card.metrics else {
        return;
    };
    let on = card.metrics_on.as_deref().unwrap_or("validation");
    outln!("metric ({on} rows)\tvalue");
    for (name, value) in &metrics.0 {
        outln!("{name}\t{value:.6}");
    }
}

/// A registered model with a table encoded for it.
struct Applied {
    card: ModelCard,
    model: kura_ml::LgbmModel,
    encoded: kura_ml::EncodedFeatures,
    key: ArrayRef,
}

/// Loads model `name`, reads `table` and encodes it as the model was trained (printing notes
/// such as unseen categories), with the row key for the output tables.
#[allow(clippy::too_many_arguments)]
async fn apply(
    wh: &Warehouse,
    registry: &ModelRegistry,
    name: &str,
    table: &str,
    key: Option<&str>,
    unseen: UnseenArg,
    ctx: &QueryContext,
    globals: &Globals,
) -> anyhow::Result<Applied> {
    let (card, model) = registry.load(name)?;
    let batches = read_table(wh, table, None, ctx).await?;
    let encoded = card.features.encode(&batches, unseen_policy(unseen))?;
    print_notes(&encoded.notes, globals);
    let key = row_key(&batches, key, encoded.matrix.rows())?;
    Ok(Applied {
        card,
        model,
        encoded,
        key,
    })
}

async fn predict(
    args: PredictArgs,
    wh: &Warehouse,
    registry: &ModelRegistry,
    globals: &Globals,
) -> anyhow::Result<ExitCode> {
    let ctx = context(globals, &args.name);
    let Applied {
        card,
        model,
        encoded,
        key,
    } = apply(
        wh,
        registry,
        &args.name,
        &args.table,
        args.key.as_deref(),
        args.unseen,
        &ctx,
        globals,
    )
    .await?;
    let rows = encoded.matrix.rows();
    let labels = card.class_labels.clone();
    let batch = tokio::task::spawn_blocking(move || -> anyhow::Result<RecordBatch> {
        let raw = model.predict_raw(&encoded.matrix)?;
        Ok(prediction_table(
            model.objective(),
            &raw,
            &key,
            labels.as_deref(),
        )?)
    })
    .await??;
    write_table(
        wh,
        &args.into,
        batch,
        &format!("predictions of `{}`", args.name),
        &ctx,
    )
    .await?;
    if !globals.quiet {
        eprintln!(
            "wrote {rows} predictions of `{}` into {}",
            args.name, args.into
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn explain(
    args: ExplainArgs,
    wh: &Warehouse,
    registry: &ModelRegistry,
    globals: &Globals,
) -> anyhow::Result<ExitCode> {
    let ctx = context(globals, &args.name);
    let Applied {
        card,
        model,
        encoded,
        key,
    } = apply(
        wh,
        registry,
        &args.name,
        &args.table,
        args.key.as_deref(),
        args.unseen,
        &ctx,
        globals,
    )
    .await?;
    let rows = encoded.matrix.rows();
    let names = card.features.names();
    let labels = card.class_labels.clone().filter(|l| l.len() > 2);
    let plots = args.plots.clone();
    let model_name = args.name.clone();
    let (tables, figures) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let shap = model.shap_values(&encoded.matrix)?;
        let figures = match plots {
            Some(_) => figures(
                &model_name,
                &shap,
                &encoded.matrix,
                &names,
                labels.as_deref(),
            ),
            None => Vec::new(),
        };
        Ok((
            shap_tables(&shap, &names, &key, labels.as_deref())?,
            figures,
        ))
    })
    .await??;
    if let Some(dir) = &args.plots {
        write_figures(dir, &figures, globals)?;
    }
    if let Some(into) = &args.into {
        let what = format!("SHAP values of `{}`", args.name);
        write_table(wh, into, tables.long.clone(), &what, &ctx).await?;
        write_table(
            wh,
            &format!("{into}_wide"),
            tables.wide.clone(),
            &what,
            &ctx,
        )
        .await?;
        write_table(
            wh,
            &format!("{into}_importance"),
            tables.importance.clone(),
            &what,
            &ctx,
        )
        .await?;
        if !globals.quiet {
            eprintln!(
                "wrote SHAP values of `{}` for {rows} rows into {into}, {into}_wide and {into}_importance",
                args.name
            );
        }
    }
    let expected: Vec<String> = tables
        .expected_value
        .iter()
        .map(|v| format!("{v:.6}"))
        .collect();
    outln!("expected value (raw score): {}", expected.join(", "));
    outln!(
        "{}",
        arrow::util::pretty::pretty_format_batches(&[tables.importance])?
    );
    Ok(ExitCode::SUCCESS)
}

/// The SHAP figures of a model as (file stem, SVG).
fn figures(
    name: &str,
    shap: &kura_ml::ShapValues,
    x: &kura_ml::DenseMatrix,
    names: &[String],
    class_labels: Option<&[String]>,
) -> Vec<(String, String)> {
    use kura_ml::plot::{beeswarm_svg, importance_svg};
    let mean_abs = shap.mean_abs();
    let total: Vec<f64> = (0..shap.features())
        .map(|j| mean_abs.iter().map(|per_class| per_class[j]).sum())
        .collect();
    let mut out = vec![(
        format!("{name}_importance"),
        importance_svg(names, &total, &format!("{name}: feature importance")),
    )];
    if shap.outputs() == 1 {
        out.push((
            format!("{name}_beeswarm"),
            beeswarm_svg(shap, x, names, 0, &format!("{name}: SHAP values per row")),
        ));
    } else {
        for k in 0..shap.outputs() {
            let label = class_labels
                .and_then(|l| l.get(k).cloned())
                .unwrap_or_else(|| k.to_string());
            let stem: String = label
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            out.push((
                format!("{name}_beeswarm_{stem}"),
                beeswarm_svg(
                    shap,
                    x,
                    names,
                    k,
                    &format!("{name}: SHAP values, class {label}"),
                ),
            ));
        }
    }
    out
}

fn write_figures(
    dir: &std::path::Path,
    figures: &[(String, String)],
    globals: &Globals,
) -> anyhow::Result<()> {
    for (stem, svg) in figures {
        let (svg_path, png_path) = crate::png::write_figure(dir, stem, svg)?;
        if !globals.quiet {
            eprintln!("wrote {} and {}", svg_path.display(), png_path.display());
        }
    }
    Ok(())
}

fn print_notes(notes: &[String], globals: &Globals) {
    if !globals.quiet {
        for note in notes {
            eprintln!("note: {note}");
        }
    }
}

fn import(
    args: ImportArgs,
    registry: &ModelRegistry,
    globals: &Globals,
) -> anyhow::Result<ExitCode> {
    kura_ml::check_model_name(&args.name)?;
    if registry.exists(&args.name) && !args.force {
        bail!(
            "a model named `{}` already exists\nhint: pass --force to replace it, or choose another --name",
            args.name
        );
    }
    // Parse before storing: a truncated or foreign file is refused with its line number.
    let model = kura_ml::LgbmModel::from_file(&args.path)?;
    let text = std::fs::read_to_string(&args.path)
        .with_context(|| format!("cannot read {}", args.path.display()))?;
    let features = FeatureSchema::from_model(&model);
    let task = match model.objective() {
        kura_ml::Objective::Binary { .. } => "binary".to_string(),
        kura_ml::Objective::Multiclass { .. } | kura_ml::Objective::MulticlassOva { .. } => {
            "multiclass".to_string()
        }
        kura_ml::Objective::Regression { .. } => "regression".to_string(),
        other => format!("{other:?}"),
    };
    let card = ModelCard {
        name: args.name.clone(),
        origin: ModelOrigin::Imported,
        task,
        features,
        class_labels: None,
        table: None,
        target: None,
        metrics: None,
        metrics_on: None,
        fingerprint: None,
        rows_train: 0,
        rows_valid: 0,
        iterations: model.num_iterations(),
        params: None,
        notes: vec![format!("imported from {}", args.path.display())],
        created_at: chrono::Utc::now().to_rfc3339(),
        created_by: globals.principal.clone(),
    };
    let dir = registry.save(&card, &text)?;
    if !globals.quiet {
        eprintln!(
            "imported `{}` ({}, {} features, {} iterations) into {}",
            card.name,
            card.task,
            card.features.features.len(),
            card.iterations,
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export(args: ExportArgs, registry: &ModelRegistry) -> anyhow::Result<ExitCode> {
    let (_, model) = registry.load(&args.name)?;
    match &args.output {
        Some(path) => model.write_file(path)?,
        None => out!("{}", model.to_text()),
    }
    Ok(ExitCode::SUCCESS)
}

fn list(registry: &ModelRegistry) -> anyhow::Result<ExitCode> {
    let cards = registry.cards();
    if cards.is_empty() {
        eprintln!(
            "no models yet; train one with `kura ml train` or register one with `kura ml import`"
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!("name\ttask\torigin\tfeatures\titerations\ttable\ttarget\tcreated_at");
    for c in cards {
        outln!(
            "{}\t{}\t{:?}\t{}\t{}\t{}\t{}\t{}",
            c.name,
            c.task,
            c.origin,
            c.features.features.len(),
            c.iterations,
            c.table.as_deref().unwrap_or("-"),
            c.target.as_deref().unwrap_or("-"),
            c.created_at
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs, registry: &ModelRegistry) -> anyhow::Result<ExitCode> {
    let (card, _) = registry.load(&args.name)?;
    outln!("{}", serde_json::to_string_pretty(&card)?);
    Ok(ExitCode::SUCCESS)
}
