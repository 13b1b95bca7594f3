//! The bridge from file conversion (blocking, CPU-bound) to the Delta writer (async): a
//! producer thread sends batches through a bounded channel that DataFusion reads as a
//! streaming table, so a load of any size holds only a few chunks in memory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;

use super::source::{FileSource, InputFile, RejectedRow};
use super::{first_rejected, LoadReporter};
use crate::error::EngineError;

/// Converts the files of one load and counts what it keeps and rejects.
pub struct Producer {
    pub files: Vec<InputFile>,
    pub target: SchemaRef,
    pub max_bad_rows: u64,
    pub rejected: Arc<Mutex<Vec<(PathBuf, RejectedRow)>>>,
    pub rows_per_file: Arc<Mutex<BTreeMap<PathBuf, u64>>>,
    pub reporter: Arc<dyn LoadReporter>,
    /// The error that stopped conversion, for the caller to report as it is.
    pub failure: Arc<Mutex<Option<EngineError>>>,
}

impl Producer {
    /// Runs on a blocking thread; returns early when the receiver is gone.
    fn run(self, tx: BatchSender) {
        if let Err(e) = self.convert(&tx) {
            let message = e.to_string();
            if let Ok(mut f) = self.failure.lock() {
                *f = Some(e);
            }
            let _ = tx.blocking_send(Err(DataFusionError::Execution(message)));
        }
    }

    fn convert(
        &self,
        tx: &tokio::sync::mpsc::Sender<Result<RecordBatch, DataFusionError>>,
    ) -> Result<(), EngineError> {
        let mut bytes_done = 0u64;
        let mut bad = 0u64;
        for input in &self.files {
            let mut source = FileSource::open(input, self.target.clone())?;
            let mut rows = 0u64;
            let mut last_bytes = 0u64;
            while let Some(chunk) = source.next_chunk()? {
                if !chunk.rejected.is_empty() {
                    bad += chunk.rejected.len() as u64;
                    let mut all = self.rejected.lock().expect("no panics while held");
                    if self.max_bad_rows == 0 {
                        let row = &chunk.rejected[0];
                        return Err(EngineError::BadRow {
                            file: input.path.clone(),
                            line: row.line,
                            reason: row.reason.clone(),
                        });
                    }
                    all.extend(chunk.rejected.into_iter().map(|r| (input.path.clone(), r)));
                    if bad > self.max_bad_rows {
                        let (path, row) = &all[0];
                        return Err(EngineError::TooManyBadRows {
                            count: bad,
                            max: self.max_bad_rows,
                            first: Box::new(first_rejected(path, row)),
                        });
                    }
                }
                let n = chunk.batch.num_rows() as u64;
                rows += n;
                // Compressed files report decompressed bytes; progress is by share of the file.
                let advanced = chunk.bytes_read.min(input.size).saturating_sub(last_bytes);
                last_bytes += advanced;
                bytes_done += advanced;
                self.reporter.progress(n, bytes_done);
                if n > 0 && tx.blocking_send(Ok(chunk.batch)).is_err() {
                    return Ok(());
                }
            }
            self.rows_per_file
                .lock()
                .expect("no panics while held")
                .insert(input.path.clone(), rows);
        }
        Ok(())
    }
}

/// Where a blocking producer sends its batches; a failed send means the writer is gone.
pub type BatchSender = tokio::sync::mpsc::Sender<Result<RecordBatch, DataFusionError>>;

type ProduceFn = Box<dyn FnOnce(BatchSender) + Send>;

/// One partition whose stream is the producer's output; it can be executed once.
struct ProducerStream {
    schema: SchemaRef,
    producer: Mutex<Option<ProduceFn>>,
}

impl std::fmt::Debug for ProducerStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PartitionStream for ProducerStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        match self.producer.lock().ok().and_then(|mut p| p.take()) {
            Some(produce) => {
                tokio::task::spawn_blocking(move || produce(tx));
            }
            None => {
                let _ = tx.try_send(Err(DataFusionError::Internal(
                    "a load's input stream was executed twice".into(),
                )));
            }
        }
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

/// A logical plan that scans the producer's output.
pub fn plan(producer: Producer, schema: SchemaRef) -> Result<LogicalPlan, EngineError> {
    blocking_stream_plan(schema, move |tx| producer.run(tx))
}

/// A logical plan whose single partition is the batches `produce` sends from a blocking
/// thread, through a channel of four batches: a Delta write of this plan holds only a few
/// batches in memory however much the producer reads. `produce` runs when the plan executes.
pub fn blocking_stream_plan(
    schema: SchemaRef,
    produce: impl FnOnce(BatchSender) + Send + 'static,
) -> Result<LogicalPlan, EngineError> {
    let partition = Arc::new(ProducerStream {
        schema: schema.clone(),
        producer: Mutex::new(Some(Box::new(produce))),
    });
    let table = StreamingTable::try_new(schema, vec![partition]).map_err(EngineError::Query)?;
    LogicalPlanBuilder::scan("kura_load", provider_as_source(Arc::new(table)), None)
        .and_then(LogicalPlanBuilder::build)
        .map_err(EngineError::Query)
}
