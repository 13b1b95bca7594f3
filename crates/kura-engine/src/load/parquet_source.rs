//! Parquet files: the schema from the footer, batches cast to the target schema.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{new_null_array, ArrayRef};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::source::{Chunk, CHUNK_ROWS};
use crate::error::EngineError;

/// The Arrow schema stored in a Parquet file's footer.
pub fn schema(path: &Path) -> Result<Schema, EngineError> {
    let builder = builder(path)?;
    Ok(builder.schema().as_ref().clone())
}

fn builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, EngineError> {
    let file = File::open(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| EngineError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

/// Streams a Parquet file as batches of the target schema.
pub struct ParquetSource {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    target: SchemaRef,
    bytes_total: u64,
    rows_total: u64,
    rows_read: u64,
}

impl ParquetSource {
    pub fn open(path: &Path, target: SchemaRef) -> Result<Self, EngineError> {
        let builder = builder(path)?;
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
            target,
            bytes_total,
            rows_total,
            rows_read: 0,
        })
    }

    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, EngineError> {
        let Some(batch) = self.reader.next() else {
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
