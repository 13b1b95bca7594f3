//! Newline-delimited JSON: whole-file inference of nested types, fast decoding with
//! arrow-json, and a line-by-line pass only for a stretch that holds a bad line.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::json::reader::{Decoder, ReaderBuilder};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::source::{
    open_decompressed, open_decompressed_since, Chunk, FileStamp, RejectedRow, CHUNK_ROWS,
};
use super::text_value::{self, TextType};
use crate::error::EngineError;

/// What a JSON field's values allow.
#[derive(Debug, Clone, PartialEq)]
enum JsonType {
    Null,
    Bool,
    Int,
    Float,
    /// A string; dates and timestamps written as strings are recognised.
    Text(TextType),
    List(Box<JsonType>),
    Struct(Vec<(String, JsonType)>),
}

impl JsonType {
    fn of(v: &Value) -> JsonType {
        match v {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(n) if n.is_i64() => JsonType::Int,
            Value::Number(_) => JsonType::Float,
            Value::String(s) => JsonType::Text(match text_value::classify(s) {
                t @ (TextType::Date | TextType::Datetime | TextType::Timestamp) => t,
                TextType::Null => TextType::Null,
                _ => TextType::String,
            }),
            Value::Array(items) => JsonType::List(Box::new(
                items
                    .iter()
                    .fold(JsonType::Null, |acc, i| acc.merge(JsonType::of(i))),
            )),
            Value::Object(map) => JsonType::Struct(
                map.iter()
                    .map(|(k, v)| (k.clone(), JsonType::of(v)))
                    .collect(),
            ),
        }
    }

    fn merge(self, other: JsonType) -> JsonType {
        use JsonType::*;
        match (self, other) {
            (Null, x) | (x, Null) => x,
            (Text(TextType::Null), x @ Text(_)) | (x @ Text(_), Text(TextType::Null)) => x,
            (a, b) if a == b => a,
            (Int, Float) | (Float, Int) => Float,
            (Text(a), Text(b)) => Text(a.merge(b)),
            (List(a), List(b)) => List(Box::new(a.merge(*b))),
            (Struct(mut a), Struct(b)) => {
                for (k, t) in b {
                    match a.iter_mut().find(|(ka, _)| *ka == k) {
                        Some((_, ta)) => *ta = std::mem::replace(ta, Null).merge(t),
                        None => a.push((k, t)),
                    }
                }
                Struct(a)
            }
            // Scalars of different kinds are kept as their text.
            _ => Text(TextType::String),
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            JsonType::Null => DataType::Utf8,
            JsonType::Bool => DataType::Boolean,
            JsonType::Int => DataType::Int64,
            JsonType::Float => DataType::Float64,
            JsonType::Text(t) => t.data_type(),
            JsonType::List(t) => {
                DataType::List(Arc::new(Field::new("element", t.data_type(), true)))
            }
            JsonType::Struct(fields) => DataType::Struct(Fields::from(
                fields
                    .iter()
                    .map(|(k, t)| Field::new(k, t.data_type(), true))
                    .collect::<Vec<_>>(),
            )),
        }
    }
}

/// Infers a schema from every line of the file; fields keep the order they first appear in.
///
/// # Errors
/// [`EngineError::EmptyInput`] when no line holds an object.
pub fn infer(path: &Path) -> Result<Schema, EngineError> {
    let mut reader = open_decompressed(path)?;
    let mut line = Vec::new();
    let mut row = JsonType::Struct(Vec::new());
    let mut any = false;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| EngineError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        // Lines that are not JSON objects are bad rows, reported by the conversion pass.
        if let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(&line) {
            row = row.merge(JsonType::of(&v));
            any = true;
        }
    }
    match row {
        JsonType::Struct(fields) if any => Ok(Schema::new(
            fields
                .iter()
                .map(|(k, t)| Field::new(k, t.data_type(), true))
                .collect::<Vec<_>>(),
        )),
        _ => Err(EngineError::EmptyInput {
            path: path.to_path_buf(),
        }),
    }
}

/// Streams an NDJSON file as batches of the target schema.
pub struct JsonSource {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    target: SchemaRef,
    decoder: Decoder,
    next_line: u64,
    bytes_read: u64,
    done: bool,
}

impl JsonSource {
    pub(crate) fn open(
        path: &Path,
        target: SchemaRef,
        inspected: Option<FileStamp>,
    ) -> Result<Self, EngineError> {
        let reader = open_decompressed_since(path, inspected)?;
        let decoder = new_decoder(&target, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            target,
            decoder,
            next_line: 1,
            bytes_read: 0,
            done: false,
        })
    }

    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, EngineError> {
        if self.done {
            return Ok(None);
        }
        let lines = read_lines(&mut *self.reader, CHUNK_ROWS, &mut self.next_line, 1 << 20)
            .map_err(|source| EngineError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.bytes_read += lines.bytes_read;
        self.done = lines.at_end;
        let (buf, starts) = (lines.text, lines.starts);
        if starts.is_empty() {
            return Ok(None);
        }
        match decode_all(&mut self.decoder, &buf) {
            Ok(batch) => Ok(Some(Chunk {
                batch: batch.unwrap_or_else(|| RecordBatch::new_empty(self.target.clone())),
                rejected: Vec::new(),
                bytes_read: self.bytes_read,
            })),
            Err(_) => {
                // Something in this stretch is bad: find which lines, keep the rest.
                self.decoder = new_decoder(&self.target, &self.path)?;
                let mut good = Vec::with_capacity(buf.len());
                let mut rejected = Vec::new();
                for (i, (line_no, start)) in starts.iter().enumerate() {
                    let end = starts.get(i + 1).map_or(buf.len(), |(_, s)| *s);
                    let line = &buf[*start..end];
                    let mut probe = new_decoder(&self.target, &self.path)?;
                    match check_line(&mut probe, line) {
                        Ok(()) => good.extend_from_slice(line),
                        Err(reason) => rejected.push(RejectedRow {
                            line: *line_no,
                            raw: String::from_utf8_lossy(line).trim_end().to_string(),
                            reason,
                        }),
                    }
                }
                let batch =
                    decode_all(&mut self.decoder, &good).map_err(|source| EngineError::Arrow {
                        context: format!("decoding {}", self.path.display()),
                        source,
                    })?;
                Ok(Some(Chunk {
                    batch: batch.unwrap_or_else(|| RecordBatch::new_empty(self.target.clone())),
                    rejected,
                    bytes_read: self.bytes_read,
                }))
            }
        }
    }
}

/// Up to `max` non-blank lines of newline-delimited text, each ending in `\n`.
pub struct Lines {
    pub text: Vec<u8>,
    /// Each line's 1-based number in the file and its offset in `text`.
    pub starts: Vec<(u64, usize)>,
    /// Bytes consumed from the reader, blank lines included.
    pub bytes_read: u64,
    /// The reader is exhausted.
    pub at_end: bool,
}

/// Reads up to `max` non-blank lines, numbering them from `next_line` (advanced past every
/// line read, blank or not) so errors can name the line of the file. `capacity` is the text
/// buffer's starting size: the previous chunk's size spares growing it by copies (a 30 MB
/// chunk grew from 1 MiB in five copies of everything read so far).
///
/// # Errors
/// The reader's I/O error.
pub fn read_lines(
    reader: &mut dyn BufRead,
    max: usize,
    next_line: &mut u64,
    capacity: usize,
) -> std::io::Result<Lines> {
    let mut text = Vec::with_capacity(capacity.max(1 << 16));
    let mut starts: Vec<(u64, usize)> = Vec::with_capacity(max.min(1 << 16));
    let mut bytes_read = 0u64;
    let mut at_end = false;
    while starts.len() < max {
        let at = text.len();
        let n = reader.read_until(b'\n', &mut text)?;
        if n == 0 {
            at_end = true;
            break;
        }
        bytes_read += n as u64;
        let line_no = *next_line;
        *next_line += 1;
        if text[at..].iter().all(u8::is_ascii_whitespace) {
            text.truncate(at);
            continue;
        }
        if text.last() != Some(&b'\n') {
            text.push(b'\n');
        }
        starts.push((line_no, at));
    }
    Ok(Lines {
        text,
        starts,
        bytes_read,
        at_end,
    })
}

fn new_decoder(target: &SchemaRef, path: &Path) -> Result<Decoder, EngineError> {
    ReaderBuilder::new(target.clone())
        .with_batch_size(CHUNK_ROWS * 2)
        .with_coerce_primitive(true)
        .build_decoder()
        .map_err(|source| EngineError::Arrow {
            context: format!("reading {}", path.display()),
            source,
        })
}

/// Decodes all of `buf` (whole lines) and flushes the decoder.
///
/// # Errors
/// The first value that does not fit the decoder's schema.
pub fn decode_all(
    decoder: &mut Decoder,
    buf: &[u8],
) -> Result<Option<RecordBatch>, arrow::error::ArrowError> {
    let mut offset = 0;
    while offset < buf.len() {
        let n = decoder.decode(&buf[offset..])?;
        if n == 0 {
            break;
        }
        offset += n;
    }
    decoder.flush()
}

/// Why one line does not decode into the target schema, if it does not.
fn check_line(decoder: &mut Decoder, line: &[u8]) -> Result<(), String> {
    if !matches!(serde_json::from_slice::<Value>(line), Ok(Value::Object(_))) {
        return Err(match serde_json::from_slice::<Value>(line) {
            Err(e) => format!("invalid JSON: {e}"),
            Ok(_) => "the line is not a JSON object".to_string(),
        });
    }
    decode_all(decoder, line)
        .map(|_| ())
        .map_err(|e| e.to_string().trim_start_matches("Json error: ").to_string())
}
