//! Reading export files into batches of the export schema, chunk by chunk.
//!
//! NDJSON is decoded strictly against the export schema, a chunk at a time: by kura's one-pass
//! [`LineDecoder`] when it can, else by arrow-json. A chunk that does not decode is redone line
//! by line: a line that is not JSON, or whose values do not fit
//! the schema, is rejected with its line number; top-level fields the schema does not know
//! are moved into `_unknown_fields` as a JSON object, so a field GA4 adds later is kept
//! rather than dropped or refused.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::json::reader::Decoder;
use arrow::json::ReaderBuilder;
use arrow::record_batch::RecordBatch;
use kura_engine::load::{
    content_hash_of, decode_all, open_hashed, ContentHash, FileFormat, FileWatch, RejectedRow,
};

/// Events per batch: a GA4 event is 1-2 KB of JSON, so this bounds a chunk's text at a few
/// tens of MB however big the file.
pub const CHUNK_ROWS: usize = 16_384;
use serde_json::Value;

use crate::error::Ga4Error;
use crate::line_decoder::LineDecoder;
pub use crate::schema::read_schema;
use crate::schema::{conform_batch, export_schema, UNKNOWN_FIELDS};

/// Rows read from an export file: the export's columns plus `_unknown_fields`, the line (or
/// row) number of each, and the lines rejected in the same stretch.
pub struct RawChunk {
    pub batch: RecordBatch,
    pub lines: Vec<u64>,
    pub rejected: Vec<RejectedRow>,
}

/// A stretch of an export file as read from it: NDJSON lines still to decode (which any
/// thread's [`ChunkDecoder`] can do), or rows already decoded (Parquet).
pub enum Piece {
    Lines {
        text: Vec<u8>,
        /// Each line's number and where it starts in `text`.
        starts: Vec<(u64, usize)>,
    },
    Rows(RawChunk),
}

/// An open export file, read a stretch at a time.
pub enum ExportReader {
    Json(JsonReader),
    Parquet(ParquetReader),
}

impl ExportReader {
    pub fn open(path: &Path, format: FileFormat, target: SchemaRef) -> Result<Self, Ga4Error> {
        Ok(match format {
            FileFormat::Parquet => ExportReader::Parquet(ParquetReader::open(path, target)?),
            _ => ExportReader::Json(JsonReader::open(path)?),
        })
    }

    /// The next stretch, or `None` at the end of the file.
    pub fn next_piece(&mut self) -> Result<Option<Piece>, Ga4Error> {
        match self {
            ExportReader::Json(r) => r.next_lines(),
            ExportReader::Parquet(r) => Ok(r.next_chunk()?.map(Piece::Rows)),
        }
    }

    /// The file's content hash (as `InputFile::inspect` computes it), once every piece has
    /// been read: NDJSON files are hashed as they are read, not in a pass of their own.
    pub fn content_hash(&self) -> String {
        match self {
            ExportReader::Json(r) => r.hash.finish(),
            ExportReader::Parquet(r) => r.hash.clone(),
        }
    }
}

pub struct JsonReader {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    hash: ContentHash,
    next_line: u64,
    /// The text of the previous chunk, in bytes: the next chunk's buffer starts at about that.
    chunk_bytes: usize,
    done: bool,
}

impl JsonReader {
    fn open(path: &Path) -> Result<Self, Ga4Error> {
        let (reader, hash) = open_hashed(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            hash,
            next_line: 1,
            chunk_bytes: 1 << 20,
            done: false,
        })
    }

    fn next_lines(&mut self) -> Result<Option<Piece>, Ga4Error> {
        if self.done {
            return Ok(None);
        }
        let lines = kura_engine::load::read_lines(
            &mut *self.reader,
            CHUNK_ROWS,
            &mut self.next_line,
            self.chunk_bytes + self.chunk_bytes / 8,
        )
        .map_err(|source| Ga4Error::Io {
            path: self.path.clone(),
            source,
        })?;
        self.chunk_bytes = lines.text.len();
        self.done = lines.at_end;
        if lines.starts.is_empty() {
            return Ok(None);
        }
        Ok(Some(Piece::Lines {
            text: lines.text,
            starts: lines.starts,
        }))
    }
}

fn decoder(schema: &SchemaRef, strict: bool) -> Result<Decoder, arrow::error::ArrowError> {
    ReaderBuilder::new(schema.clone())
        .with_batch_size(CHUNK_ROWS * 2)
        .with_strict_mode(strict)
        // Text columns keep numbers and booleans as written (`stream_id` is a number in some
        // exports, text in others).
        .with_coerce_primitive(true)
        .build_decoder()
}

/// Decodes [`Piece`]s of NDJSON lines into raw rows: the export's columns plus
/// `_unknown_fields`. Each decoding thread has its own.
pub struct ChunkDecoder {
    target: SchemaRef,
    /// The target without `_unknown_fields`: what the JSON decoder fills.
    decoded: SchemaRef,
    strict: Decoder,
    /// The one-pass decoder, tried first on each chunk (`None` for a schema it cannot read).
    fast: Option<Box<LineDecoder>>,
}

impl ChunkDecoder {
    pub fn new(target: SchemaRef) -> Result<Self, Ga4Error> {
        let decoded = Arc::new(Schema::new(
            target
                .fields()
                .iter()
                .filter(|f| f.name() != UNKNOWN_FIELDS)
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let strict = decoder(&decoded, true).map_err(|source| Ga4Error::Arrow {
            context: "preparing the NDJSON decoder".into(),
            source,
        })?;
        let fast = LineDecoder::new(&decoded).map(Box::new);
        Ok(Self {
            target,
            decoded,
            strict,
            fast,
        })
    }

    /// The rows of `piece`, read from the file at `path`.
    pub fn decode(&mut self, path: &Path, piece: Piece) -> Result<RawChunk, Ga4Error> {
        let (buf, starts) = match piece {
            Piece::Rows(chunk) => return Ok(chunk),
            Piece::Lines { text, starts } => (text, starts),
        };
        let arrow_err = |source| Ga4Error::Arrow {
            context: format!("decoding {}", path.display()),
            source,
        };
        let fast = self.fast.as_mut().and_then(|d| d.decode(&buf, &starts));
        if let Some(batch) = fast.or_else(|| decode_all(&mut self.strict, &buf).ok().flatten()) {
            if batch.num_rows() == starts.len() {
                let unknown: ArrayRef = Arc::new(StringArray::new_null(batch.num_rows()));
                let batch = with_unknown(&batch, unknown, &self.target).map_err(arrow_err)?;
                return Ok(RawChunk {
                    batch,
                    lines: starts.iter().map(|(l, _)| *l).collect(),
                    rejected: Vec::new(),
                });
            }
        }
        // Something in this stretch does not fit: go line by line.
        self.strict = decoder(&self.decoded, true).map_err(arrow_err)?;
        self.line_by_line(&buf, &starts).map_err(arrow_err)
    }

    fn line_by_line(
        &self,
        buf: &[u8],
        starts: &[(u64, usize)],
    ) -> Result<RawChunk, arrow::error::ArrowError> {
        let known = export_schema();
        let mut good = Vec::with_capacity(buf.len());
        let mut lines = Vec::new();
        let mut unknown: Vec<Option<String>> = Vec::new();
        let mut rejected = Vec::new();
        for (i, (line_no, start)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(buf.len(), |(_, s)| *s);
            let line = &buf[*start..end];
            let reject = |reason: String| RejectedRow {
                line: *line_no,
                raw: String::from_utf8_lossy(line).trim_end().to_string(),
                reason,
            };
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            let mut object = match serde_json::from_slice::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    rejected.push(reject("the line is not a JSON object".into()));
                    continue;
                }
                Err(e) => {
                    // serde_json places the error within the slice it was given; the file's
                    // line number is the row's own.
                    let message = e.to_string();
                    let message = message
                        .rsplit_once(" at line ")
                        .map_or(message.as_str(), |(m, _)| m);
                    let at = if e.is_eof() {
                        "the line ends early".to_string()
                    } else {
                        format!("at column {}", e.column())
                    };
                    rejected.push(reject(format!("invalid JSON, {at}: {message}")));
                    continue;
                }
            };
            let extra_keys: Vec<String> = object
                .keys()
                .filter(|k| {
                    known.field_with_name(k).is_err() && self.decoded.field_with_name(k).is_err()
                })
                .cloned()
                .collect();
            let mut extra = serde_json::Map::new();
            for k in extra_keys {
                if let Some(v) = object.remove(&k) {
                    extra.insert(k, v);
                }
            }
            let mut text = serde_json::to_vec(&Value::Object(object)).unwrap_or_default();
            text.push(b'\n');
            let mut probe = decoder(&self.decoded, false)?;
            match decode_all(&mut probe, &text) {
                Ok(_) => {
                    good.extend_from_slice(&text);
                    lines.push(*line_no);
                    unknown.push((!extra.is_empty()).then(|| Value::Object(extra).to_string()));
                }
                Err(e) => rejected.push(reject(
                    e.to_string().trim_start_matches("Json error: ").to_string(),
                )),
            }
        }
        let mut lenient = decoder(&self.decoded, false)?;
        let batch = decode_all(&mut lenient, &good)?
            .unwrap_or_else(|| RecordBatch::new_empty(self.decoded.clone()));
        let unknown: ArrayRef = Arc::new(StringArray::from(unknown));
        let batch = with_unknown(&batch, unknown, &self.target)?;
        Ok(RawChunk {
            batch,
            lines,
            rejected,
        })
    }
}

fn with_unknown(
    batch: &RecordBatch,
    unknown: ArrayRef,
    target: &SchemaRef,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut columns = batch.columns().to_vec();
    columns.push(unknown);
    RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

pub struct ParquetReader {
    path: PathBuf,
    /// Hashed on opening: the Parquet reader reads the file in pieces, not front to back.
    hash: String,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    /// Checked after the last row group: one rewritten after the hash would not match it.
    watch: Option<FileWatch>,
    target: SchemaRef,
    next_row: u64,
}

fn parquet_builder(
    path: &Path,
    file: std::fs::File,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder<std::fs::File>, Ga4Error>
{
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| {
        Ga4Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("not a readable Parquet file: {e}")),
        }
    })
}

fn open_file(path: &Path) -> Result<std::fs::File, Ga4Error> {
    std::fs::File::open(path).map_err(|source| Ga4Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl ParquetReader {
    fn open(path: &Path, target: SchemaRef) -> Result<Self, Ga4Error> {
        let io = |source| Ga4Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = open_file(path)?;
        let watch = FileWatch::of(&file).map_err(io)?;
        let hash = content_hash_of(&file).map_err(io)?;
        let reader = parquet_builder(path, file)?
            .with_batch_size(CHUNK_ROWS)
            .build()
            .map_err(|e| Ga4Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            hash,
            reader,
            watch,
            target,
            next_row: 1,
        })
    }

    fn next_chunk(&mut self) -> Result<Option<RawChunk>, Ga4Error> {
        let Some(batch) = self.reader.next() else {
            if let Some(watch) = &self.watch {
                watch.check().map_err(|source| Ga4Error::Io {
                    path: self.path.clone(),
                    source,
                })?;
            }
            return Ok(None);
        };
        let context = || format!("reading {}", self.path.display());
        let batch = batch.map_err(|source| Ga4Error::Arrow {
            context: context(),
            source,
        })?;
        let batch = conform_batch(&batch, &self.target).map_err(|source| Ga4Error::Arrow {
            context: context(),
            source,
        })?;
        let n = batch.num_rows() as u64;
        let lines = (self.next_row..self.next_row + n).collect();
        self.next_row += n;
        Ok(Some(RawChunk {
            batch,
            lines,
            rejected: Vec::new(),
        }))
    }
}

/// The top-level fields of a Parquet export file that the export schema does not have, in
/// the types kura stores: they become columns of the raw table.
pub fn parquet_extra_fields(path: &Path) -> Result<Vec<Field>, Ga4Error> {
    let builder = parquet_builder(path, open_file(path)?)?;
    let schema = kura_engine::load::storable_schema(builder.schema());
    Ok(crate::schema::extra_fields(&schema)
        .into_iter()
        .filter(|f| f.name() != UNKNOWN_FIELDS)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_parquet_export_written_to_while_it_is_read_fails_at_its_end(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("events_20240901.parquet");
        let export = crate::schema::export_schema();
        let mut decoder = ReaderBuilder::new(export.clone()).build_decoder()?;
        decoder.decode(br#"{"event_date": "20240901", "event_name": "page_view"}"#)?;
        let batch = decoder.flush()?.ok_or("no rows")?;
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path)?, export, None)?;
        writer.write(&batch)?;
        writer.close()?;
        let target = read_schema(&[]);
        let read_all = |reader: &mut ExportReader| -> Result<usize, Ga4Error> {
            let mut rows = 0;
            while let Some(piece) = reader.next_piece()? {
                if let Piece::Rows(chunk) = piece {
                    rows += chunk.batch.num_rows();
                }
            }
            Ok(rows)
        };

        let mut untouched = ExportReader::open(&path, FileFormat::Parquet, target.clone())?;
        assert_eq!(read_all(&mut untouched)?, 1);

        // Opened (and hashed), then written to, then read to the end.
        let mut reader = ExportReader::open(&path, FileFormat::Parquet, target)?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)?
            .write_all(b"more")?;
        let err = read_all(&mut reader).err().ok_or("the read succeeded")?;
        let cause = std::error::Error::source(&err).map(|e| e.to_string());
        assert_eq!(
            cause.as_deref(),
            Some(kura_engine::load::FILE_CHANGED),
            "{err}"
        );
        Ok(())
    }
}
