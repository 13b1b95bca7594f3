//! `kura plan`: what applying the project would change, compared with what is deployed, and
//! whether each change breaks readers. `kura apply` runs exactly a plan, and refuses one that
//! no longer matches the project or the warehouse.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use kura_engine::{QueryContext, TableName, Warehouse};
use serde::{Deserialize, Serialize};

use crate::build::{self, BuildOptions, BuildReport, Environment};
use crate::error::ModelError;
use crate::graph::ModelGraph;
use crate::header::Materialization;
use crate::project::ModelProject;
use crate::state::{self, ColumnType, Deployment};

/// What happens to one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// New in the project.
    Create,
    /// Its SQL or settings changed.
    Change,
    /// Unchanged, but a table built from changed upstream models.
    Rebuild,
    /// Deployed, but no longer in the project.
    Drop,
}

impl Action {
    fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Change => "~",
            Action::Rebuild => "↻",
            Action::Drop => "-",
        }
    }
}

/// Whether readers of a model can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// A column removed or retyped, or the model dropped.
    Breaking,
    /// Columns added, or the same columns.
    NonBreaking,
}

/// One model's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChange {
    pub model: String,
    pub target: String,
    pub action: Action,
    pub impact: Option<Impact>,
    pub materialized: String,
    /// Why, in words: "SQL changed", "column `x` removed", "upstream `a` changes".
    pub reasons: Vec<String>,
    /// Bytes the build would scan, for models built as tables; `None` for views.
    pub bytes: Option<u64>,
}

/// A plan: the changes in dependency order, and the fingerprint of what it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub env: String,
    pub fingerprint: String,
    pub changes: Vec<PlannedChange>,
    pub unchanged: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any change can break readers.
    pub fn has_breaking(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.impact == Some(Impact::Breaking))
    }

    /// Reads a plan saved with `kura plan --out`.
    ///
    /// # Errors
    /// [`ModelError::PlanFile`] when it cannot be read or parsed.
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::PlanFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| ModelError::PlanFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// Loads the project, checks it against the warehouse and builds its graph.
///
/// # Errors
/// [`ModelError::Invalid`] with every problem in the model files.
pub fn load_project(wh: &Warehouse, root: &Path) -> Result<(ModelProject, ModelGraph), ModelError> {
    let project = ModelProject::load(root)?;
    let store = wh.store();
    project.check_references(|t| store.exists(t) || store.view_sql(t).is_some())?;
    project.check_grants(|g| wh.policy().validate_grants(g))?;
    let graph = ModelGraph::build(&project)?;
    Ok((project, graph))
}

/// Compares the project with what is deployed in `env`.
///
/// # Errors
/// Engine errors while reading the state or planning changed models.
pub async fn plan(
    wh: &Warehouse,
    project: &ModelProject,
    graph: &ModelGraph,
    env: &Environment,
    principal: &str,
) -> Result<Plan, ModelError> {
    // Dev environments are planned against prod: they hold what differs from it.
    let (deployed, state_version) = state::deployed(wh, "prod").await?;
    let fingerprint = fingerprint(project, env, state_version);
    let mut actions: BTreeMap<usize, (Action, Vec<String>)> = BTreeMap::new();
    for &i in &graph.order {
        let model = &project.models[i];
        let name = model.name.to_string();
        let upstream_changed: Vec<String> = graph.upstream[i]
            .iter()
            .filter(|u| actions.contains_key(u))
            .map(|&u| project.models[u].name.to_string())
            .collect();
        let action = match deployed.get(&name) {
            None => Some((Action::Create, vec!["new model".to_string()])),
            Some(d) => {
                let mut reasons = Vec::new();
                if d.sql_hash != model.sql_hash {
                    reasons.push("SQL changed".to_string());
                }
                if d.materialized != model.header.materialized.as_str() {
                    reasons.push(format!(
                        "materialized {} -> {}",
                        d.materialized,
                        model.header.materialized.as_str()
                    ));
                } else if d.config_hash != model.config_hash {
                    reasons.push("settings changed".to_string());
                }
                if !reasons.is_empty() {
                    Some((Action::Change, reasons))
                } else if !upstream_changed.is_empty() {
                    let reasons = vec![format!("upstream {} changes", upstream_changed.join(", "))];
                    Some((Action::Rebuild, reasons))
                } else {
                    None
                }
            }
        };
        if let Some(a) = action {
            actions.insert(i, a);
        }
    }

    // Schemas and dry-run bytes need the engine, and only changes to deployed models need
    // them: a created model has no schema to compare with (its scan is estimated further
    // down, from the Delta logs alone). Changed models are planned in dependency order against the
    // project: views as their new SQL, changed tables as empty tables of their new schema
    // (so planning never expands a chain of models), unchanged tables as deployed.
    let mut new_columns: BTreeMap<usize, Vec<ColumnType>> = BTreeMap::new();
    let mut bytes: BTreeMap<usize, u64> = BTreeMap::new();
    let mut broken: BTreeMap<usize, String> = BTreeMap::new();
    let mut partial: BTreeSet<usize> = BTreeSet::new();
    if actions.values().any(|(a, _)| *a != Action::Create) {
        let overlay: BTreeMap<TableName, String> = project
            .models
            .iter()
            .filter(|m| m.header.materialized == Materialization::View)
            .map(|m| (m.name.clone(), m.sql().to_string()))
            .collect();
        wh.set_view_overlay(overlay);
        let ctx = QueryContext::new(principal.to_string()).with_label("command", "plan");
        for &i in &graph.order {
            let Some((action, _)) = actions.get(&i) else {
                continue;
            };
            let model = &project.models[i];
            let table = model.header.materialized != Materialization::View;
            let planned = async {
                let schema = wh.query_schema(model.sql(), &ctx).await?;
                if *action != Action::Create {
                    new_columns.insert(i, state::columns_of(&schema));
                    if table {
                        bytes.insert(i, wh.dry_run(model.sql(), &ctx).await?.bytes);
                    }
                }
                Ok::<_, kura_engine::EngineError>(schema)
            }
            .await;
            match planned {
                Ok(schema) => {
                    if table {
                        wh.add_overlay_table(model.name.clone(), schema);
                    }
                }
                // A model that does not plan against its changed upstream would fail to
                // build: that is the plan's news, not an error of the plan.
                Err(e) => {
                    let first_line = e.to_string().lines().next().unwrap_or_default().to_string();
                    broken.insert(i, first_line);
                }
            }
            let reads_unbuilt = graph.upstream[i].iter().any(|u| {
                actions.contains_key(u)
                    && project.models[*u].header.materialized != Materialization::View
            });
            if reads_unbuilt && table {
                partial.insert(i);
            }
        }
        wh.set_view_overlay(BTreeMap::new());
    }

    // A created table has no schema to compare with, but what its first build reads is about
    // the whole size of each existing table underneath it, directly or through views. This
    // needs only the Delta logs, not the engine.
    let mut sizes: BTreeMap<TableName, Option<u64>> = BTreeMap::new();
    let mut bounded: BTreeSet<usize> = BTreeSet::new();
    for (&i, (action, _)) in &actions {
        if *action == Action::Create
            && project.models[i].header.materialized != Materialization::View
        {
            let (total, unknown) = create_scan_bound(wh, project, &actions, i, &mut sizes).await?;
            bytes.insert(i, total);
            bounded.insert(i);
            if unknown {
                partial.insert(i);
            }
        }
    }

    let mut changes = Vec::new();
    for &i in &graph.order {
        let Some((action, mut reasons)) = actions.remove(&i) else {
            continue;
        };
        let model = &project.models[i];
        let name = model.name.to_string();
        let impact = match (action, deployed.get(&name), new_columns.get(&i)) {
            _ if broken.contains_key(&i) => {
                reasons.push(format!("will fail to build: {}", broken[&i]));
                Some(Impact::Breaking)
            }
            (Action::Create, ..) => None,
            (_, Some(d), Some(cols)) => {
                let (impact, mut why) = classify(&d.columns, cols);
                reasons.append(&mut why);
                Some(impact)
            }
            _ => None,
        };
        // In prod, a view over unchanged SQL whose columns do not change needs nothing. In a
        // dev environment it is built there too, so that it reads the changed upstream in
        // that environment rather than prod's.
        if env.is_prod()
            && action == Action::Rebuild
            && model.header.materialized == Materialization::View
            && impact != Some(Impact::Breaking)
            && reasons.len() == 1
        {
            continue;
        }
        if bounded.contains(&i) {
            reasons.push("scan size is the upstream tables' whole size, each read once".into());
        }
        if partial.contains(&i) {
            reasons.push("scan size excludes upstream tables rebuilt first".into());
        }
        changes.push(PlannedChange {
            model: name,
            target: env.target(&model.name).to_string(),
            action,
            impact,
            materialized: model.header.materialized.as_str().to_string(),
            reasons,
            bytes: bytes.get(&i).copied(),
        });
    }
    let in_project: BTreeSet<String> = project.models.iter().map(|m| m.name.to_string()).collect();
    for (name, d) in &deployed {
        if !in_project.contains(name) && env.is_prod() {
            changes.push(PlannedChange {
                model: name.clone(),
                target: d.target.clone(),
                action: Action::Drop,
                impact: Some(Impact::Breaking),
                materialized: d.materialized.clone(),
                reasons: vec!["no longer in the project".into()],
                bytes: None,
            });
        }
    }
    let unchanged =
        project.models.len() - changes.iter().filter(|c| c.action != Action::Drop).count();
    Ok(Plan {
        env: env.0.clone(),
        fingerprint,
        changes,
        unchanged,
    })
}

/// About the bytes a created table model's first build reads: the size of every existing
/// table it reads, directly or through views (models or warehouse views), each counted once
/// (a self-join reads more, a pruned scan less). The flag says an upstream table is built in
/// the same plan and has no size yet.
async fn create_scan_bound(
    wh: &Warehouse,
    project: &ModelProject,
    actions: &BTreeMap<usize, (Action, Vec<String>)>,
    model: usize,
    sizes: &mut BTreeMap<TableName, Option<u64>>,
) -> Result<(u64, bool), kura_engine::EngineError> {
    let mut stack: Vec<TableName> = project.models[model]
        .reads
        .iter()
        .map(|r| r.table.clone())
        .collect();
    let mut seen = BTreeSet::new();
    let (mut total, mut unknown) = (0u64, false);
    while let Some(table) = stack.pop() {
        if !seen.insert(table.clone()) {
            continue;
        }
        if let Some(j) = project.index_of(&table) {
            let upstream = &project.models[j];
            if upstream.header.materialized == Materialization::View {
                stack.extend(upstream.reads.iter().map(|r| r.table.clone()));
                continue;
            }
            if actions.contains_key(&j) {
                unknown = true;
                continue;
            }
        } else if let Some(sql) = wh.store().view_sql(&table) {
            // A view in the warehouse that is not a model: what it reads.
            if let Ok(statement) = kura_sql::parse_one(&sql) {
                stack.extend(
                    kura_sql::referenced_tables(&statement)
                        .into_iter()
                        .filter_map(|r| {
                            TableName::new(
                                &r.dataset?.to_ascii_lowercase(),
                                &r.table.to_ascii_lowercase(),
                            )
                            .ok()
                        }),
                );
            }
            continue;
        }
        if !sizes.contains_key(&table) {
            let size = wh.table_info(&table).await?.map(|info| info.bytes);
            sizes.insert(table.clone(), size);
        }
        if let Some(b) = sizes.get(&table).copied().flatten() {
            total += b;
        }
    }
    Ok((total, unknown))
}

/// Breaking when a column is removed or retyped; the reasons name them.
fn classify(old: &[ColumnType], new: &[ColumnType]) -> (Impact, Vec<String>) {
    let mut reasons = Vec::new();
    let mut impact = Impact::NonBreaking;
    for c in old {
        match new.iter().find(|n| n.name == c.name) {
            None => {
                impact = Impact::Breaking;
                reasons.push(format!("column `{}` removed", c.name));
            }
            Some(n) if n.data_type != c.data_type => {
                impact = Impact::Breaking;
                reasons.push(format!(
                    "column `{}` {} -> {}",
                    c.name, c.data_type, n.data_type
                ));
            }
            Some(_) => {}
        }
    }
    for n in new {
        if !old.iter().any(|c| c.name == n.name) {
            reasons.push(format!("column `{}` {} added", n.name, n.data_type));
        }
    }
    (impact, reasons)
}

/// Identifies the inputs of a plan: every model's SQL and settings, the environment, and
/// the version of the deployed state.
fn fingerprint(project: &ModelProject, env: &Environment, state_version: u64) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(env.0.as_bytes());
    hasher.update(&state_version.to_le_bytes());
    for m in &project.models {
        hasher.update(m.name.to_string().as_bytes());
        hasher.update(m.sql_hash.as_bytes());
        hasher.update(m.config_hash.as_bytes());
    }
    hasher.finalize().to_hex()[..16].to_string()
}

/// Applies `saved` (or the current plan when `None`): builds created, changed and rebuilt
/// models in dependency order and drops the dropped ones.
///
/// # Errors
/// [`ModelError::StalePlan`] when `saved` no longer matches the project and the warehouse.
pub async fn apply(
    wh: &Warehouse,
    project: &ModelProject,
    graph: &ModelGraph,
    saved: Option<&Plan>,
    options: &BuildOptions,
) -> Result<(Plan, BuildReport), ModelError> {
    let current = plan(wh, project, graph, &options.env, &options.principal).await?;
    if let Some(saved) = saved {
        if saved.env != current.env {
            return Err(ModelError::StalePlan {
                reason: format!("it was made for env `{}`, not `{}`", saved.env, current.env),
            });
        }
        if saved.fingerprint != current.fingerprint || saved.changes != current.changes {
            return Err(ModelError::StalePlan {
                reason: format!(
                    "it was made from fingerprint {}, the project and warehouse are now at {}",
                    saved.fingerprint, current.fingerprint
                ),
            });
        }
    }
    let selected: BTreeSet<usize> = current
        .changes
        .iter()
        .filter(|c| c.action != Action::Drop)
        .filter_map(|c| {
            TableName::parse(&c.model)
                .ok()
                .and_then(|n| project.index_of(&n))
        })
        .collect();
    let report = build::build(wh, project, graph, &selected, options).await?;
    let mut dropped = Vec::new();
    for change in current.changes.iter().filter(|c| c.action == Action::Drop) {
        let target = TableName::parse(&change.target)?;
        let ctx = QueryContext::new(options.principal.clone())
            .with_label("model", change.model.clone())
            .with_label("command", options.command.clone());
        wh.drop_relation(&target, &ctx).await?;
        dropped.push(Deployment {
            env: options.env.0.clone(),
            model: change.model.clone(),
            target: change.target.clone(),
            version: i64::MAX,
            sql_hash: String::new(),
            config_hash: String::new(),
            materialized: change.materialized.clone(),
            columns: Vec::new(),
            sql: String::new(),
            run_id: report.run_id.clone(),
            principal: options.principal.clone(),
            deployed_at: chrono::Utc::now(),
            dropped: true,
        });
    }
    state::record(wh, &dropped).await?;
    Ok((current, report))
}

/// The plan as text for a terminal.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "No changes: {} model{} up to date in {}.",
            plan.unchanged,
            if plan.unchanged == 1 { "" } else { "s" },
            plan.env
        );
        return out;
    }
    let _ = writeln!(
        out,
        "Plan for {} (fingerprint {}):",
        plan.env, plan.fingerprint
    );
    for c in &plan.changes {
        let impact = match c.impact {
            Some(Impact::Breaking) => " [breaking]",
            Some(Impact::NonBreaking) => " [non-breaking]",
            None => "",
        };
        let bytes = c
            .bytes
            .map(|b| format!(", scans {}", human_bytes(b)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} ({}{}){}",
            c.action.symbol(),
            c.target,
            c.materialized,
            bytes,
            impact
        );
        for r in &c.reasons {
            let _ = writeln!(out, "      {r}");
        }
    }
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

fn summary_line(plan: &Plan) -> String {
    let count = |a: Action| plan.changes.iter().filter(|c| c.action == a).count();
    let bytes: u64 = plan.changes.iter().filter_map(|c| c.bytes).sum();
    format!(
        "{} to create, {} to change, {} to rebuild, {} to drop, {} unchanged; builds scan {}{}",
        count(Action::Create),
        count(Action::Change),
        count(Action::Rebuild),
        count(Action::Drop),
        plan.unchanged,
        human_bytes(bytes),
        if plan.has_breaking() {
            "; BREAKING changes"
        } else {
            ""
        }
    )
}

/// The plan as a pull-request comment.
pub fn render_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### kura plan: `{}`\n", plan.env);
    if plan.is_empty() {
        let _ = writeln!(out, "No changes; {} models up to date.", plan.unchanged);
        return out;
    }
    if plan.has_breaking() {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> This plan has breaking changes: readers of these models may fail.\n"
        );
    }
    let _ = writeln!(out, "| | model | materialized | impact | scans | why |");
    let _ = writeln!(out, "|---|---|---|---|---:|---|");
    for c in &plan.changes {
        let action = match c.action {
            Action::Create => "create",
            Action::Change => "change",
            Action::Rebuild => "rebuild",
            Action::Drop => "drop",
        };
        let impact = match c.impact {
            Some(Impact::Breaking) => "**breaking**",
            Some(Impact::NonBreaking) => "non-breaking",
            None => "",
        };
        let bytes = c.bytes.map(human_bytes).unwrap_or_default();
        let why = c
            .reasons
            .iter()
            .map(|r| r.replace('|', "\\|"))
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = writeln!(
            out,
            "| {action} | `{}` | {} | {impact} | {bytes} | {why} |",
            c.target, c.materialized
        );
    }
    let _ = writeln!(out, "\n{}", summary_line(plan));
    let _ = writeln!(
        out,
        "\nApply with `kura apply` (plan fingerprint `{}`).",
        plan.fingerprint
    );
    out
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
