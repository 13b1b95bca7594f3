//! Parquet files: the schema from the footer, batches cast to the target schema.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{new_null_array, ArrayRef};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::source::{Chunk, FileStamp, FileWatch, CHUNK_ROWS};
use crate::error::EngineError;

/// The Arrow schema stored in a Parquet file's footer.
pub fn schema(path: &Path) -> Result<Schema, EngineError> {
    let builder = builder(path, open(path)?)?;
    Ok(builder.schema().as_ref().clone())
}

fn open(path: &Path) -> Result<File, EngineError> {
    File::open(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn builder(path: &Path, file: File) -> Result<ParquetRecordBatchReaderBuilder<File>, EngineError> {
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| EngineError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

/// Streams a Parquet file as batches of the target schema.
pub struct ParquetSource {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    /// Checked when the last batch has been read: a Parquet file is read by its footer's
    /// offsets, so one rewritten underneath would mix two versions' row groups.
    watch: Option<FileWatch>,
    target: SchemaRef,
    bytes_total: u64,
    rows_total: u64,
    rows_read: u64,
}

impl ParquetSource {
    pub(crate) fn open(
        path: &Path,
        target: SchemaRef,
        inspected: Option<FileStamp>,
    ) -> Result<Self, EngineError> {
        let file = open(path)?;
        let watch = FileWatch::since(&file, inspected).map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let builder = builder(path, file)?;
        let rows_total = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let bytes_total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let reader = builder
            .with_batch_size(CHUNK_ROWS)
            .build()
            .map_err(|source| EngineError::Parquet {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            watch,
            target,
            bytes_total,
            rows_total,
            rows_read: 0,
        })
    }

    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, EngineError> {
        let Some(batch) = self.reader.next() else {
            if let Some(watch) = &self.watch {
                watch.check().map_err(|source| EngineError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            }
            return Ok(None);
        };
        let batch = batch.map_err(|source| EngineError::Arrow {
            context: format!("reading {}", self.path.display()),
            source,
        })?;
        self.rows_read += batch.num_rows() as u64;
        let batch = conform(&batch, &self.target).map_err(|source| EngineError::Arrow {
            context: format!("converting {}", self.path.display()),
            source,
        })?;
        let bytes_read = (self.bytes_total * self.rows_read)
            .checked_div(self.rows_total)
            .unwrap_or(self.bytes_total);
        Ok(Some(Chunk {
            batch,
            rejected: Vec::new(),
            bytes_read,
        }))
    }
}

/// Reorders, casts and fills a batch to match `target` by column name.
pub fn conform(
    batch: &RecordBatch,
    target: &SchemaRef,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let columns = target
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(col) if col.data_type() == f.data_type() => Ok(col.clone()),
            Some(col) => arrow::compute::cast(col, f.data_type()),
            None => Ok(new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field};
    use parquet::arrow::ArrowWriter;

    use super::*;
    use crate::load::FILE_CHANGED;

    fn write_ids(path: &Path, ids: Vec<i64>) -> SchemaRef {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(ids))]).unwrap();
        let mut writer =
            ArrowWriter::try_new(File::create(path).unwrap(), schema.clone(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        schema
    }

    fn read_all(source: &mut ParquetSource) -> Result<usize, EngineError> {
        let mut rows = 0;
        while let Some(chunk) = source.next_chunk()? {
            rows += chunk.batch.num_rows();
        }
        Ok(rows)
    }

    #[test]
    fn a_parquet_file_written_to_while_it_is_read_fails_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.parquet");
        let schema = write_ids(&path, (0..10).collect());

        let mut untouched = ParquetSource::open(&path, schema.clone(), None).unwrap();
        assert_eq!(read_all(&mut untouched).unwrap(), 10);

        // Opened (its footer read), then written to, then read to the end.
        let mut source = ParquetSource::open(&path, schema, None).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"more")
            .unwrap();
        let err = read_all(&mut source).unwrap_err();
        assert!(err.to_string().contains("orders.parquet"), "{err}");
        let cause = std::error::Error::source(&err).map(|e| e.to_string());
        assert_eq!(cause.as_deref(), Some(FILE_CHANGED));
    }
}
