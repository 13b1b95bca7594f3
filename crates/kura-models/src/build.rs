//! Building models: each in the way its header says, in dependency order, independent ones
//! at the same time. A model whose upstream failed is skipped, and nothing else is.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::stream::{FuturesUnordered, StreamExt};
use kura_engine::{
    EngineError, QueryContext, SchemaChangePolicy, TableName, Warehouse, WriteMode, WriteRequest,
};
use sqlparser::ast::{visit_relations_mut, Ident, ObjectName, ObjectNamePart, Statement};

use crate::graph::ModelGraph;
use crate::header::{Materialization, OnSchemaChange};
use crate::project::{Model, ModelProject};
use crate::state::{self, Deployment};

/// The environment models are built in. `prod` builds into the datasets as named; any other
/// builds changed models into `<dataset>__<env>` and reads the rest from prod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment(pub String);

impl Environment {
    pub fn prod() -> Self {
        Self("prod".into())
    }

    pub fn is_prod(&self) -> bool {
        self.0 == "prod"
    }

    /// Where a model is built in this environment.
    pub fn target(&self, name: &TableName) -> TableName {
        if self.is_prod() {
            return name.clone();
        }
        TableName {
            dataset: format!("{}__{}", name.dataset, self.0),
            table: name.table.clone(),
        }
    }
}

/// How one model's build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStatus {
    Built,
    Failed(String),
    /// Not built because this upstream model failed or was skipped.
    Skipped {
        upstream: String,
    },
}

/// One model's build.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub model: String,
    pub target: String,
    pub materialized: Materialization,
    pub status: BuildStatus,
    pub rows: Option<u64>,
    pub bytes_scanned: u64,
    /// For incremental builds: the first partition value rebuilt; `None` when all were built.
    pub window_start: Option<String>,
    pub added_columns: Vec<String>,
    pub elapsed: Duration,
    /// The model's checks, run right after it was built (when checks are on).
    pub checks: Vec<kura_quality::CheckResult>,
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub run_id: String,
    pub results: Vec<BuildResult>,
    /// The most models that were being built at one moment.
    pub max_parallel: usize,
}

impl BuildReport {
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.status, BuildStatus::Failed(_)))
            .count()
    }
}

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub env: Environment,
    pub principal: String,
    pub full_refresh: bool,
    /// Models built at the same time, at most.
    pub threads: usize,
    /// The label filed with every query (`run` or `apply`).
    pub command: String,
    /// Run each model's checks right after it is built; an error-severity failure stops the
    /// models downstream, as a failed build does.
    pub run_checks: bool,
}

/// Builds `selected` models of `project` in dependency order, recording each in
/// `_kura.models`. In an environment other than prod, `changed` says which models are built
/// there; the others are read from prod.
///
/// # Errors
/// Only when the state cannot be read or recorded; a model's failure is in its result.
pub async fn build(
    wh: &Warehouse,
    project: &ModelProject,
    graph: &ModelGraph,
    selected: &BTreeSet<usize>,
    options: &BuildOptions,
) -> Result<BuildReport, EngineError> {
    let run_id = uuid::Uuid::new_v4().to_string();
    let (deployed, _) = state::deployed(wh, &options.env.0).await?;
    let in_env: BTreeSet<TableName> = selected
        .iter()
        .map(|&i| project.models[i].name.clone())
        .collect();

    let mut status: BTreeMap<usize, BuildStatus> = BTreeMap::new();
    let mut results = Vec::new();
    let mut pending: Vec<usize> = graph
        .order
        .iter()
        .copied()
        .filter(|i| selected.contains(i))
        .collect();
    let in_flight = AtomicUsize::new(0);
    let max_parallel = AtomicUsize::new(0);
    let mut running = FuturesUnordered::new();
    let threads = options.threads.max(1);

    loop {
        // Start every model whose selected upstream models are done, up to `threads`.
        let mut i = 0;
        while i < pending.len() && running.len() < threads {
            let m = pending[i];
            let ups: Vec<usize> = graph.upstream[m]
                .iter()
                .copied()
                .filter(|u| selected.contains(u))
                .collect();
            if ups.iter().any(|u| !status.contains_key(u)) {
                i += 1;
                continue;
            }
            pending.remove(i);
            let model = &project.models[m];
            let blocked = ups.iter().find(|u| status[u] != BuildStatus::Built);
            if let Some(&u) = blocked {
                let s = BuildStatus::Skipped {
                    upstream: project.models[u].name.to_string(),
                };
                status.insert(m, s.clone());
                results.push(BuildResult {
                    model: model.name.to_string(),
                    target: options.env.target(&model.name).to_string(),
                    materialized: model.header.materialized,
                    status: s,
                    rows: None,
                    bytes_scanned: 0,
                    window_start: None,
                    added_columns: Vec::new(),
                    elapsed: Duration::ZERO,
                    checks: Vec::new(),
                });
                continue;
            }
            let version = deployed
                .get(&model.name.to_string())
                .map_or(0, |d| d.version)
                + 1;
            let in_env = &in_env;
            let run_id = &run_id;
            let (in_flight, max_parallel) = (&in_flight, &max_parallel);
            running.push(async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_parallel.fetch_max(now, Ordering::SeqCst);
                let mut result = build_one(wh, model, options, in_env, run_id, version).await;
                if let Ok((built, _)) = &mut result {
                    if options.run_checks && built.status == BuildStatus::Built {
                        let checked =
                            check_built(wh, project, model, options, run_id, built, Stage::Own)
                                .await;
                        if let Err(e) = checked {
                            result = Err(e);
                        }
                    }
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                (m, result)
            });
        }
        let Some((m, result)) = running.next().await else {
            break;
        };
        let (result, deployment) = result?;
        status.insert(m, result.status.clone());
        if let Some(d) = deployment {
            state::record(wh, &[d]).await?;
        }
        results.push(result);
    }
    drop(running);
    // Checks that read other tables (relationships, SQL assertions) wait for the whole build,
    // so the tables they read are as fresh as the model: a parent built later in the same run
    // would otherwise be checked before it exists.
    if options.run_checks {
        for result in results.iter_mut() {
            if result.status != BuildStatus::Built {
                continue;
            }
            let Some(model) = project
                .models
                .iter()
                .find(|m| m.name.to_string() == result.model)
            else {
                continue;
            };
            check_built(
                wh,
                project,
                model,
                options,
                &run_id,
                result,
                Stage::CrossTable,
            )
            .await?;
        }
    }
    Ok(BuildReport {
        run_id,
        results,
        max_parallel: max_parallel.load(Ordering::SeqCst),
    })
}

/// Which of a model's checks run at a point of the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Checks of the model's own rows, right after it is built.
    Own,
    /// Checks that read other tables too, after the whole build.
    CrossTable,
}

fn reads_other_tables(kind: &kura_quality::spec::CheckKind) -> bool {
    matches!(
        kind,
        kura_quality::spec::CheckKind::Relationships { .. }
            | kura_quality::spec::CheckKind::Sql { .. }
    )
}

/// Runs a built model's checks of one stage against what was built (its table in `env`). An
/// error-severity failure marks the model failed; after its own checks, that skips the models
/// downstream.
async fn check_built(
    wh: &Warehouse,
    project: &ModelProject,
    model: &Model,
    options: &BuildOptions,
    run_id: &str,
    built: &mut BuildResult,
    stage: Stage,
) -> Result<(), EngineError> {
    let name = model.name.to_string();
    let Some(declared) = project.quality.iter().find(|q| q.table == name) else {
        return Ok(());
    };

    let checks: Vec<kura_quality::TableCheck> = declared
        .quality
        .checks
        .iter()
        .filter(|spec| reads_other_tables(&spec.kind) == (stage == Stage::CrossTable))
        .map(|spec| kura_quality::TableCheck {
            table: built.target.clone(),
            spec: spec.clone(),
        })
        .collect();
    if checks.is_empty() {
        return Ok(());
    }
    let mut scope = kura_quality::RunScope::for_warehouse(wh, options.principal.clone());
    scope.run_id = run_id.to_string();
    scope
        .labels
        .push(("command".into(), options.command.clone()));
    let results = kura_quality::run_checks(wh, &checks, &scope).await?;
    if kura_quality::any_error(&results) {
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.severity == "error" && r.status != "pass")
            .map(|r| format!("{} ({})", r.check_name, r.message))
            .collect();
        built.status = BuildStatus::Failed(format!(
            "built, but error-severity checks failed: {}",
            failed.join("; ")
        ));
    }
    built.checks.extend(results);
    Ok(())
}

/// Builds one model; a build error is its result, a state error is the caller's.
async fn build_one(
    wh: &Warehouse,
    model: &Model,
    options: &BuildOptions,
    in_env: &BTreeSet<TableName>,
    run_id: &str,
    version: i64,
) -> Result<(BuildResult, Option<Deployment>), EngineError> {
    let started = Instant::now();
    let target = options.env.target(&model.name);
    let sql = sql_for(model, &options.env, in_env);
    let ctx = QueryContext::new(options.principal.clone())
        .with_label("model", model.name.to_string())
        .with_label("run_id", run_id)
        .with_label("command", options.command.clone());
    let header = &model.header;
    // Grants go in place before the data: a new or rebuilt relation is never readable by more
    // than its header says, even for a moment or after a failed build.
    let grants = (!header.grants.is_empty()).then_some(header.grants.as_slice());
    let readers_set = match grants {
        Some(_) => wh.set_readers(&target, grants, &ctx).await,
        None => Ok(()),
    };
    let outcome = match header.materialized {
        _ if readers_set.is_err() => readers_set.map(|()| None),
        Materialization::View => wh.create_view(&target, &sql, &ctx).await.map(|()| None),
        Materialization::Table | Materialization::Incremental => {
            let mode = match (header.materialized, &header.unique_key) {
                (Materialization::Table, _) => WriteMode::Replace,
                (_, Some(keys)) => WriteMode::Merge {
                    keys: keys.to_vec(),
                    window: header.incremental_window(),
                },
                (_, None) => {
                    let (column, lookback_days) = header.incremental_window().unwrap_or_default();
                    WriteMode::Incremental {
                        column,
                        lookback_days,
                    }
                }
            };
            let request = WriteRequest {
                table: target.clone(),
                sql: sql.clone(),
                mode,
                partition_by: header.partition_by.clone(),
                cluster_by: header.cluster_by.clone(),
                on_schema_change: match header.on_schema_change {
                    OnSchemaChange::Fail => SchemaChangePolicy::Fail,
                    OnSchemaChange::AddColumns => SchemaChangePolicy::AddColumns,
                },
                full_refresh: options.full_refresh,
            };
            wh.write_query(&request, &ctx).await.map(Some)
        }
    };
    // Without grants in the header, the dataset's grants decide (once the build succeeded, so
    // a failed build leaves the relation as restricted as it was).
    let outcome = match (outcome, grants) {
        (Ok(write), None) => wh.set_readers(&target, None, &ctx).await.map(|()| write),
        (outcome, _) => outcome,
    };
    let mut result = BuildResult {
        model: model.name.to_string(),
        target: target.to_string(),
        materialized: header.materialized,
        status: BuildStatus::Built,
        rows: None,
        bytes_scanned: 0,
        window_start: None,
        added_columns: Vec::new(),
        elapsed: Duration::ZERO,
        checks: Vec::new(),
    };
    match outcome {
        Ok(write) => {
            if let Some(w) = write {
                result.rows = Some(w.rows);
                result.bytes_scanned = w.bytes_scanned;
                result.window_start = w.window_start;
                result.added_columns = w.added_columns;
            }
        }
        Err(e) => {
            result.status = BuildStatus::Failed(error_text(&e));
            result.elapsed = started.elapsed();
            return Ok((result, None));
        }
    }
    let schema = wh
        .query_schema(
            &format!("SELECT * FROM `{}`.`{}`", target.dataset, target.table),
            &QueryContext::new(options.principal.clone()),
        )
        .await?;
    result.elapsed = started.elapsed();
    let deployment = Deployment {
        env: options.env.0.clone(),
        model: model.name.to_string(),
        target: target.to_string(),
        version,
        sql_hash: model.sql_hash.clone(),
        config_hash: model.config_hash.clone(),
        materialized: header.materialized.as_str().to_string(),
        columns: state::columns_of(&schema),
        sql,
        run_id: run_id.to_string(),
        principal: options.principal.clone(),
        deployed_at: Utc::now(),
        dropped: false,
    };
    Ok((result, Some(deployment)))
}

fn error_text(e: &EngineError) -> String {
    match e.hint() {
        Some(h) => format!("{e}\n  help: {h}"),
        None => e.to_string(),
    }
}

/// The SQL a model runs in `env`: in prod its own text; elsewhere with the models built in
/// that environment read from there.
pub fn sql_for(model: &Model, env: &Environment, in_env: &BTreeSet<TableName>) -> String {
    if env.is_prod() || !model.reads.iter().any(|r| in_env.contains(&r.table)) {
        return model.sql().to_string();
    }
    let mut statement: Statement = model.statement.clone();
    let _ = visit_relations_mut(&mut statement, |name: &mut ObjectName| {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .flat_map(|v| v.split('.').map(str::to_string).collect::<Vec<_>>())
            .collect();
        if let [.., d, t] = parts.as_slice() {
            if let Ok(table) = TableName::new(&d.to_ascii_lowercase(), &t.to_ascii_lowercase()) {
                if in_env.contains(&table) {
                    let target = env.target(&table);
                    *name = ObjectName(vec![
                        ObjectNamePart::Identifier(Ident::new(target.dataset)),
                        ObjectNamePart::Identifier(Ident::new(target.table)),
                    ]);
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    statement.to_string()
}
