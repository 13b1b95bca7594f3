//! `kura lint`: the project's models checked against the conventions (kura-lint's rules),
//! with the facts only the warehouse knows: output column types, and how often each table
//! is rebuilt and read according to the query log.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, ListArray, RecordBatch, StructArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use kura_engine::{EngineError, QueryContext, TableName, Warehouse};
use kura_lint::{Diagnostic, LintConfig, ModelFacts, Usage};

use crate::error::{ModelError, ModelProblem};
use crate::header::Materialization;
use crate::project::ModelProject;

/// Statement types that rebuild a table.
const REBUILDS: &[&str] = &["CREATE TABLE AS", "INSERT REPLACE WHERE", "MERGE"];

/// The project's `[lint]` settings, checked.
///
/// # Errors
/// [`ModelError::Invalid`] for an unknown key or rule code, pointing at kura.toml.
pub fn config(wh: &Warehouse) -> Result<LintConfig, ModelError> {
    let table = wh.project().config().lint.clone();
    let invalid = |message: String, hint: String| {
        ModelError::Invalid(vec![ModelProblem {
            path: "kura.toml".into(),
            line: 1,
            column: 1,
            message,
            hint: Some(hint),
        }])
    };
    let mut config: LintConfig =
        toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| {
                invalid(
                    format!("invalid [lint] section: {}", e.message()),
                    "see `kura lint --explain` for the rule codes".into(),
                )
            })?;
    if config.local_zone.is_none() {
        config.local_zone = Some(wh.project().config().project.timezone.clone());
    }
    config
        .validate()
        .map_err(|e| invalid(e.to_string(), e.hint()))?;
    Ok(config)
}

/// Lints every model. Output types come from planning each model as if the project were
/// deployed; a model that does not plan is linted on its SQL alone.
///
/// # Errors
/// [`ModelError::Invalid`] for unknown codes in a header's `lint_ignore`; engine errors while
/// reading the query log.
pub async fn lint(
    wh: &Warehouse,
    project: &ModelProject,
    config: &LintConfig,
    principal: &str,
) -> Result<Vec<Diagnostic>, ModelError> {
    let mut problems = Vec::new();
    for m in &project.models {
        if let Err(e) = kura_lint::validate_codes(
            &m.header.lint_ignore,
            &format!("{} header", m.path.display()),
        ) {
            problems.push(ModelProblem {
                path: m.path.clone(),
                line: m.header_line.max(1),
                column: 1,
                message: e.to_string(),
                hint: Some(e.hint()),
            });
        }
    }
    if !problems.is_empty() {
        return Err(ModelError::Invalid(problems));
    }
    let usage = usage(wh, config.rebuild_window_days).await?;
    wh.set_view_overlay(
        project
            .models
            .iter()
            .map(|m| (m.name.clone(), m.sql().to_string()))
            .collect(),
    );
    let ctx = QueryContext::new(principal.to_string()).with_label("command", "lint");
    let mut columns: Vec<Option<Vec<(String, String)>>> = Vec::new();
    for m in &project.models {
        let schema = wh.query_schema(m.sql(), &ctx).await.ok();
        columns.push(schema.map(|s| {
            crate::state::columns_of(&s)
                .into_iter()
                .map(|c| (c.name, c.data_type))
                .collect()
        }));
    }
    wh.set_view_overlay(BTreeMap::new());

    let mut out = Vec::new();
    for (m, cols) in project.models.iter().zip(&columns) {
        let name = m.name.to_string();
        let mut facts = ModelFacts::new(&name, &m.name.dataset, &m.path, &m.statement);
        facts.materialized = match m.header.materialized {
            Materialization::View => kura_lint::Materialization::View,
            Materialization::Table => kura_lint::Materialization::Table,
            Materialization::Incremental => kura_lint::Materialization::Incremental,
        };
        facts.description = m.header.description.as_deref();
        facts.owner = m.header.owner.as_deref();
        facts.ignore = &m.header.lint_ignore;
        facts.output_columns = cols.as_deref();
        facts.usage = usage.get(&m.name).copied();
        out.extend(kura_lint::lint_model(&facts, config));
    }
    Ok(out)
}

/// Per table, rebuilds (writes labelled with its model) and reads (queries that scanned it)
/// over the last `days` days of the query log.
async fn usage(wh: &Warehouse, days: u32) -> Result<BTreeMap<TableName, Usage>, EngineError> {
    let log = TableName::new("_kura", "query_log")?;
    if !wh.store().exists(&log) {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SELECT statement_type, labels, tables FROM kura._kura.query_log \
         WHERE status = 'ok' AND start_time > now() - INTERVAL '{days} days'"
    );
    let batches = wh.query_internal(&sql).await?;
    let mut counts: Vec<(String, bool)> = Vec::new();
    for batch in &batches {
        collect_usage(batch, &mut counts).map_err(|source| EngineError::Arrow {
            context: "reading _kura.query_log".into(),
            source,
        })?;
    }
    let mut usage: BTreeMap<TableName, Usage> = BTreeMap::new();
    for (name, rebuild) in counts {
        let Ok(table) = TableName::parse(&name) else {
            continue;
        };
        let u = usage.entry(table).or_insert(Usage {
            rebuilds: 0,
            reads: 0,
            window_days: days,
        });
        if rebuild {
            u.rebuilds += 1;
        } else {
            u.reads += 1;
        }
    }
    Ok(usage)
}

/// `(table, is_rebuild)` for each rebuild (by its `target` label) and each read.
fn collect_usage(batch: &RecordBatch, out: &mut Vec<(String, bool)>) -> Result<(), ArrowError> {
    let (Some(kind), Some(labels), Some(tables)) = (
        batch.column_by_name("statement_type"),
        batch.column_by_name("labels"),
        batch.column_by_name("tables"),
    ) else {
        return Ok(());
    };
    let kind = cast(kind, &DataType::Utf8)?;
    let kind = kind.as_string::<i32>();
    let labels = labels.as_any().downcast_ref::<ListArray>();
    let tables = tables.as_any().downcast_ref::<ListArray>();
    for row in 0..batch.num_rows() {
        let statement_type = kind.value(row);
        if REBUILDS.contains(&statement_type) {
            let Some(labels) = labels.filter(|l| !l.is_null(row)) else {
                continue;
            };
            for (key, value) in pairs(&labels.value(row), "key", "value")? {
                if key == "target" {
                    out.push((value, true));
                }
            }
        } else if statement_type == "QUERY" {
            let Some(tables) = tables.filter(|t| !t.is_null(row)) else {
                continue;
            };
            for (table, _) in pairs(&tables.value(row), "table", "table")? {
                out.push((table, false));
            }
        }
    }
    Ok(())
}

fn pairs(list: &dyn Array, a: &str, b: &str) -> Result<Vec<(String, String)>, ArrowError> {
    let Some(s) = list.as_any().downcast_ref::<StructArray>() else {
        return Ok(Vec::new());
    };
    let text = |name: &str| -> Result<Option<arrow::array::StringArray>, ArrowError> {
        let Some(col) = s.column_by_name(name) else {
            return Ok(None);
        };
        let c = cast(col, &DataType::Utf8)?;
        Ok(Some(c.as_string::<i32>().clone()))
    };
    let (Some(x), Some(y)) = (text(a)?, text(b)?) else {
        return Ok(Vec::new());
    };
    Ok((0..s.len())
        .filter(|&i| !x.is_null(i) && !y.is_null(i))
        .map(|i| (x.value(i).to_string(), y.value(i).to_string()))
        .collect())
}
