//! What is deployed, in `_kura.models`: one row per deployment of a model (or its drop), so
//! the table is also the history. The latest row of each model and environment is its state.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use kura_engine::{EngineError, TableName, Warehouse};
use serde::{Deserialize, Serialize};

/// The system table's name in `_kura`.
pub const MODELS_TABLE: &str = "models";

/// A column as recorded: name and GoogleSQL type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnType {
    pub name: String,
    pub data_type: String,
}

/// One model as deployed in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub env: String,
    /// The model's name in the project (`marts.orders`).
    pub model: String,
    /// Where it was built (`marts__dev.orders` in dev).
    pub target: String,
    /// How many times this model has been deployed in this environment.
    pub version: i64,
    pub sql_hash: String,
    pub config_hash: String,
    pub materialized: String,
    pub columns: Vec<ColumnType>,
    pub sql: String,
    pub run_id: String,
    pub principal: String,
    pub deployed_at: DateTime<Utc>,
    pub dropped: bool,
}

fn schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s("env"),
        s("model"),
        s("target"),
        Field::new("version", DataType::Int64, false),
        s("sql_hash"),
        s("config_hash"),
        s("materialized"),
        s("columns"),
        s("sql"),
        s("run_id"),
        s("principal"),
        Field::new(
            "deployed_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("dropped", DataType::Boolean, false),
    ]))
}

/// The deployed state of every model of `env` that is not dropped, by model name, and the
/// version of the state table (for telling a stale plan).
///
/// # Errors
/// [`EngineError`] when the table exists but cannot be read.
pub async fn deployed(
    wh: &Warehouse,
    env: &str,
) -> Result<(BTreeMap<String, Deployment>, u64), EngineError> {
    let name = TableName::new("_kura", MODELS_TABLE)?;
    let Some(info) = wh.table_info(&name).await? else {
        return Ok((BTreeMap::new(), 0));
    };
    let batches = wh.query_internal("SELECT * FROM kura._kura.models").await?;
    let mut latest: BTreeMap<String, Deployment> = BTreeMap::new();
    for batch in &batches {
        for d in rows(batch)? {
            if d.env != env {
                continue;
            }
            let newer = latest.get(&d.model).is_none_or(|l| d.version > l.version);
            if newer {
                latest.insert(d.model.clone(), d);
            }
        }
    }
    latest.retain(|_, d| !d.dropped);
    Ok((latest, info.version))
}

/// Appends deployments.
///
/// # Errors
/// [`EngineError`] when the commit fails.
pub async fn record(wh: &Warehouse, deployments: &[Deployment]) -> Result<(), EngineError> {
    if deployments.is_empty() {
        return Ok(());
    }
    let strings = |f: &dyn Fn(&Deployment) -> String| -> ArrayRef {
        Arc::new(StringArray::from(
            deployments.iter().map(f).collect::<Vec<_>>(),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        strings(&|d| d.env.clone()),
        strings(&|d| d.model.clone()),
        strings(&|d| d.target.clone()),
        Arc::new(Int64Array::from(
            deployments.iter().map(|d| d.version).collect::<Vec<_>>(),
        )),
        strings(&|d| d.sql_hash.clone()),
        strings(&|d| d.config_hash.clone()),
        strings(&|d| d.materialized.clone()),
        strings(&|d| serde_json::to_string(&d.columns).unwrap_or_default()),
        strings(&|d| d.sql.clone()),
        strings(&|d| d.run_id.clone()),
        strings(&|d| d.principal.clone()),
        Arc::new(
            TimestampMicrosecondArray::from(
                deployments
                    .iter()
                    .map(|d| d.deployed_at.timestamp_micros())
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(BooleanArray::from(
            deployments.iter().map(|d| d.dropped).collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(schema(), columns).map_err(|source| EngineError::Arrow {
        context: "recording deployed models".into(),
        source,
    })?;
    wh.append_system(MODELS_TABLE, batch).await
}

// The engine's error type, as everywhere in this module; read once per `kura plan`.
#[allow(clippy::result_large_err)]
fn rows(batch: &RecordBatch) -> Result<Vec<Deployment>, EngineError> {
    let arrow_err = |source| EngineError::Arrow {
        context: "reading _kura.models".into(),
        source,
    };
    let text = |name: &str| -> Result<StringArray, EngineError> {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| EngineError::Materialize {
                table: "_kura.models".into(),
                message: format!("column `{name}` is missing"),
                hint: "the state table was written by another kura version",
            })?;
        let cast = cast(col, &DataType::Utf8).map_err(arrow_err)?;
        Ok(cast
            .as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .unwrap_or_else(|| StringArray::from(Vec::<String>::new())))
    };
    let env = text("env")?;
    let model = text("model")?;
    let target = text("target")?;
    let sql_hash = text("sql_hash")?;
    let config_hash = text("config_hash")?;
    let materialized = text("materialized")?;
    let columns = text("columns")?;
    let sql = text("sql")?;
    let run_id = text("run_id")?;
    let principal = text("principal")?;
    let version = batch
        .column_by_name("version")
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>().cloned());
    let at = batch
        .column_by_name("deployed_at")
        .and_then(|c| cast(c, &DataType::Timestamp(TimeUnit::Microsecond, None)).ok())
        .and_then(|c| {
            c.as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .cloned()
        });
    let dropped = batch
        .column_by_name("dropped")
        .and_then(|c| c.as_any().downcast_ref::<BooleanArray>().cloned());
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        out.push(Deployment {
            env: env.value(i).to_string(),
            model: model.value(i).to_string(),
            target: target.value(i).to_string(),
            version: version.as_ref().map_or(0, |v| v.value(i)),
            sql_hash: sql_hash.value(i).to_string(),
            config_hash: config_hash.value(i).to_string(),
            materialized: materialized.value(i).to_string(),
            columns: serde_json::from_str(columns.value(i)).unwrap_or_default(),
            sql: sql.value(i).to_string(),
            run_id: run_id.value(i).to_string(),
            principal: principal.value(i).to_string(),
            deployed_at: at
                .as_ref()
                .and_then(|a| DateTime::from_timestamp_micros(a.value(i)))
                .unwrap_or_default(),
            dropped: dropped.as_ref().is_some_and(|d| d.value(i)),
        });
    }
    Ok(out)
}

/// Columns of an Arrow schema as GoogleSQL names.
pub fn columns_of(schema: &Schema) -> Vec<ColumnType> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnType {
            name: f.name().clone(),
            data_type: kura_engine::load::bigquery_type_name(f.data_type()),
        })
        .collect()
}
