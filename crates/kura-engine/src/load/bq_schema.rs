//! BigQuery's JSON schema format (`[{"name": ..., "type": ..., "mode": ..., "fields": [...]}]`)
//! and its mapping to the Arrow types kura stores in Delta.
//!
//! | BigQuery | Arrow / Delta |
//! |---|---|
//! | INT64 / INTEGER | Int64 |
//! | FLOAT64 / FLOAT | Float64 |
//! | NUMERIC | Decimal128(38, 9) |
//! | BIGNUMERIC | Decimal128(38, 18) (Delta's decimals stop at 38 digits) |
//! | BOOL / BOOLEAN | Boolean |
//! | STRING, JSON, GEOGRAPHY | Utf8 |
//! | BYTES | Binary |
//! | DATE | Date32 |
//! | DATETIME | Timestamp(µs, no zone) |
//! | TIMESTAMP | Timestamp(µs, UTC) |
//! | TIME | Utf8 `HH:MM:SS[.ffffff]` (Delta has no time-of-day type) |
//! | RECORD / STRUCT | Struct |
//! | mode REPEATED | List |

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, TimeUnit};
use serde::Deserialize;

use crate::error::EngineError;

#[derive(Debug, Deserialize)]
struct BqField {
    name: String,
    #[serde(rename = "type")]
    field_type: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    fields: Vec<BqField>,
}

/// Reads a BigQuery JSON schema file into an Arrow schema.
///
/// # Errors
/// [`EngineError::SchemaFile`] naming the file and the field at fault.
pub fn read_schema_file(path: &Path) -> Result<Schema, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_schema(&text).map_err(|message| EngineError::SchemaFile {
        path: path.to_path_buf(),
        message,
    })
}

/// Parses BigQuery JSON schema text; accepts the bare array or `{"fields": [...]}`.
pub fn parse_schema(text: &str) -> Result<Schema, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Doc {
        Bare(Vec<BqField>),
        Wrapped { fields: Vec<BqField> },
    }
    let doc: Doc = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let fields = match doc {
        Doc::Bare(f) | Doc::Wrapped { fields: f } => f,
    };
    let fields = fields
        .iter()
        .map(|f| to_field(f, ""))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Schema::new(fields))
}

fn to_field(f: &BqField, parent: &str) -> Result<Field, String> {
    let path = if parent.is_empty() {
        f.name.clone()
    } else {
        format!("{parent}.{}", f.name)
    };
    let base = match f.field_type.to_ascii_uppercase().as_str() {
        "INT64" | "INTEGER" => DataType::Int64,
        "FLOAT64" | "FLOAT" => DataType::Float64,
        "NUMERIC" | "DECIMAL" => DataType::Decimal128(38, 9),
        "BIGNUMERIC" | "BIGDECIMAL" => DataType::Decimal128(38, 18),
        "BOOL" | "BOOLEAN" => DataType::Boolean,
        "STRING" | "JSON" | "GEOGRAPHY" | "TIME" => DataType::Utf8,
        "BYTES" => DataType::Binary,
        "DATE" => DataType::Date32,
        "DATETIME" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "RECORD" | "STRUCT" => {
            if f.fields.is_empty() {
                return Err(format!("field `{path}` is a RECORD without fields"));
            }
            let children = f
                .fields
                .iter()
                .map(|c| to_field(c, &path))
                .collect::<Result<Vec<_>, _>>()?;
            DataType::Struct(Fields::from(children))
        }
        other => return Err(format!("field `{path}` has unknown type `{other}`")),
    };
    let mode = f.mode.as_deref().unwrap_or("NULLABLE").to_ascii_uppercase();
    let data_type = match mode.as_str() {
        "NULLABLE" | "REQUIRED" => base,
        "REPEATED" => DataType::List(Arc::new(Field::new("element", base, true))),
        other => return Err(format!("field `{path}` has unknown mode `{other}`")),
    };
    // Loaded columns stay nullable: REQUIRED is checked by data quality checks, not by
    // refusing a whole file at load time.
    Ok(Field::new(&f.name, data_type, true))
}

/// The BigQuery name of an Arrow type, for messages and `kura schema`.
pub fn bigquery_type_name(dt: &DataType) -> String {
    match dt {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "INT64".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "INT64".into(),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "FLOAT64".into(),
        DataType::Decimal128(_, 9) => "NUMERIC".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("NUMERIC({p}, {s})"),
        DataType::Boolean => "BOOL".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, None) => "DATETIME".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Null => "NULL".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            format!("ARRAY<{}>", bigquery_type_name(f.data_type()))
        }
        DataType::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|f| format!("{} {}", f.name(), bigquery_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::Dictionary(_, v) => bigquery_type_name(v),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_nested_and_repeated_fields() {
        let schema = parse_schema(
            r#"[{"name":"id","type":"INTEGER","mode":"REQUIRED"},
                {"name":"ts","type":"TIMESTAMP"},
                {"name":"params","type":"RECORD","mode":"REPEATED","fields":[
                   {"name":"key","type":"STRING"},{"name":"v","type":"FLOAT"}]}]"#,
        )
        .unwrap();
        assert_eq!(schema.field(0).data_type(), &DataType::Int64);
        assert_eq!(bigquery_type_name(schema.field(1).data_type()), "TIMESTAMP");
        assert_eq!(
            bigquery_type_name(schema.field(2).data_type()),
            "ARRAY<STRUCT<key STRING, v FLOAT64>>"
        );
    }

    #[test]
    fn unknown_type_names_the_field() {
        let err = parse_schema(
            r#"[{"name":"a","type":"RECORD","fields":[{"name":"b","type":"INTEGR"}]}]"#,
        )
        .unwrap_err();
        assert_eq!(err, "field `a.b` has unknown type `INTEGR`");
    }
}
