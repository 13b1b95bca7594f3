//! `_kura.query_log`: every statement kura runs, who ran it, what it scanned, how it ended.
//!
//! This is the cost ledger (DESIGN.md, practice 8). It is an ordinary Delta table so that it is
//! queried with the same SQL as everything else; one commit per statement keeps a crash from
//! losing more than the statement it interrupted.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder, StructBuilder,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use crate::error::EngineError;

/// How a logged statement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryStatus {
    Ok,
    Error,
    Denied,
}

impl QueryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryStatus::Ok => "ok",
            QueryStatus::Error => "error",
            QueryStatus::Denied => "denied",
        }
    }
}

/// Bytes one statement read from one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableScan {
    pub table: String,
    pub bytes: u64,
}

/// One row of `_kura.query_log`.
#[derive(Debug, Clone)]
pub struct QueryLogEntry {
    pub query_id: String,
    pub principal: String,
    /// Key/value labels such as `model=orders` or `schedule=nightly`.
    pub labels: Vec<(String, String)>,
    pub statement: String,
    /// `QUERY` or `LOAD`.
    pub statement_type: String,
    pub start_time: DateTime<Utc>,
    pub duration_ms: i64,
    /// Bytes read from storage, summed over `tables`.
    pub bytes_scanned: u64,
    pub tables: Vec<TableScan>,
    pub rows: u64,
    pub status: QueryStatus,
    pub error: Option<String>,
}

/// The schema of `_kura.query_log`.
pub fn query_log_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("query_id", DataType::Utf8, false),
        Field::new("principal", DataType::Utf8, false),
        Field::new(
            "labels",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(label_fields()),
                true,
            ))),
            true,
        ),
        Field::new("statement", DataType::Utf8, false),
        Field::new("statement_type", DataType::Utf8, false),
        Field::new(
            "start_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("duration_ms", DataType::Int64, false),
        Field::new("bytes_scanned", DataType::Int64, false),
        Field::new(
            "tables",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(table_fields()),
                true,
            ))),
            true,
        ),
        Field::new("rows_returned", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
    ]))
}

fn label_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
    ])
}

fn table_fields() -> Fields {
    Fields::from(vec![
        Field::new("table", DataType::Utf8, true),
        Field::new("bytes", DataType::Int64, true),
    ])
}

/// Turns entries into one batch of `_kura.query_log`.
///
/// # Errors
/// [`EngineError::Arrow`] only if the arrays disagree with the schema, which is a bug.
pub fn to_batch(entries: &[QueryLogEntry]) -> Result<RecordBatch, EngineError> {
    let schema = query_log_schema();
    let mut labels = ListBuilder::new(StructBuilder::from_fields(label_fields(), entries.len()));
    let mut tables = ListBuilder::new(StructBuilder::from_fields(table_fields(), entries.len()));
    for e in entries {
        let s = labels.values();
        for (k, v) in &e.labels {
            s.field_builder::<StringBuilder>(0)
                .expect("key is utf8")
                .append_value(k);
            s.field_builder::<StringBuilder>(1)
                .expect("value is utf8")
                .append_value(v);
            s.append(true);
        }
        labels.append(true);
        let s = tables.values();
        for t in &e.tables {
            s.field_builder::<StringBuilder>(0)
                .expect("table is utf8")
                .append_value(&t.table);
            s.field_builder::<arrow::array::Int64Builder>(1)
                .expect("bytes is int64")
                .append_value(t.bytes as i64);
            s.append(true);
        }
        tables.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.query_id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.principal.as_str()),
        )),
        Arc::new(labels.finish()),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.statement.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.statement_type.as_str()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                entries.iter().map(|e| e.start_time.timestamp_micros()),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(
            entries.iter().map(|e| e.duration_ms),
        )),
        Arc::new(Int64Array::from_iter_values(
            entries.iter().map(|e| e.bytes_scanned as i64),
        )),
        Arc::new(tables.finish()),
        Arc::new(Int64Array::from_iter_values(
            entries.iter().map(|e| e.rows as i64),
        )),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|e| e.status.as_str()),
        )),
        Arc::new(StringArray::from_iter(
            entries.iter().map(|e| e.error.as_deref()),
        )),
    ];
    RecordBatch::try_new(schema, columns).map_err(|source| EngineError::Arrow {
        context: "building a query log batch".into(),
        source,
    })
}
