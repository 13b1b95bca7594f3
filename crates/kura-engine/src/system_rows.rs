//! kura's own tables (`_kura.*`) as rows of plain Rust structs.
//!
//! Crates that keep state in `_kura` (check results, alerts, experiments) describe a row as a
//! `Serialize + Deserialize` struct and an Arrow schema, and move rows in and out through
//! Arrow's JSON codec instead of building and downcasting arrays by hand. Timestamps travel as
//! RFC 3339 strings, which `chrono` reads and writes.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::json::{ArrayWriter, ReaderBuilder, WriterBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::EngineError;
use crate::store::TableName;
use crate::warehouse::Warehouse;

fn arrow_error(context: &str) -> impl Fn(arrow::error::ArrowError) -> EngineError + '_ {
    move |source| EngineError::Arrow {
        context: context.to_string(),
        source,
    }
}

/// Builds a batch of `schema` from rows; field names match the struct's serde names.
///
/// # Errors
/// [`EngineError::Arrow`] when a row does not fit the schema.
pub fn rows_to_batch<T: Serialize>(
    schema: SchemaRef,
    rows: &[T],
) -> Result<RecordBatch, EngineError> {
    let context = "encoding kura's own table rows";
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.len().max(1))
        .build_decoder()
        .map_err(arrow_error(context))?;
    decoder.serialize(rows).map_err(arrow_error(context))?;
    Ok(decoder
        .flush()
        .map_err(arrow_error(context))?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

/// Reads batches back into rows. View types are cast to their plain forms first, because Delta
/// may hand strings back as `Utf8View`.
///
/// # Errors
/// [`EngineError::Arrow`] when a value cannot be encoded, [`EngineError::SystemRow`] when a row
/// does not match `T` (a table written by another kura version).
pub fn batches_to_rows<T: DeserializeOwned>(
    table: &str,
    batches: &[RecordBatch],
) -> Result<Vec<T>, EngineError> {
    let context = "decoding kura's own table rows";
    let mut buffer = Vec::new();
    {
        let mut writer: ArrayWriter<&mut Vec<u8>> = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build(&mut buffer);
        for batch in batches {
            let plain = without_views(batch).map_err(arrow_error(context))?;
            writer.write(&plain).map_err(arrow_error(context))?;
        }
        writer.finish().map_err(arrow_error(context))?;
    }
    if buffer.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&buffer).map_err(|e| EngineError::SystemRow {
        table: table.to_string(),
        message: e.to_string(),
    })
}

fn without_views(batch: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let plain = match field.data_type() {
            DataType::Utf8View => Some(DataType::Utf8),
            DataType::BinaryView => Some(DataType::Binary),
            _ => None,
        };
        match plain {
            Some(data_type) => {
                columns.push(cast(column, &data_type)?);
                fields.push(Field::new(field.name(), data_type, field.is_nullable()));
            }
            None => {
                columns.push(column.clone());
                fields.push(field.as_ref().clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

impl Warehouse {
    /// Appends rows to `_kura.<table>`, creating it with `schema` on first use.
    ///
    /// # Errors
    /// As [`rows_to_batch`] and [`Warehouse::append_system`].
    pub async fn append_system_rows<T: Serialize>(
        &self,
        table: &str,
        schema: SchemaRef,
        rows: &[T],
    ) -> Result<(), EngineError> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = rows_to_batch(schema, rows)?;
        self.append_system(table, batch).await
    }

    /// Reads `_kura.<table>` with an internal query (DataFusion SQL over `kura._kura.<table>`,
    /// e.g. `SELECT * FROM kura._kura.check_results WHERE ...`); no rows when the table does
    /// not exist yet.
    ///
    /// # Errors
    /// As [`Warehouse::query_internal`] and [`batches_to_rows`].
    pub async fn read_system_rows<T: DeserializeOwned>(
        &self,
        table: &str,
        sql: &str,
    ) -> Result<Vec<T>, EngineError> {
        let name = TableName::new(crate::access::SYSTEM_DATASET, table)?;
        // Whether the table exists, from its directory: opening it here as well would read its
        // whole Delta log twice.
        if !self.store().exists(&name) {
            return Ok(Vec::new());
        }
        let batches = self.query_internal(sql).await?;
        batches_to_rows(table, &batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;
    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        id: String,
        count: Option<i64>,
        share: f64,
        at: DateTime<Utc>,
        ok: bool,
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("count", DataType::Int64, true),
            Field::new("share", DataType::Float64, false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("ok", DataType::Boolean, false),
        ]))
    }

    #[test]
    fn rows_round_trip_through_arrow() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T23:05:01.250Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time");
        let rows = vec![
            Row {
                id: "a".into(),
                count: Some(3),
                share: 0.25,
                at,
                ok: true,
            },
            Row {
                id: "b".into(),
                count: None,
                share: 1.0,
                at,
                ok: false,
            },
        ];
        let batch = rows_to_batch(schema(), &rows).expect("encodes");
        assert_eq!(batch.num_rows(), 2);
        let back: Vec<Row> = batches_to_rows("t", &[batch]).expect("decodes");
        assert_eq!(back, rows);
    }

    #[test]
    fn a_mismatched_row_names_the_table() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Other {
            missing: String,
        }
        let rows = vec![Row {
            id: "a".into(),
            count: None,
            share: 0.0,
            at: Utc::now(),
            ok: true,
        }];
        let batch = rows_to_batch(schema(), &rows).expect("encodes");
        let err = batches_to_rows::<Other>("check_results", &[batch]).expect_err("mismatch");
        assert!(err.to_string().contains("_kura.check_results"), "{err}");
    }
}
