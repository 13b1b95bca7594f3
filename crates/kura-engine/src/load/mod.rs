//! Loading files into warehouse tables: atomic, idempotent per file, nothing dropped silently.
//!
//! A load runs in three steps:
//! 1. *Inspect*: hash each file (its identity for skipping a reload) and find its schema,
//!    inferred from every value or read from the Parquet footer, or given with `--schema`.
//! 2. *Resolve*: merge the files' schemas with the table's. A new column is added (Delta
//!    schema evolution) and reported; a column whose type cannot be converted without loss is
//!    a [`EngineError::TypeConflict`] before anything is written.
//! 3. *Write*: a producer thread converts the files chunk by chunk and streams the batches
//!    into one Delta write, which commits once at the end. Killed before that commit, the
//!    table stays at its previous version; the orphaned Parquet files are never referenced.
//!
//! Each committed file is recorded in `_kura.load_log`, and the Delta commit itself carries
//! the file hashes (`kura.load` in its commit info), so a crash between the data commit and the
//! log commit is repaired on the next load instead of loading the file twice.

mod bq_schema;
mod csv_source;
mod json_source;
mod load_log;
mod parquet_source;
mod source;
mod stream;
mod text_value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::datatypes::{Field, Schema, SchemaRef};
use chrono::Utc;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;

pub use bq_schema::{bigquery_type_name, parse_schema, read_schema_file};
pub use json_source::{decode_all, read_lines, Lines};
pub use load_log::{write_rejected, LoadLogEntry};
pub use source::{
    content_hash_of, open_decompressed, open_hashed, storable_schema, Chunk, ContentHash,
    FileFormat, FileSource, FileWatch, InputFile, RejectedRow, CHUNK_ROWS, FILE_CHANGED,
};

use crate::access::Access;
use crate::error::{EngineError, RejectedRowSummary};
use crate::query_log::{QueryLogEntry, QueryStatus};
use crate::store::TableName;
use crate::warehouse::Warehouse;
use source::converts_losslessly;

/// Append to the table, or replace its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    Append,
    Replace,
}

impl LoadMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMode::Append => "append",
            LoadMode::Replace => "replace",
        }
    }
}

/// What to load, where, and how.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    pub paths: Vec<PathBuf>,
    pub table: TableName,
    pub mode: LoadMode,
    /// Columns and types, instead of inference (BigQuery JSON schema).
    pub schema: Option<Schema>,
    pub partition_by: Vec<String>,
    /// Rows that fail to parse are kept in `TABLE__rejected` up to this many; above it the
    /// load fails and nothing is written.
    pub max_bad_rows: u64,
    /// Load files even when the load log says they are already in the table.
    pub force: bool,
    /// Overrides format detection from the file name.
    pub format: Option<FileFormat>,
}

impl LoadRequest {
    pub fn new(paths: Vec<PathBuf>, table: TableName) -> Self {
        Self {
            paths,
            table,
            mode: LoadMode::Append,
            schema: None,
            partition_by: Vec::new(),
            max_bad_rows: 0,
            force: false,
            format: None,
        }
    }
}

/// Progress of a load, for a progress bar. Libraries never draw; the binary implements this.
pub trait LoadReporter: Send + Sync {
    /// Conversion of the input started: `total_bytes` over every file to be loaded.
    fn started(&self, _total_bytes: u64) {}
    /// More rows were converted.
    fn progress(&self, _rows: u64, _bytes: u64) {}
}

/// A reporter that reports nothing.
pub struct NoProgress;
impl LoadReporter for NoProgress {}

/// What happened to one file.
#[derive(Debug, Clone)]
pub enum FileStatus {
    Loaded {
        rows: u64,
        rejected: u64,
    },
    /// Already in the table at this version; nothing done.
    Skipped {
        table_version: u64,
    },
}

#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub status: FileStatus,
}

/// What a load did.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    pub load_id: String,
    pub table: TableName,
    pub files: Vec<FileOutcome>,
    /// The table version the load committed, `None` when every file was skipped.
    pub version: Option<u64>,
    pub rows: u64,
    pub rejected: u64,
    /// Columns added to the table by this load, with their BigQuery types.
    pub new_columns: Vec<(String, String)>,
    pub elapsed: std::time::Duration,
}

impl Warehouse {
    /// Loads files into a table as `principal`. See the module docs for the guarantees.
    ///
    /// # Errors
    /// [`EngineError::AccessDenied`] without a write grant (recorded in the query log),
    /// [`EngineError::BadRow`] / [`EngineError::TooManyBadRows`] for unparsable rows,
    /// [`EngineError::TypeConflict`], [`EngineError::PartitionMismatch`], and I/O and Delta
    /// errors. On any error nothing is committed.
    pub async fn load(
        &self,
        request: &LoadRequest,
        principal: &str,
        reporter: Arc<dyn LoadReporter>,
    ) -> Result<LoadOutcome, EngineError> {
        let started = Instant::now();
        let start_time = Utc::now();
        let statement = format!(
            "LOAD {} INTO {} ({})",
            request
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            request.table,
            request.mode.as_str()
        );
        self.authorize(
            principal,
            &request.table.dataset,
            Access::Write,
            &statement,
            "LOAD",
        )
        .await?;
        let result = self
            .load_authorized(request, principal, reporter, started)
            .await;
        let (status, error, rows) = match &result {
            Ok(o) => (QueryStatus::Ok, None, o.rows),
            Err(e) => (QueryStatus::Error, Some(e.to_string()), 0),
        };
        self.record(QueryLogEntry {
            query_id: result
                .as_ref()
                .map(|o| o.load_id.clone())
                .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string()),
            principal: principal.to_string(),
            labels: Vec::new(),
            statement,
            statement_type: "LOAD".into(),
            start_time,
            duration_ms: started.elapsed().as_millis() as i64,
            bytes_scanned: 0,
            tables: Vec::new(),
            rows,
            status,
            error,
        })
        .await?;
        result
    }

    async fn load_authorized(
        &self,
        request: &LoadRequest,
        principal: &str,
        reporter: Arc<dyn LoadReporter>,
        started: Instant,
    ) -> Result<LoadOutcome, EngineError> {
        let load_id = uuid::Uuid::new_v4().to_string();
        let name = &request.table;

        // 1. Inspect.
        let mut inputs = Vec::new();
        for path in &request.paths {
            let format = match request.format.or_else(|| FileFormat::detect(path)) {
                Some(f) => f,
                None => return Err(EngineError::UnknownFormat { path: path.clone() }),
            };
            inputs.push(InputFile::inspect(path, format)?);
        }

        let existing = self.store().open(name).await?;
        let history = load_log::history(self, name, existing.as_ref()).await?;
        let mut outcomes = Vec::new();
        let to_load: Vec<InputFile> = if request.force {
            inputs
        } else {
            match request.mode {
                LoadMode::Append => {
                    let mut fresh = Vec::new();
                    for input in inputs {
                        match history.present.get(&input.content_hash) {
                            Some(version) => outcomes.push(FileOutcome {
                                path: input.path.clone(),
                                status: FileStatus::Skipped {
                                    table_version: *version,
                                },
                            }),
                            None => fresh.push(input),
                        }
                    }
                    fresh
                }
                LoadMode::Replace => {
                    // Replacing with exactly what the table already holds changes nothing.
                    let same = inputs.len() == history.present.len()
                        && inputs
                            .iter()
                            .all(|i| history.present.contains_key(&i.content_hash));
                    if same && !inputs.is_empty() {
                        for input in &inputs {
                            outcomes.push(FileOutcome {
                                path: input.path.clone(),
                                status: FileStatus::Skipped {
                                    table_version: history.present[&input.content_hash],
                                },
                            });
                        }
                        Vec::new()
                    } else {
                        inputs
                    }
                }
            }
        };
        if to_load.is_empty() {
            return Ok(LoadOutcome {
                load_id,
                table: name.clone(),
                files: outcomes,
                version: None,
                rows: 0,
                rejected: 0,
                new_columns: Vec::new(),
                elapsed: started.elapsed(),
            });
        }

        // 2. Resolve the schema.
        let table_schema = match (&existing, request.mode) {
            (Some(t), LoadMode::Append) => Some(
                t.snapshot()
                    .map_err(|source| EngineError::Delta {
                        table: name.to_string(),
                        source,
                    })?
                    .snapshot()
                    .arrow_schema(),
            ),
            _ => None,
        };
        let partition_by = resolve_partitioning(request, existing.as_ref())?;
        let mut target: Vec<Field> = table_schema
            .as_ref()
            .map(|s| s.fields().iter().map(|f| f.as_ref().clone()).collect())
            .unwrap_or_default();
        let table_columns = target.len();
        for input in &to_load {
            let file_schema = match &request.schema {
                Some(s) => storable_schema(s),
                None => source::file_schema(&input.path, input.format)?,
            };
            merge_into(&mut target, table_columns, &file_schema, name, &input.path)?;
        }
        for col in &partition_by {
            if !target.iter().any(|f| f.name() == col) {
                return Err(EngineError::InvalidName {
                    name: col.clone(),
                    reason: format!("--partition-by names a column that `{name}` does not have"),
                });
            }
        }
        let new_columns: Vec<(String, String)> = if table_schema.is_some() {
            target[table_columns..]
                .iter()
                .map(|f| (f.name().clone(), bigquery_type_name(f.data_type())))
                .collect()
        } else {
            Vec::new()
        };
        let target: SchemaRef = Arc::new(Schema::new(target));

        // 3. Write: convert in a producer thread, stream into one Delta commit.
        reporter.started(to_load.iter().map(|i| i.size).sum());
        let rejected: Arc<Mutex<Vec<(PathBuf, RejectedRow)>>> = Arc::default();
        let failure: Arc<Mutex<Option<EngineError>>> = Arc::default();
        let counts: Arc<Mutex<BTreeMap<PathBuf, u64>>> = Arc::default();
        let producer = stream::Producer {
            files: to_load.clone(),
            target: target.clone(),
            max_bad_rows: request.max_bad_rows,
            rejected: rejected.clone(),
            rows_per_file: counts.clone(),
            reporter: reporter.clone(),
            failure: failure.clone(),
        };
        let plan = stream::plan(producer, target.clone())?;

        let commit_info = serde_json::json!({
            "load_id": load_id,
            "mode": request.mode.as_str(),
            "files": to_load.iter().map(|i| serde_json::json!({
                "path": i.path.display().to_string(),
                "content_hash": i.content_hash,
                "size": i.size,
            })).collect::<Vec<_>>(),
        });
        let table = self.store().open_or_new(name).await?;
        let mut builder = table
            .write(Vec::new())
            .with_input_plan(plan)
            .with_save_mode(match request.mode {
                LoadMode::Append => SaveMode::Append,
                LoadMode::Replace => SaveMode::Overwrite,
            })
            .with_commit_properties(
                CommitProperties::default().with_metadata([("kura.load".to_string(), commit_info)]),
            );
        if request.mode == LoadMode::Replace {
            builder = builder.with_schema_mode(SchemaMode::Overwrite);
        } else if !new_columns.is_empty() {
            builder = builder.with_schema_mode(SchemaMode::Merge);
        }
        let storage = &self.project().config().storage;
        builder = builder
            .with_target_file_size(std::num::NonZeroU64::new(
                storage.target_file_mib.max(1) << 20,
            ))
            .with_writer_properties(storage.writer_properties());
        if !partition_by.is_empty() {
            builder = builder.with_partition_columns(partition_by.clone());
        }
        let committed = match builder.await {
            Ok(t) => t,
            Err(source) => {
                // A failure inside the conversion travels through Delta as an opaque error;
                // the producer kept the real one.
                if let Some(e) = failure.lock().ok().and_then(|mut f| f.take()) {
                    return Err(e);
                }
                return Err(EngineError::Delta {
                    table: name.to_string(),
                    source,
                });
            }
        };
        let version = committed.version().unwrap_or(0) as u64;

        // 4. Record: rejected rows, then the load log.
        let rejected = std::mem::take(&mut *rejected.lock().expect("producer finished"));
        let counts = std::mem::take(&mut *counts.lock().expect("producer finished"));
        if !rejected.is_empty() {
            load_log::write_rejected(self, name, &load_id, &rejected).await?;
        }
        let now = Utc::now();
        let mut entries = Vec::new();
        for input in &to_load {
            let rows = counts.get(&input.path).copied().unwrap_or(0);
            let bad = rejected.iter().filter(|(p, _)| *p == input.path).count() as u64;
            entries.push(LoadLogEntry {
                load_id: load_id.clone(),
                table: name.to_string(),
                path: input.path.display().to_string(),
                size: input.size,
                content_hash: input.content_hash.clone(),
                table_version: version,
                rows,
                rejected_rows: bad,
                mode: request.mode.as_str().to_string(),
                principal: principal.to_string(),
                loaded_at: now,
            });
            outcomes.push(FileOutcome {
                path: input.path.clone(),
                status: FileStatus::Loaded {
                    rows,
                    rejected: bad,
                },
            });
        }
        load_log::append(self, &entries).await?;
        Ok(LoadOutcome {
            load_id,
            table: name.clone(),
            files: outcomes,
            version: Some(version),
            rows: entries.iter().map(|e| e.rows).sum(),
            rejected: rejected.len() as u64,
            new_columns,
            elapsed: started.elapsed(),
        })
    }
}

/// Partition columns: given on creation, or must agree with the existing table's.
fn resolve_partitioning(
    request: &LoadRequest,
    existing: Option<&deltalake::DeltaTable>,
) -> Result<Vec<String>, EngineError> {
    let current = match existing.and_then(|t| t.snapshot().ok()) {
        Some(state) if request.mode == LoadMode::Append => {
            state.metadata().partition_columns().to_vec()
        }
        _ => return Ok(request.partition_by.clone()),
    };
    if !request.partition_by.is_empty() && request.partition_by != current {
        return Err(EngineError::PartitionMismatch {
            table: request.table.to_string(),
            existing: current.join(", "),
            requested: request.partition_by.join(", "),
        });
    }
    Ok(current)
}

/// Adds a file's columns to the target: new names are appended; a name already present keeps
/// its type if the file's type converts without loss, widens if the column is new in this load
/// and both are inferred, and is a conflict otherwise.
fn merge_into(
    target: &mut Vec<Field>,
    table_columns: usize,
    file: &Schema,
    table: &TableName,
    path: &Path,
) -> Result<(), EngineError> {
    for f in file.fields() {
        match target.iter().position(|t| t.name() == f.name()) {
            None => target.push(Field::new(f.name(), f.data_type().clone(), true)),
            Some(i) => {
                let existing = target[i].data_type().clone();
                if converts_losslessly(f.data_type(), &existing) {
                    continue;
                }
                if i >= table_columns && converts_losslessly(&existing, f.data_type()) {
                    target[i] = Field::new(f.name(), f.data_type().clone(), true);
                    continue;
                }
                return Err(EngineError::TypeConflict {
                    table: table.to_string(),
                    column: f.name().clone(),
                    existing: bigquery_type_name(&existing),
                    incoming: bigquery_type_name(f.data_type()),
                    file: path.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn first_rejected(path: &Path, row: &RejectedRow) -> RejectedRowSummary {
    RejectedRowSummary {
        file: path.to_path_buf(),
        line: row.line,
        reason: row.reason.clone(),
    }
}
