//! `_kura.load_log`: one row per file committed into a table, the basis of idempotent loads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use deltalake::kernel::transaction::CommitProperties;
use futures::StreamExt;

use super::source::RejectedRow;
use crate::error::EngineError;
use crate::store::TableName;
use crate::warehouse::Warehouse;

/// One file of one load.
#[derive(Debug, Clone)]
pub struct LoadLogEntry {
    pub load_id: String,
    pub table: String,
    pub path: String,
    pub size: u64,
    pub content_hash: String,
    pub table_version: u64,
    pub rows: u64,
    pub rejected_rows: u64,
    pub mode: String,
    pub principal: String,
    pub loaded_at: DateTime<Utc>,
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("load_id", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("size", DataType::Int64, false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("table_version", DataType::Int64, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("rejected_rows", DataType::Int64, false),
        Field::new("mode", DataType::Utf8, false),
        Field::new("principal", DataType::Utf8, false),
        Field::new(
            "loaded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

fn log_name() -> TableName {
    TableName::new(crate::access::SYSTEM_DATASET, "load_log").expect("a valid constant name")
}

/// Appends entries to the load log in one commit.
pub async fn append(wh: &Warehouse, entries: &[LoadLogEntry]) -> Result<(), EngineError> {
    if entries.is_empty() {
        return Ok(());
    }
    let s = |f: fn(&LoadLogEntry) -> &str| {
        Arc::new(StringArray::from_iter_values(entries.iter().map(f))) as Arc<dyn Array>
    };
    let i = |f: fn(&LoadLogEntry) -> u64| {
        Arc::new(Int64Array::from_iter_values(
            entries.iter().map(|e| f(e) as i64),
        )) as Arc<dyn Array>
    };
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            s(|e| &e.load_id),
            s(|e| &e.table),
            s(|e| &e.path),
            i(|e| e.size),
            s(|e| &e.content_hash),
            i(|e| e.table_version),
            i(|e| e.rows),
            i(|e| e.rejected_rows),
            s(|e| &e.mode),
            s(|e| &e.principal),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    entries.iter().map(|e| e.loaded_at.timestamp_micros()),
                )
                .with_timezone("UTC"),
            ),
        ],
    )
    .map_err(|source| EngineError::Arrow {
        context: "building a load log batch".into(),
        source,
    })?;
    wh.store()
        .append(
            &log_name(),
            schema(),
            vec![batch],
            CommitProperties::default(),
        )
        .await?;
    Ok(())
}

/// Which file contents a table holds now: content hash to the version that committed it.
pub struct LoadHistory {
    pub present: BTreeMap<String, u64>,
}

/// Reads the table's load history: the load log, plus any load the table's own commit log
/// records but the load log lacks (a crash between the two commits), which is repaired here.
/// Files loaded before the latest replace are no longer present.
pub async fn history(
    wh: &Warehouse,
    table: &TableName,
    delta: Option<&deltalake::DeltaTable>,
) -> Result<LoadHistory, EngineError> {
    let Some(delta) = delta else {
        return Ok(LoadHistory {
            present: BTreeMap::new(),
        });
    };
    let mut rows: Vec<(String, String, u64, String)> = Vec::new(); // load_id, hash, version, mode
    if wh.store().exists(&log_name()) {
        let sql = format!(
            "SELECT load_id, content_hash, table_version, mode FROM _kura.load_log \
             WHERE table_name = '{table}'"
        );
        for batch in wh.query_internal(&sql).await? {
            let ids = batch.column(0).as_string_opt::<i32>().cloned();
            let hashes = batch.column(1).as_string_opt::<i32>().cloned();
            let versions = batch
                .column(2)
                .as_primitive::<arrow::datatypes::Int64Type>();
            let modes = batch.column(3).as_string_opt::<i32>().cloned();
            let (Some(ids), Some(hashes), Some(modes)) = (ids, hashes, modes) else {
                let cast = |i: usize| {
                    arrow::compute::cast(batch.column(i), &DataType::Utf8)
                        .map(|a| a.as_string::<i32>().clone())
                };
                let (Ok(ids), Ok(hashes), Ok(modes)) = (cast(0), cast(1), cast(3)) else {
                    continue;
                };
                for r in 0..batch.num_rows() {
                    rows.push((
                        ids.value(r).to_string(),
                        hashes.value(r).to_string(),
                        versions.value(r) as u64,
                        modes.value(r).to_string(),
                    ));
                }
                continue;
            };
            for r in 0..batch.num_rows() {
                rows.push((
                    ids.value(r).to_string(),
                    hashes.value(r).to_string(),
                    versions.value(r) as u64,
                    modes.value(r).to_string(),
                ));
            }
        }
    }
    let logged_ids: std::collections::BTreeSet<String> = rows.iter().map(|r| r.0.clone()).collect();

    // Repair: loads the table committed that the log does not know about.
    let current = delta.version().unwrap_or(0);
    let mut repair = Vec::new();
    let mut commits = delta.history(Some(50));
    let mut offset = 0u64;
    while let Some(commit) = commits.next().await {
        let Ok(commit) = commit else { break };
        let version = current.saturating_sub(offset);
        offset += 1;
        let Some(info) = commit.info.get("kura.load") else {
            continue;
        };
        let Some(load_id) = info.get("load_id").and_then(|v| v.as_str()) else {
            continue;
        };
        if logged_ids.contains(load_id) {
            continue;
        }
        let mode = info
            .get("mode")
            .and_then(|v| v.as_str())
            .unwrap_or("append");
        for f in info
            .get("files")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
        {
            let hash = f.get("content_hash").and_then(|v| v.as_str()).unwrap_or("");
            rows.push((
                load_id.to_string(),
                hash.to_string(),
                version,
                mode.to_string(),
            ));
            repair.push(LoadLogEntry {
                load_id: load_id.to_string(),
                table: table.to_string(),
                path: f
                    .get("path")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
                size: f.get("size").and_then(|v| v.as_u64()).unwrap_or(0),
                content_hash: hash.to_string(),
                table_version: version,
                // The row counts were lost with the crash; the data is in the table.
                rows: 0,
                rejected_rows: 0,
                mode: mode.to_string(),
                principal: "kura:recovered".into(),
                loaded_at: Utc::now(),
            });
        }
    }
    append(wh, &repair).await?;

    let last_replace = rows
        .iter()
        .filter(|r| r.3 == "replace")
        .map(|r| r.2)
        .max()
        .unwrap_or(0);
    let present = rows
        .into_iter()
        .filter(|r| r.2 >= last_replace)
        .map(|r| (r.1, r.2))
        .collect();
    Ok(LoadHistory { present })
}

/// Keeps rejected rows in `DATASET.TABLE__rejected` with where they came from and why.
pub async fn write_rejected(
    wh: &Warehouse,
    table: &TableName,
    load_id: &str,
    rows: &[(PathBuf, RejectedRow)],
) -> Result<(), EngineError> {
    let name = TableName::new(&table.dataset, &format!("{}__rejected", table.table))?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("load_id", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::Int64, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new(
            "rejected_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let now = Utc::now().timestamp_micros();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|_| load_id))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(p, _)| p.display().to_string()),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|(_, r)| r.line as i64),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, r)| r.raw.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, r)| r.reason.as_str()),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|_| now))
                    .with_timezone("UTC"),
            ),
        ],
    )
    .map_err(|source| EngineError::Arrow {
        context: "building rejected rows".into(),
        source,
    })?;
    wh.store()
        .append(&name, schema, vec![batch], CommitProperties::default())
        .await?;
    Ok(())
}
