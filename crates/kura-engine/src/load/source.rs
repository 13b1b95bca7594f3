//! What the loader reads: file formats, decompression, and the chunks every format yields.

use std::fs::{File, Metadata};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::{csv_source::CsvSource, json_source::JsonSource, parquet_source::ParquetSource};
use crate::error::EngineError;

/// Rows per batch handed to the Delta writer: large enough to amortise per-batch work, small
/// enough that memory stays flat on big files.
pub const CHUNK_ROWS: usize = 65_536;

/// A file format kura loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Tsv,
    Ndjson,
    Parquet,
}

impl FileFormat {
    /// From the file name: `.csv`, `.tsv`, `.json`/`.jsonl`/`.ndjson`, `.parquet`, each
    /// optionally `.gz`. GA4-style names without extension are newline-delimited JSON only when
    /// asked for with `--format`.
    pub fn detect(path: &Path) -> Option<FileFormat> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        Some(match ext {
            "csv" => FileFormat::Csv,
            "tsv" | "tab" => FileFormat::Tsv,
            "json" | "jsonl" | "ndjson" => FileFormat::Ndjson,
            "parquet" | "pq" => FileFormat::Parquet,
            _ => return None,
        })
    }

    pub fn parse(name: &str) -> Option<FileFormat> {
        Some(match name.to_ascii_lowercase().as_str() {
            "csv" => FileFormat::Csv,
            "tsv" => FileFormat::Tsv,
            "json" | "jsonl" | "ndjson" => FileFormat::Ndjson,
            "parquet" => FileFormat::Parquet,
            _ => return None,
        })
    }
}

/// A row that could not be read, kept with where it was and why.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub line: u64,
    pub raw: String,
    pub reason: String,
}

/// A batch of converted rows and the rows of the same stretch that were rejected.
pub struct Chunk {
    pub batch: RecordBatch,
    pub rejected: Vec<RejectedRow>,
    /// Bytes of the (decompressed) input consumed so far, for progress.
    pub bytes_read: u64,
}

/// Opens a file for reading, decompressing `.gz` transparently, with a 1 MiB buffer. It is a
/// `BufRead` so that line readers use that buffer rather than copying through one of their
/// own.
pub fn open_decompressed(path: &Path) -> Result<Box<dyn BufRead + Send>, EngineError> {
    open_decompressed_since(path, None)
}

/// Like [`open_decompressed`], for a file inspected before: it fails with [`FILE_CHANGED`]
/// when the file is no longer the one [`InputFile::inspect`] hashed.
pub(crate) fn open_decompressed_since(
    path: &Path,
    inspected: Option<FileStamp>,
) -> Result<Box<dyn BufRead + Send>, EngineError> {
    Ok(decompressed(open_file(path, inspected)?, path))
}

/// Like [`open_decompressed`], and hashes the file's bytes as they are read: once the reader
/// has reached the end, [`ContentHash::finish`] gives the hash [`InputFile::inspect`] would
/// have, without reading the file a second time.
pub fn open_hashed(path: &Path) -> Result<(Box<dyn BufRead + Send>, ContentHash), EngineError> {
    let hash = ContentHash::default();
    let reader = HashingReader {
        inner: open_file(path, None)?,
        hash: hash.clone(),
    };
    Ok((decompressed(reader, path), hash))
}

fn open_file(path: &Path, inspected: Option<FileStamp>) -> Result<WatchedFile, EngineError> {
    let io = |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let watch = FileWatch::since(&file, inspected).map_err(io)?;
    Ok(WatchedFile { file, watch })
}

/// What the reader of a file that was written to while it was read says: the rows read may
/// be half of one version and half of another, so the load must not commit them.
pub const FILE_CHANGED: &str =
    "the file changed while it was being loaded; nothing was written, load it again once it is complete";

/// A regular file's identity, size and modification time, to tell whether it was written
/// to, or replaced by another file, since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    /// Device and inode: a file renamed over the path is another file.
    id: (u64, u64),
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(meta: &Metadata) -> Self {
        Self {
            id: file_id(meta),
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

#[cfg(unix)]
fn file_id(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_id(_: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// An open input file's size and modification time as they were when it was opened, to
/// tell at its end whether it was written to while it was read (an export job or a copy
/// still writing it). Planning's content hash cannot catch this on a first load: there is
/// nothing to compare it with.
///
/// It watches the open file, not the path: a file renamed over the path is a new file, and
/// the one being read is still whole.
pub struct FileWatch {
    file: File,
    opened: FileStamp,
}

impl FileWatch {
    /// Starts watching `file`; `None` for anything but a regular file (a pipe's size and
    /// time do not say whether it was written to).
    pub fn of(file: &File) -> std::io::Result<Option<Self>> {
        Self::since(file, None)
    }

    /// Like [`FileWatch::of`], for a file inspected before: fails with [`FILE_CHANGED`] when
    /// `file` is not the one `inspected` describes, or was written to since.
    pub(crate) fn since(
        file: &File,
        inspected: Option<FileStamp>,
    ) -> std::io::Result<Option<Self>> {
        let meta = file.metadata()?;
        let opened = meta.is_file().then(|| FileStamp::of(&meta));
        if inspected.is_some() && opened != inspected {
            return Err(std::io::Error::other(FILE_CHANGED));
        }
        let Some(opened) = opened else {
            return Ok(None);
        };
        Ok(Some(Self {
            file: file.try_clone()?,
            opened,
        }))
    }

    /// Fails with [`FILE_CHANGED`] when the file's size or modification time is no longer
    /// what it was when it was opened.
    pub fn check(&self) -> std::io::Result<()> {
        if FileStamp::of(&self.file.metadata()?) != self.opened {
            return Err(std::io::Error::other(FILE_CHANGED));
        }
        Ok(())
    }
}

/// A file that, on reaching its end, fails with [`FILE_CHANGED`] when it was written to
/// while it was read.
struct WatchedFile {
    file: File,
    watch: Option<FileWatch>,
}

impl Read for WatchedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if let Some(watch) = &self.watch {
                watch.check()?;
            }
        }
        Ok(n)
    }
}

fn decompressed(reader: impl Read + Send + 'static, path: &Path) -> Box<dyn BufRead + Send> {
    let reader = BufReader::with_capacity(1 << 20, reader);
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(reader),
        ))
    } else {
        Box::new(reader)
    }
}

/// The BLAKE3 hash of the bytes a reader from [`open_hashed`] has read so far.
#[derive(Clone, Default)]
pub struct ContentHash(Arc<std::sync::Mutex<blake3::Hasher>>);

impl ContentHash {
    /// The hash in hex, as [`InputFile::content_hash`] holds it.
    pub fn finish(&self) -> String {
        match self.0.lock() {
            Ok(hasher) => hasher.finalize().to_hex().to_string(),
            Err(poisoned) => poisoned.into_inner().finalize().to_hex().to_string(),
        }
    }
}

struct HashingReader<R> {
    inner: R,
    hash: ContentHash,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut hasher = match self.hash.0.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The schema a file brings, inferred from its content (CSV, JSON) or read from its footer
/// (Parquet), in the types kura stores.
pub fn file_schema(path: &Path, format: FileFormat) -> Result<Schema, EngineError> {
    match format {
        FileFormat::Csv => super::csv_source::infer(path, b','),
        FileFormat::Tsv => super::csv_source::infer(path, b'\t'),
        FileFormat::Ndjson => super::json_source::infer(path),
        FileFormat::Parquet => super::parquet_source::schema(path).map(|s| storable_schema(&s)),
    }
}

/// A file being converted into batches of the target schema.
pub enum FileSource {
    Csv(CsvSource),
    Json(JsonSource),
    Parquet(ParquetSource),
}

impl FileSource {
    /// Opens an inspected file for conversion into `target`. It fails with [`FILE_CHANGED`]
    /// when the file is no longer the one inspected (written to, or replaced), so the rows
    /// loaded are always those of the content hash the load records.
    pub fn open(input: &InputFile, target: SchemaRef) -> Result<Self, EngineError> {
        let (path, since) = (input.path.as_path(), input.stamp);
        Ok(match input.format {
            FileFormat::Csv => FileSource::Csv(CsvSource::open(path, b',', target, since)?),
            FileFormat::Tsv => FileSource::Csv(CsvSource::open(path, b'\t', target, since)?),
            FileFormat::Ndjson => FileSource::Json(JsonSource::open(path, target, since)?),
            FileFormat::Parquet => FileSource::Parquet(ParquetSource::open(path, target, since)?),
        })
    }

    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, EngineError> {
        match self {
            FileSource::Csv(s) => s.next_chunk(),
            FileSource::Json(s) => s.next_chunk(),
            FileSource::Parquet(s) => s.next_chunk(),
        }
    }
}

/// Maps an Arrow schema onto the types Delta stores: microsecond timestamps (UTC when zoned),
/// signed integers, plain strings and binaries, no dictionaries, every column nullable.
pub fn storable_schema(schema: &Schema) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| storable_field(f))
            .collect::<Vec<_>>(),
    )
}

fn storable_field(f: &Field) -> Field {
    Field::new(f.name(), storable_type(f.data_type()), true)
}

pub fn storable_type(dt: &DataType) -> DataType {
    match dt {
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16 => DataType::Float32,
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary | DataType::FixedSizeBinary(_) => {
            DataType::Binary
        }
        DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Timestamp(_, Some(_)) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        DataType::Time32(_) | DataType::Time64(_) | DataType::Null => DataType::Utf8,
        DataType::Dictionary(_, v) => storable_type(v),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => DataType::List(
            Arc::new(Field::new("element", storable_type(f.data_type()), true)),
        ),
        DataType::Struct(fields) => DataType::Struct(Fields::from(
            fields.iter().map(|f| storable_field(f)).collect::<Vec<_>>(),
        )),
        other => other.clone(),
    }
}

/// Whether values of `incoming` convert to `existing` without loss, so a file may be loaded
/// into a column of that type.
pub fn converts_losslessly(incoming: &DataType, existing: &DataType) -> bool {
    use DataType::*;
    if incoming == existing || matches!(incoming, Null) {
        return true;
    }
    match (incoming, existing) {
        (Int8, Int16 | Int32 | Int64) | (Int16, Int32 | Int64) | (Int32, Int64) => true,
        (Int8 | Int16 | Int32 | Int64, Float64) | (Float32, Float64) => true,
        (Int8 | Int16 | Int32 | Int64, Decimal128(..)) => true,
        (Date32, Timestamp(_, None)) => true,
        (List(a), List(b)) => converts_losslessly(a.data_type(), b.data_type()),
        (Struct(a), Struct(b)) => a.iter().all(|fa| {
            b.iter()
                .find(|fb| fb.name() == fa.name())
                .is_none_or(|fb| converts_losslessly(fa.data_type(), fb.data_type()))
        }),
        // Every scalar has a text form; loading it into a STRING column keeps it as written.
        (_, Utf8) => !matches!(incoming, List(_) | Struct(_) | Map(..)),
        _ => false,
    }
}

/// The input of one load: a file, its format and what identifies its content.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: FileFormat,
    pub size: u64,
    /// BLAKE3 of the file's bytes: the identity used to skip a reload.
    pub content_hash: String,
    /// The file as it was hashed (`None` for a pipe).
    stamp: Option<FileStamp>,
}

impl InputFile {
    /// Reads a file's size and content hash.
    pub fn inspect(path: &Path, format: FileFormat) -> Result<Self, EngineError> {
        let io = |source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let watch = FileWatch::of(&file).map_err(io)?;
        let content_hash = content_hash_of(&file).map_err(io)?;
        if let Some(watch) = &watch {
            watch.check().map_err(io)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            format,
            size,
            content_hash,
            stamp: watch.map(|w| w.opened),
        })
    }
}

/// The content hash of an open file, read from its current position to its end (from its
/// start when it was just opened). A pipe can only be read once, so this does not seek.
pub fn content_hash_of(mut file: &File) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(&mut file)?;
    Ok(hasher.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_written_to_while_it_is_read_fails_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.json");
        std::fs::write(&path, "{\"id\": 1}\n").unwrap();

        let mut text = String::new();
        open_decompressed(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"id\": 1}\n");

        // Opened, then appended to (a copy still in progress), then read to the end.
        let mut reader = open_decompressed(&path).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"id\": 2}\n").unwrap();
        let err = reader.read_to_string(&mut text).unwrap_err();
        assert_eq!(err.to_string(), FILE_CHANGED);

        // The same through the hashing reader GA4 loads use.
        let (mut reader, _) = open_hashed(&path).unwrap();
        file.write_all(b"{\"id\": 3}\n").unwrap();
        assert_eq!(
            reader.read_to_end(&mut Vec::new()).unwrap_err().to_string(),
            FILE_CHANGED
        );
    }

    fn first_chunk(input: &InputFile) -> Result<usize, EngineError> {
        let target = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
        let mut source = FileSource::open(input, target)?;
        let mut rows = 0;
        while let Some(chunk) = source.next_chunk()? {
            rows += chunk.batch.num_rows();
        }
        Ok(rows)
    }

    fn changed(err: EngineError) -> bool {
        std::error::Error::source(&err).is_some_and(|e| e.to_string() == FILE_CHANGED)
    }

    #[test]
    fn a_file_that_is_not_the_one_inspected_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        for (name, format) in [
            ("orders.json", FileFormat::Ndjson),
            ("orders.csv", FileFormat::Csv),
        ] {
            let path = dir.path().join(name);
            let text = |ids: &str| match format {
                FileFormat::Csv => format!("id\n{ids}\n"),
                _ => format!("{{\"id\": {ids}}}\n"),
            };
            std::fs::write(&path, text("1")).unwrap();
            let inspected = InputFile::inspect(&path, format).unwrap();
            assert_eq!(first_chunk(&inspected).unwrap(), 1, "{name}");

            // Written to between planning's hash and the read: the rows would not be the
            // content the load log records.
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap()
                .write_all(text("2").as_bytes())
                .unwrap();
            assert!(changed(first_chunk(&inspected).unwrap_err()), "{name}");

            // Replaced by another file of the same size, as a copy tool's rename does.
            let inspected = InputFile::inspect(&path, format).unwrap();
            let other = dir.path().join("incoming");
            std::fs::write(&other, std::fs::read(&path).unwrap()).unwrap();
            std::fs::rename(&other, &path).unwrap();
            assert!(changed(first_chunk(&inspected).unwrap_err()), "{name}");
        }
    }
}
