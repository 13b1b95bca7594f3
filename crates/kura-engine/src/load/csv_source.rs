//! CSV and TSV files: header row, whole-file type inference, typed conversion row by row so a
//! bad row is rejected alone with its line and reason.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::source::{open_decompressed_since, Chunk, FileStamp, RejectedRow, CHUNK_ROWS};
use super::text_value::{self, TextType};
use crate::error::EngineError;

/// Infers a schema from the header and every value of the file.
///
/// # Errors
/// [`EngineError::EmptyInput`] without a header; [`EngineError::BadRow`] for a malformed
/// CSV record (an unterminated quote, invalid UTF-8).
pub fn infer(path: &Path, delimiter: u8) -> Result<Schema, EngineError> {
    let mut reader = reader(path, delimiter, None)?;
    let headers = headers(&mut reader, path)?;
    let mut types = vec![TextType::Null; headers.len()];
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                for (t, value) in types.iter_mut().zip(record.iter()) {
                    if !value.is_empty() && *t != TextType::String {
                        *t = t.merge(text_value::classify(value));
                    }
                }
            }
            // A record that does not parse is a bad row: the conversion pass reports it with
            // its reason, so inference only skips it.
            Err(e) if e.is_io_error() => return Err(csv_error(path, e)),
            Err(_) => continue,
        }
    }
    Ok(Schema::new(
        headers
            .iter()
            .zip(types)
            .map(|(h, t)| Field::new(h, t.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

fn reader(
    path: &Path,
    delimiter: u8,
    inspected: Option<FileStamp>,
) -> Result<csv::Reader<Box<dyn std::io::Read + Send>>, EngineError> {
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(open_decompressed_since(path, inspected)?))
}

fn headers(
    reader: &mut csv::Reader<Box<dyn std::io::Read + Send>>,
    path: &Path,
) -> Result<Vec<String>, EngineError> {
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            return Err(EngineError::EmptyInput {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(csv_error(path, e)),
    }
    let mut names: Vec<String> = record.iter().map(|h| h.trim().to_string()).collect();
    if let Some(first) = names.first_mut() {
        // A UTF-8 byte-order mark is common in spreadsheet exports.
        *first = first.trim_start_matches('\u{feff}').to_string();
    }
    let mut seen = std::collections::HashSet::new();
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() {
            return Err(EngineError::BadRow {
                file: path.to_path_buf(),
                line: 1,
                reason: format!("header column {} has no name", i + 1),
            });
        }
        if !seen.insert(n.to_lowercase()) {
            return Err(EngineError::BadRow {
                file: path.to_path_buf(),
                line: 1,
                reason: format!("header names column `{n}` twice"),
            });
        }
    }
    Ok(names)
}

fn csv_error(path: &Path, e: csv::Error) -> EngineError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    EngineError::BadRow {
        file: path.to_path_buf(),
        line,
        reason: e.to_string(),
    }
}

/// Streams a CSV file as batches of the target schema.
pub struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<Box<dyn std::io::Read + Send>>,
    target: SchemaRef,
    /// For each target column, the file column holding it.
    mapping: Vec<Option<usize>>,
    file_columns: usize,
    done: bool,
}

impl CsvSource {
    /// Opens a file for conversion into `target`. Target columns the file lacks are NULL.
    ///
    /// # Errors
    /// [`EngineError::TypeConflict`] when a target column is nested (CSV cannot hold it).
    pub(crate) fn open(
        path: &Path,
        delimiter: u8,
        target: SchemaRef,
        inspected: Option<FileStamp>,
    ) -> Result<Self, EngineError> {
        let mut reader = reader(path, delimiter, inspected)?;
        let headers = headers(&mut reader, path)?;
        let mapping = target
            .fields()
            .iter()
            .map(|f| headers.iter().position(|h| h == f.name()))
            .collect();
        for f in target.fields() {
            if Parser::for_type(f.data_type()).is_none() {
                return Err(EngineError::TypeConflict {
                    table: "the target table".into(),
                    column: f.name().clone(),
                    existing: super::bq_schema::bigquery_type_name(f.data_type()),
                    incoming: "CSV text".into(),
                    file: path.to_path_buf(),
                });
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            target,
            mapping,
            file_columns: headers.len(),
            done: false,
        })
    }

    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, EngineError> {
        if self.done {
            return Ok(None);
        }
        let mut builders: Vec<Builder> = self
            .target
            .fields()
            .iter()
            .map(|f| Builder::new(f.data_type(), CHUNK_ROWS))
            .collect();
        let parsers: Vec<Parser> = self
            .target
            .fields()
            .iter()
            .map(|f| Parser::for_type(f.data_type()).expect("checked in open"))
            .collect();
        let mut rejected = Vec::new();
        let mut parsed: Vec<Value> = Vec::with_capacity(parsers.len());
        let mut record = csv::StringRecord::new();
        let mut rows = 0;
        while rows < CHUNK_ROWS {
            let line = self.reader.position().line() + 1;
            match self.reader.read_record(&mut record) {
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Ok(true) => {}
                Err(e) if e.is_io_error() => return Err(csv_error(&self.path, e)),
                Err(e) => {
                    rejected.push(RejectedRow {
                        line: e.position().map(|p| p.line()).unwrap_or(line),
                        raw: String::new(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            }
            let line = record.position().map(|p| p.line()).unwrap_or(line);
            if record.len() != self.file_columns {
                rejected.push(RejectedRow {
                    line,
                    raw: raw_text(&record),
                    reason: format!(
                        "expected {} fields as in the header, found {}",
                        self.file_columns,
                        record.len()
                    ),
                });
                continue;
            }
            parsed.clear();
            let mut error = None;
            for ((field, parser), source) in
                self.target.fields().iter().zip(&parsers).zip(&self.mapping)
            {
                let text = source.and_then(|i| record.get(i)).unwrap_or("");
                match parser.parse(text) {
                    Ok(v) => parsed.push(v),
                    Err(reason) => {
                        error = Some(format!("column `{}`: {reason}", field.name()));
                        break;
                    }
                }
            }
            if let Some(reason) = error {
                rejected.push(RejectedRow {
                    line,
                    raw: raw_text(&record),
                    reason,
                });
                continue;
            }
            for (b, v) in builders.iter_mut().zip(parsed.drain(..)) {
                b.append(v);
            }
            rows += 1;
        }
        let columns: Vec<ArrayRef> = builders.into_iter().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.target.clone(), columns).map_err(|source| {
            EngineError::Arrow {
                context: format!("converting {}", self.path.display()),
                source,
            }
        })?;
        Ok(Some(Chunk {
            batch,
            rejected,
            bytes_read: self.reader.position().byte(),
        }))
    }
}

fn raw_text(record: &csv::StringRecord) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(record);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end().to_string()
}

/// One parsed field, held until the whole row has parsed.
enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// The text itself (taken again from the record when appending).
    Text(String),
    Date(i32),
    Micros(i64),
    Decimal(i128),
}

#[derive(Clone, Copy)]
enum Parser {
    Int,
    Float,
    Bool,
    Text,
    Binary,
    Date,
    Datetime,
    Timestamp,
    Decimal(i8),
}

impl Parser {
    fn for_type(dt: &DataType) -> Option<Parser> {
        Some(match dt {
            DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::Int8 => Parser::Int,
            DataType::Float64 | DataType::Float32 => Parser::Float,
            DataType::Boolean => Parser::Bool,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Parser::Text,
            DataType::Binary => Parser::Binary,
            DataType::Date32 => Parser::Date,
            DataType::Timestamp(TimeUnit::Microsecond, None) => Parser::Datetime,
            DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => Parser::Timestamp,
            DataType::Decimal128(_, s) => Parser::Decimal(*s),
            _ => return None,
        })
    }

    fn parse(self, s: &str) -> Result<Value, String> {
        if s.is_empty() {
            return Ok(Value::Null);
        }
        Ok(match self {
            Parser::Int => Value::Int(text_value::parse_int(s)?),
            Parser::Float => Value::Float(text_value::parse_float(s)?),
            Parser::Bool => Value::Bool(text_value::parse_bool(s)?),
            Parser::Text | Parser::Binary => Value::Text(s.to_string()),
            Parser::Date => Value::Date(text_value::parse_date(s)?),
            Parser::Datetime => Value::Micros(text_value::parse_datetime(s)?),
            Parser::Timestamp => Value::Micros(text_value::parse_timestamp(s)?),
            Parser::Decimal(scale) => Value::Decimal(text_value::parse_decimal(s, scale)?),
        })
    }
}

enum Builder {
    Int(Int64Builder, DataType),
    Float(Float64Builder, DataType),
    Bool(BooleanBuilder),
    Text(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Micros(TimestampMicrosecondBuilder, Option<Arc<str>>),
    Decimal(Decimal128Builder, u8, i8),
}

impl Builder {
    fn new(dt: &DataType, capacity: usize) -> Builder {
        match dt {
            DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::Int8 => {
                Builder::Int(Int64Builder::with_capacity(capacity), dt.clone())
            }
            DataType::Float64 | DataType::Float32 => {
                Builder::Float(Float64Builder::with_capacity(capacity), dt.clone())
            }
            DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(capacity)),
            DataType::Binary => Builder::Binary(BinaryBuilder::new()),
            DataType::Date32 => Builder::Date(Date32Builder::with_capacity(capacity)),
            DataType::Timestamp(_, tz) => Builder::Micros(
                TimestampMicrosecondBuilder::with_capacity(capacity),
                tz.clone(),
            ),
            DataType::Decimal128(p, s) => {
                Builder::Decimal(Decimal128Builder::with_capacity(capacity), *p, *s)
            }
            _ => Builder::Text(StringBuilder::with_capacity(capacity, capacity * 8)),
        }
    }

    fn append(&mut self, v: Value) {
        match (self, v) {
            (Builder::Int(b, _), Value::Int(x)) => b.append_value(x),
            (Builder::Float(b, _), Value::Float(x)) => b.append_value(x),
            (Builder::Bool(b), Value::Bool(x)) => b.append_value(x),
            (Builder::Text(b), Value::Text(x)) => b.append_value(x),
            (Builder::Binary(b), Value::Text(x)) => b.append_value(x.as_bytes()),
            (Builder::Date(b), Value::Date(x)) => b.append_value(x),
            (Builder::Micros(b, _), Value::Micros(x)) => b.append_value(x),
            (Builder::Decimal(b, _, _), Value::Decimal(x)) => b.append_value(x),
            (Builder::Int(b, _), _) => b.append_null(),
            (Builder::Float(b, _), _) => b.append_null(),
            (Builder::Bool(b), _) => b.append_null(),
            (Builder::Text(b), _) => b.append_null(),
            (Builder::Binary(b), _) => b.append_null(),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Micros(b, _), _) => b.append_null(),
            (Builder::Decimal(b, _, _), _) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Int(mut b, dt) => cast_to(Arc::new(b.finish()), &dt),
            Builder::Float(mut b, dt) => cast_to(Arc::new(b.finish()), &dt),
            Builder::Bool(mut b) => Arc::new(b.finish()),
            Builder::Text(mut b) => Arc::new(b.finish()),
            Builder::Binary(mut b) => Arc::new(b.finish()),
            Builder::Date(mut b) => Arc::new(b.finish()),
            Builder::Micros(mut b, tz) => Arc::new(b.finish().with_timezone_opt(tz)),
            Builder::Decimal(mut b, p, s) => Arc::new(
                b.finish()
                    .with_precision_and_scale(p, s)
                    .expect("precision and scale come from a valid schema"),
            ),
        }
    }
}

/// Narrows a column built as 64-bit to a table's narrower integer or float type. Values that
/// do not fit become NULL here only if the table is narrower than the text, which the schema
/// check already refused.
fn cast_to(array: ArrayRef, dt: &DataType) -> ArrayRef {
    if array.data_type() == dt {
        return array;
    }
    arrow::compute::cast(&array, dt).unwrap_or(array)
}
