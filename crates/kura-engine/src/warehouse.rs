//! The embedded warehouse: a DataFusion session over the project's Delta tables, with every
//! statement checked against the access policy and recorded in the query log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::Utc;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};
use deltalake::kernel::transaction::CommitProperties;
use futures::{StreamExt, TryStreamExt};

use crate::access::{Access, AccessPolicy, SYSTEM_DATASET};
use crate::catalog::{CatalogShared, WarehouseCatalog};
use crate::error::EngineError;
use crate::mapped_files::MappedFileStore;
use crate::project::Project;
use crate::query_log::{self, QueryLogEntry, QueryStatus, TableScan};
use crate::store::{TableName, TableStore};

pub use kura_sql::Dialect;

/// The DataFusion catalog name the warehouse is registered under.
const CATALOG: &str = "kura";

/// Who runs a statement, and the labels it is filed under in the query log.
#[derive(Debug, Clone)]
pub struct QueryContext {
    pub principal: String,
    pub labels: Vec<(String, String)>,
    /// GoogleSQL (the default) is rewritten for the engine; DataFusion SQL is planned as is.
    pub dialect: Dialect,
}

impl QueryContext {
    pub fn new(principal: impl Into<String>) -> Self {
        Self {
            principal: principal.into(),
            labels: Vec::new(),
            dialect: Dialect::GoogleSql,
        }
    }

    pub fn with_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }
}

/// The rows of a finished query, and what it cost.
#[derive(Debug)]
pub struct QueryResult {
    pub query_id: String,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub rows: u64,
    pub bytes_scanned: u64,
    pub tables: Vec<TableScan>,
}

/// A folded query ([`Warehouse::query_fold`]): one accumulator per output partition, and what
/// the query cost.
#[derive(Debug)]
pub struct FoldedQuery<A> {
    pub query_id: String,
    pub partitions: Vec<A>,
    /// Whether each worker read the plan's pieces one after another; otherwise the plan was
    /// read all at once, one stream per worker (see [`Warehouse::query_fold`]).
    pub piece_by_piece: bool,
    /// Rows folded, over all partitions.
    pub rows: u64,
    pub bytes_scanned: u64,
    pub tables: Vec<TableScan>,
}

/// A query's log entry still to be written ([`Warehouse::query_fold_log_later`]). Nothing is
/// written until [`PendingLog::write`] is awaited: dropped unwritten, the query is missing from
/// the query log and from the cost reports.
#[must_use = "the query's log entry is written only when `write` is awaited"]
pub struct PendingLog<'a> {
    warehouse: &'a Warehouse,
    entry: QueryLogEntry,
}

impl PendingLog<'_> {
    /// Appends the entry to `_kura.query_log`.
    ///
    /// # Errors
    /// [`EngineError`] when the commit fails.
    pub async fn write(self) -> Result<(), EngineError> {
        self.warehouse.record(self.entry).await
    }
}

/// A finished query's (or its error's) log entry, and the run with the bytes it scanned.
fn log_entry<T>(
    start: &QueryStart,
    sql: &str,
    ctx: &QueryContext,
    outcome: Result<QueryRun<T>, EngineError>,
) -> (QueryLogEntry, Result<(QueryRun<T>, u64), EngineError>) {
    let (status, error, rows, tables) = match &outcome {
        Ok(run) => (QueryStatus::Ok, None, run.rows, run.tables.clone()),
        Err(e) => (status_of(e), Some(e.to_string()), 0, Vec::new()),
    };
    let bytes_scanned = tables.iter().map(|t| t.bytes).sum();
    let entry = QueryLogEntry {
        query_id: start.query_id.clone(),
        principal: ctx.principal.clone(),
        labels: ctx.labels.clone(),
        statement: sql.to_string(),
        statement_type: "QUERY".into(),
        start_time: start.at,
        duration_ms: start.timer.elapsed().as_millis() as i64,
        bytes_scanned,
        tables,
        rows,
        status,
        error,
    };
    (entry, outcome.map(|run| (run, bytes_scanned)))
}

/// When a query started, and its id: what its query-log entry needs besides the outcome.
struct QueryStart {
    query_id: String,
    at: chrono::DateTime<Utc>,
    timer: Instant,
}

impl QueryStart {
    fn now() -> Self {
        Self {
            query_id: uuid::Uuid::new_v4().to_string(),
            at: Utc::now(),
            timer: Instant::now(),
        }
    }
}

/// A query that ran, before it is logged: its output, the rows it returned (or folded), and the
/// bytes it read per table.
struct QueryRun<T> {
    output: T,
    rows: u64,
    tables: Vec<TableScan>,
}

/// Scan partitions per worker thread in [`Warehouse::query_fold`].
const SCAN_PIECES: usize = 4;

/// How [`Warehouse::query_fold`] folds one batch into a partition's accumulator.
type FoldFn<A> = dyn Fn(&mut A, &RecordBatch) -> Result<(), String> + Send + Sync;

/// What a query would read, found without running it.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub bytes: u64,
    pub files: u64,
    pub tables: Vec<TableScan>,
}

/// What a stored table's file statistics say about one of its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnStats {
    /// Each file's smallest value, as the Delta log writes it (JSON; timestamps truncated to
    /// milliseconds, so a lower bound). No entry for a file whose values are all NULL.
    pub file_mins: Vec<serde_json::Value>,
    /// NULLs in the column, over every file.
    pub nulls: u64,
}

/// A table as `kura tables` lists it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub name: TableName,
    pub version: u64,
    pub files: u64,
    pub rows: Option<u64>,
    pub bytes: u64,
    pub partition_columns: Vec<String>,
}

/// The embedded warehouse of one project.
pub struct Warehouse {
    project: Project,
    policy: AccessPolicy,
    store: TableStore,
    ctx: SessionContext,
    catalog: CatalogShared,
}

impl Warehouse {
    /// Opens the warehouse of a project, creating its directory on first use.
    ///
    /// # Errors
    /// [`EngineError::Io`] when the warehouse directory cannot be created.
    pub fn open(project: Project) -> Result<Self, EngineError> {
        let root = project.warehouse_dir();
        std::fs::create_dir_all(&root).map_err(|source| EngineError::Io {
            path: root.clone(),
            source,
        })?;
        let store = TableStore::new(root);
        // DATAFUSION_* environment variables tune the engine (e.g.
        // DATAFUSION_EXECUTION_TARGET_PARTITIONS); kura's own settings below always win.
        let config = SessionConfig::from_env()
            .map_err(|e| EngineError::Config {
                path: PathBuf::from("environment"),
                message: format!("a DATAFUSION_* variable is invalid: {e}"),
            })?
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(CATALOG, "public")
            // GoogleSQL's TIMESTAMP is a UTC instant; zone-less arithmetic and CURRENT_DATE
            // follow UTC as BigQuery's do, whatever the machine's zone.
            .set_str("datafusion.execution.time_zone", "UTC");
        let ctx = SessionContext::new_with_config(config);
        // Table scans find their store by URL; every warehouse file is a `file://` one.
        ctx.runtime_env().register_object_store(
            ObjectStoreUrl::local_filesystem().as_ref(),
            Arc::new(MappedFileStore::new()),
        );
        kura_functions::register_all(&ctx);
        let catalog = CatalogShared {
            store: store.clone(),
            state: Arc::default(),
            overlay: Arc::default(),
        };
        // Views are planned with the session's own state; a weak reference, because the
        // session owns the catalog.
        let weak = ctx.state_weak_ref();
        let _ = catalog.state.set(Box::new(move || {
            weak.upgrade().map(|state| state.read().clone())
        }));
        ctx.register_catalog(CATALOG, Arc::new(WarehouseCatalog::new(catalog.clone())));
        Ok(Self {
            policy: project.access_policy(),
            project,
            store,
            ctx,
            catalog,
        })
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn store(&self) -> &TableStore {
        &self.store
    }

    pub fn policy(&self) -> &AccessPolicy {
        &self.policy
    }

    /// Makes queries see these view definitions instead of what the warehouse holds, without
    /// writing anything: how `kura plan` plans a project as if it were deployed. Replaces any
    /// earlier overlay; an empty map removes it.
    pub fn set_view_overlay(&self, views: BTreeMap<TableName, String>) {
        self.catalog.set_overlay(views);
    }

    /// Adds to the overlay an empty table of `schema` named `name`: what a table will hold once
    /// built, so that planning what reads it neither fails nor expands its SQL.
    pub fn add_overlay_table(&self, name: TableName, schema: SchemaRef) {
        self.catalog.add_stub(name, schema);
    }

    /// The output schema of a query, from its plan; nothing is executed or logged.
    ///
    /// # Errors
    /// As [`Warehouse::query`].
    pub async fn query_schema(
        &self,
        sql: &str,
        ctx: &QueryContext,
    ) -> Result<SchemaRef, EngineError> {
        let plan = self.plan_checked(sql, ctx).await?;
        Ok(Arc::new(plan.schema().as_arrow().clone()))
    }

    /// The DataFusion session, for crates that register functions or plan directly.
    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs one query as `ctx.principal` and records it in the query log, whatever the outcome.
    ///
    /// # Errors
    /// [`EngineError::Sql`] for unparsable text, [`EngineError::NotAQuery`] for DDL/DML,
    /// [`EngineError::AccessDenied`] when a named dataset is not readable by the principal,
    /// [`EngineError::Query`] when planning or execution fails.
    pub async fn query(&self, sql: &str, ctx: &QueryContext) -> Result<QueryResult, EngineError> {
        let start = QueryStart::now();
        let outcome = self.run_query(sql, ctx).await;
        let (run, bytes_scanned) = self.log_query(&start, sql, ctx, outcome).await?;
        let (schema, batches) = run.output;
        Ok(QueryResult {
            query_id: start.query_id,
            schema,
            batches,
            rows: run.rows,
            bytes_scanned,
            tables: run.tables,
        })
    }

    /// Runs one query as `ctx.principal` like [`Warehouse::query`], but instead of collecting
    /// its rows folds them: one task per worker thread folds into its own accumulator from
    /// `init`, so a caller that reduces a large result (a monitor's one scan of a table) uses
    /// every core. The scan runs in a few pieces per worker; each task reads and folds the next
    /// piece when it has finished one. The accumulators come back in no particular
    /// order, for the caller to merge; the query log records the rows folded.
    ///
    /// # Errors
    /// As [`Warehouse::query`]; an error from `fold` stops the query and is reported as a
    /// query error.
    pub async fn query_fold<A, I, F>(
        &self,
        sql: &str,
        ctx: &QueryContext,
        init: I,
        fold: F,
    ) -> Result<FoldedQuery<A>, EngineError>
    where
        A: Send + 'static,
        I: Fn() -> A,
        F: Fn(&mut A, &RecordBatch) -> Result<(), String> + Send + Sync + 'static,
    {
        let (folded, log) = self.query_fold_log_later(sql, ctx, init, fold).await;
        log.write().await?;
        folded
    }

    /// As [`Warehouse::query_fold`], but hands the accumulators back as soon as the scan ends,
    /// with the query's log entry still to be written: the caller awaits [`PendingLog::write`]
    /// alongside its own commits instead of after them.
    pub async fn query_fold_log_later<A, I, F>(
        &self,
        sql: &str,
        ctx: &QueryContext,
        init: I,
        fold: F,
    ) -> (Result<FoldedQuery<A>, EngineError>, PendingLog<'_>)
    where
        A: Send + 'static,
        I: Fn() -> A,
        F: Fn(&mut A, &RecordBatch) -> Result<(), String> + Send + Sync + 'static,
    {
        let start = QueryStart::now();
        let outcome = self.run_fold(sql, ctx, init, Arc::new(fold)).await;
        let (entry, outcome) = log_entry(&start, sql, ctx, outcome);
        let folded = outcome.map(|(run, bytes_scanned)| FoldedQuery {
            query_id: start.query_id.clone(),
            partitions: run.output.0,
            piece_by_piece: run.output.1,
            rows: run.rows,
            bytes_scanned,
            tables: run.tables,
        });
        (
            folded,
            PendingLog {
                warehouse: self,
                entry,
            },
        )
    }

    /// Records a finished query (or its error) in the query log, then hands the run back with
    /// the bytes it scanned.
    async fn log_query<T>(
        &self,
        start: &QueryStart,
        sql: &str,
        ctx: &QueryContext,
        outcome: Result<QueryRun<T>, EngineError>,
    ) -> Result<(QueryRun<T>, u64), EngineError> {
        let (entry, outcome) = log_entry(start, sql, ctx, outcome);
        self.record(entry).await?;
        outcome
    }

    /// Plans a query and reports the bytes it would read, from the Delta log's file list after
    /// partition and statistics pruning and the Parquet footers' column-chunk sizes of the
    /// projected columns. Nothing is executed and nothing is logged.
    ///
    /// # Errors
    /// As [`Warehouse::query`].
    pub async fn dry_run(&self, sql: &str, ctx: &QueryContext) -> Result<DryRun, EngineError> {
        let physical = self.physical_plan_checked(sql, ctx).await?;
        let mut scans = Vec::new();
        collect_file_scans(physical.as_ref(), &mut scans);
        let mut per_table: BTreeMap<String, u64> = BTreeMap::new();
        let mut files = 0;
        for scan in scans {
            let table = self.table_of(&scan.paths).unwrap_or_else(|| "?".into());
            for path in &scan.paths {
                files += 1;
                let bytes = projected_bytes(path, scan.columns.as_deref())?;
                *per_table.entry(table.clone()).or_default() += bytes;
            }
        }
        let tables: Vec<TableScan> = per_table
            .into_iter()
            .map(|(table, bytes)| TableScan { table, bytes })
            .collect();
        Ok(DryRun {
            bytes: tables.iter().map(|t| t.bytes).sum(),
            files,
            tables,
        })
    }

    /// Runs a query for kura's own use (reports over `_kura`): not access-checked, not logged.
    pub async fn query_internal(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        self.ctx
            .sql(sql)
            .await
            .map_err(EngineError::Query)?
            .collect()
            .await
            .map_err(EngineError::Query)
    }

    /// Records one entry in `_kura.query_log`.
    ///
    /// # Errors
    /// [`EngineError::Delta`] when the log cannot be committed.
    pub async fn record(&self, entry: QueryLogEntry) -> Result<(), EngineError> {
        let batch = query_log::to_batch(std::slice::from_ref(&entry))?;
        let name = TableName::new(SYSTEM_DATASET, "query_log")?;
        self.store
            .append(
                &name,
                batch.schema(),
                vec![batch],
                CommitProperties::default(),
            )
            .await?;
        Ok(())
    }

    /// Appends a batch to kura's own table `_kura.<table>`, creating it on first use. For the
    /// crates that record their state there (experiments, checks, sends).
    ///
    /// # Errors
    /// [`EngineError::Delta`] when the commit fails.
    pub async fn append_system(&self, table: &str, batch: RecordBatch) -> Result<(), EngineError> {
        let name = TableName::new(SYSTEM_DATASET, table)?;
        self.store
            .append(
                &name,
                batch.schema(),
                vec![batch],
                CommitProperties::default(),
            )
            .await?;
        Ok(())
    }

    /// Checks that `principal` may `access` `dataset`, and records a refusal in the query log
    /// so denied attempts are visible next to everything else.
    ///
    /// # Errors
    /// [`EngineError::AccessDenied`].
    pub async fn authorize(
        &self,
        principal: &str,
        dataset: &str,
        access: Access,
        statement: &str,
        statement_type: &str,
    ) -> Result<(), EngineError> {
        let Err(denied) = self.policy.check(principal, dataset, access) else {
            return Ok(());
        };
        let err = EngineError::AccessDenied(denied);
        self.record(QueryLogEntry {
            query_id: uuid::Uuid::new_v4().to_string(),
            principal: principal.to_string(),
            labels: Vec::new(),
            statement: statement.to_string(),
            statement_type: statement_type.to_string(),
            start_time: Utc::now(),
            duration_ms: 0,
            bytes_scanned: 0,
            tables: Vec::new(),
            rows: 0,
            status: QueryStatus::Denied,
            error: Some(err.to_string()),
        })
        .await?;
        Err(err)
    }

    /// Every table of the warehouse with its version, size and row count from the Delta log.
    ///
    /// # Errors
    /// [`EngineError::Delta`] when a table's log cannot be read.
    pub async fn tables(&self) -> Result<Vec<TableInfo>, EngineError> {
        let mut out = Vec::new();
        for dataset in self.store.datasets() {
            for table in self.store.tables(&dataset) {
                let name = TableName::new(&dataset, &table)?;
                if let Some(info) = self.table_info(&name).await? {
                    out.push(info);
                }
            }
        }
        Ok(out)
    }

    /// One table's description, or `None` when it does not exist.
    pub async fn table_info(&self, name: &TableName) -> Result<Option<TableInfo>, EngineError> {
        let Some(table) = self.store.open(name).await? else {
            return Ok(None);
        };
        let delta_err = |source| EngineError::Delta {
            table: name.to_string(),
            source,
        };
        let state = table.snapshot().map_err(delta_err)?;
        let mut files = 0;
        let mut bytes = 0u64;
        let mut rows = Some(0u64);
        for file in state.log_data().iter() {
            files += 1;
            bytes += file.size().max(0) as u64;
            let n = file
                .stats()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|v| v.get("numRecords").and_then(|n| n.as_u64()));
            rows = rows.zip(n).map(|(a, b)| a + b);
        }
        Ok(Some(TableInfo {
            name: name.clone(),
            version: state.version(),
            files,
            rows,
            bytes,
            partition_columns: state.metadata().partition_columns().to_vec(),
        }))
    }

    /// The statistics the Delta log holds for `column` of `name`, read without scanning:
    /// what lets a query leave out a filter every file's statistics already satisfy. `None`
    /// when queries naming `name` do not read a stored table (a view, a planned model), or
    /// when a file has no statistics for the column.
    ///
    /// # Errors
    /// [`EngineError::Delta`] when the table's log cannot be read.
    pub async fn column_stats(
        &self,
        name: &TableName,
        column: &str,
    ) -> Result<Option<ColumnStats>, EngineError> {
        if !self.catalog.reads_stored_table(name) {
            return Ok(None);
        }
        let Some(table) = self.store.open(name).await? else {
            return Ok(None);
        };
        let delta = |source| EngineError::Delta {
            table: name.to_string(),
            source,
        };
        let files: Vec<deltalake::kernel::LogicalFileView> = table
            .snapshot()
            .map_err(delta)?
            .snapshot()
            .file_views(table.log_store().as_ref(), None)
            .try_collect()
            .await
            .map_err(delta)?;
        let mut stats = ColumnStats {
            file_mins: Vec::with_capacity(files.len()),
            nulls: 0,
        };
        for file in files {
            let Some(json) = file.stats() else {
                return Ok(None);
            };
            let Ok(parsed) = serde_json::from_str::<serde_json::Value>(&json) else {
                return Ok(None);
            };
            let Some(nulls) = parsed["nullCount"][column].as_u64() else {
                return Ok(None);
            };
            let rows = parsed["numRecords"].as_u64();
            stats.nulls += nulls;
            match parsed["minValues"].get(column) {
                Some(min) if !min.is_null() => stats.file_mins.push(min.clone()),
                // Only a file of NULLs (or no rows) may lack a minimum.
                _ if rows == Some(nulls) => {}
                _ => return Ok(None),
            }
        }
        Ok(Some(stats))
    }

    /// A table's Arrow schema.
    ///
    /// # Errors
    /// [`EngineError::TableNotFound`] when it does not exist.
    pub async fn table_schema(&self, name: &TableName) -> Result<SchemaRef, EngineError> {
        let table = self
            .store
            .open(name)
            .await?
            .ok_or_else(|| EngineError::TableNotFound {
                table: name.to_string(),
            })?;
        let state = table.snapshot().map_err(|source| EngineError::Delta {
            table: name.to_string(),
            source,
        })?;
        Ok(state.snapshot().arrow_schema())
    }

    async fn run_query(
        &self,
        sql: &str,
        ctx: &QueryContext,
    ) -> Result<QueryRun<(SchemaRef, Vec<RecordBatch>)>, EngineError> {
        let physical = self.physical_plan_checked(sql, ctx).await?;
        let schema = physical.schema();
        let batches = datafusion::physical_plan::collect(physical.clone(), self.ctx.task_ctx())
            .await
            .map_err(unwrap_external)?;
        let mut scans = Vec::new();
        collect_file_scans(physical.as_ref(), &mut scans);
        Ok(QueryRun {
            rows: batches.iter().map(|b| b.num_rows() as u64).sum(),
            output: (schema, batches),
            tables: self.scans_per_table(scans),
        })
    }

    /// Plans `sql`, folds its output partitions on one task per worker, and reports the bytes
    /// read.
    async fn run_fold<A, I>(
        &self,
        sql: &str,
        ctx: &QueryContext,
        init: I,
        fold: Arc<FoldFn<A>>,
    ) -> Result<QueryRun<(Vec<A>, bool)>, EngineError>
    where
        A: Send + 'static,
        I: Fn() -> A,
    {
        let plan = self.plan_checked(sql, ctx).await?;
        let mut state = self.ctx.state();
        let workers = state.config().target_partitions().max(1);
        // The scan is cut finer than there are workers: a partition holds whole row groups,
        // and with one partition per worker the larger one ran alone for the last third of a
        // monitor's scan. Each worker folds piece after piece into its own accumulator.
        state.config_mut().options_mut().execution.target_partitions = workers * SCAN_PIECES;
        let physical = state
            .create_physical_plan(&plan)
            .await
            .map_err(EngineError::Query)?;
        let task_ctx = self.ctx.task_ctx();
        let pieces = physical
            .properties()
            .output_partitioning()
            .partition_count();
        // Each worker takes the next piece when it has finished one, and decodes and folds its
        // batches on its own thread: a batch is folded while it is still in that core's cache,
        // and only one piece per worker is in flight. Dealing the pieces through a round-robin
        // repartition instead kept every piece's decoded row groups in memory at once (0.7 GB
        // of resident memory for a 10 M-row monitor scan). A plan whose operators tie pieces
        // together (see `partitions_stand_alone`) has all its pieces read at once, as
        // DataFusion does, through a round-robin repartition.
        let piece_by_piece = pieces > workers && partitions_stand_alone(physical.as_ref());
        let physical = if piece_by_piece {
            physical
        } else if pieces > workers {
            Arc::new(
                RepartitionExec::try_new(physical, Partitioning::RoundRobinBatch(workers))
                    .map_err(EngineError::Query)?,
            )
        } else {
            physical
        };
        let mut streams = std::collections::VecDeque::new();
        for piece in 0..physical
            .properties()
            .output_partitioning()
            .partition_count()
        {
            streams.push_back(
                physical
                    .execute(piece, task_ctx.clone())
                    .map_err(unwrap_external)?,
            );
        }
        // Piece by piece, the workers share one queue of pieces. Otherwise each stream has a
        // task of its own, so that all are read at the same time: a plan's streams may wait on
        // each other, and a worker that took two would read the second only after the first.
        let queues: Vec<Arc<std::sync::Mutex<std::collections::VecDeque<_>>>> = if piece_by_piece {
            let shared = Arc::new(std::sync::Mutex::new(streams));
            (0..workers).map(|_| shared.clone()).collect()
        } else {
            streams
                .into_iter()
                .map(|stream| Arc::new(std::sync::Mutex::new([stream].into())))
                .collect()
        };
        // A JoinSet aborts the other workers' tasks when one fails and the set is dropped.
        let mut tasks = tokio::task::JoinSet::new();
        for queue in queues {
            let fold = fold.clone();
            let mut acc = init();
            tasks.spawn(async move {
                let mut rows = 0u64;
                loop {
                    // Taking a stream cannot panic, so a poisoned lock still holds a sound queue.
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .pop_front();
                    let Some(mut stream) = next else { break };
                    while let Some(batch) = stream.next().await {
                        let batch = batch.map_err(unwrap_external)?;
                        rows += batch.num_rows() as u64;
                        fold(&mut acc, &batch)
                            .map_err(|m| EngineError::Query(DataFusionError::Execution(m)))?;
                    }
                }
                Ok::<_, EngineError>((acc, rows))
            });
        }
        let mut partitions = Vec::with_capacity(tasks.len());
        let mut rows = 0;
        while let Some(joined) = tasks.join_next().await {
            let (acc, n) = joined
                .map_err(|e| EngineError::Query(DataFusionError::External(Box::new(e))))??;
            partitions.push(acc);
            rows += n;
        }
        let mut scans = Vec::new();
        collect_file_scans(physical.as_ref(), &mut scans);
        Ok(QueryRun {
            output: (partitions, piece_by_piece),
            rows,
            tables: self.scans_per_table(scans),
        })
    }

    /// Bytes read per `dataset.table`, from a finished plan's scans.
    pub(crate) fn scans_per_table(&self, scans: Vec<FileScan>) -> Vec<TableScan> {
        let mut per_table: BTreeMap<String, u64> = BTreeMap::new();
        for scan in scans {
            let table = self.table_of(&scan.paths).unwrap_or_else(|| "?".into());
            *per_table.entry(table).or_default() += scan.bytes_scanned;
        }
        per_table
            .into_iter()
            .map(|(table, bytes)| TableScan { table, bytes })
            .collect()
    }

    /// [`Warehouse::plan_checked`], then the physical plan to execute or inspect.
    async fn physical_plan_checked(
        &self,
        sql: &str,
        ctx: &QueryContext,
    ) -> Result<Arc<dyn ExecutionPlan>, EngineError> {
        let plan = self.plan_checked(sql, ctx).await?;
        self.ctx
            .state()
            .create_physical_plan(&plan)
            .await
            .map_err(EngineError::Query)
    }

    /// Parses, checks the principal's read grants on every named dataset, and plans.
    pub(crate) async fn plan_checked(
        &self,
        sql: &str,
        ctx: &QueryContext,
    ) -> Result<LogicalPlan, EngineError> {
        let statement = kura_sql::parse_one_in(sql, ctx.dialect)?;
        if !kura_sql::is_read_only(&statement) {
            let kind = statement.to_string();
            let kind = kind
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            return Err(EngineError::NotAQuery { kind });
        }
        for table in kura_sql::referenced_tables(&statement) {
            self.check_read(&ctx.principal, &table)?;
        }
        let statement = match ctx.dialect {
            Dialect::GoogleSql => {
                let tables =
                    crate::table_columns::StatementTables::for_statement(&self.store, &statement)
                        .await;
                let rewritten = kura_sql::rewrite_for_datafusion_with_tables(statement, &tables)?;
                // A wildcard (`dataset.events_*`) names its tables only once rewritten: their
                // own readers are checked on the statement that will run.
                for table in kura_sql::referenced_tables(&rewritten) {
                    self.check_read(&ctx.principal, &table)?;
                }
                rewritten
            }
            Dialect::DataFusion => statement,
        };
        let state = self.ctx.state();
        state
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                statement,
            )))
            .await
            .map_err(unwrap_external)
    }

    /// Checks that `principal` may read `table`: its own readers (a model's `grants`) when it
    /// has them, else its dataset's grants. Names are compared lower-cased, as the engine
    /// resolves unquoted names, so `RAW.orders` is checked as `raw.orders`.
    fn check_read(&self, principal: &str, table: &kura_sql::TableRef) -> Result<(), EngineError> {
        let Some(dataset) = &table.dataset else {
            return Ok(());
        };
        let dataset = dataset.to_ascii_lowercase();
        if dataset == "information_schema" {
            return Ok(());
        }
        let name = table.table.to_ascii_lowercase();
        // A wildcard is no table name: its dataset is checked here, its tables after the
        // rewrite expands it.
        match TableName::new(&dataset, &name) {
            Ok(table) => self.check_table_read(principal, &table),
            Err(_) => self
                .policy
                .check_table_read(principal, &dataset, &name, None)
                .map_err(EngineError::AccessDenied),
        }
    }

    /// Checks that `principal` may read the table `name`: its own readers (a model's
    /// `grants`) when it has them, else its dataset's grants. What `kura sql` checks for every
    /// table a statement reads, and what listings of tables and columns check too.
    ///
    /// # Errors
    /// [`EngineError::AccessDenied`] naming who may read it; an I/O or format error when the
    /// table's readers file cannot be read.
    pub fn check_table_read(&self, principal: &str, name: &TableName) -> Result<(), EngineError> {
        let readers = self.store.readers(name)?;
        self.policy
            .check_table_read(principal, &name.dataset, &name.table, readers.as_deref())
            .map_err(EngineError::AccessDenied)
    }

    /// The `dataset.table` a scan's files belong to, from their location under the warehouse.
    fn table_of(&self, paths: &[PathBuf]) -> Option<String> {
        let root = std::path::absolute(self.store.root()).ok()?;
        let rel = paths.first()?.strip_prefix(&root).ok()?;
        let mut parts = rel.components();
        let dataset = parts.next()?.as_os_str().to_str()?;
        let table = parts.next()?.as_os_str().to_str()?;
        Some(format!("{dataset}.{table}"))
    }
}

fn status_of(err: &EngineError) -> QueryStatus {
    match err {
        EngineError::AccessDenied(_) => QueryStatus::Denied,
        _ => QueryStatus::Error,
    }
}

/// Errors raised inside DataFusion by kura's own code travel as `External`; take them out so
/// the user sees kura's message and hint rather than a wrapped one.
fn unwrap_external(err: DataFusionError) -> EngineError {
    match err {
        DataFusionError::External(inner) => match inner.downcast::<EngineError>() {
            Ok(e) => *e,
            Err(other) => EngineError::Query(DataFusionError::External(other)),
        },
        DataFusionError::Context(ctx, inner) => match unwrap_external(*inner) {
            EngineError::Query(e) => EngineError::Query(DataFusionError::Context(ctx, Box::new(e))),
            other => other,
        },
        other => EngineError::Query(other),
    }
}

/// A Parquet scan in a physical plan: its files, projected columns and bytes read so far.
pub(crate) struct FileScan {
    paths: Vec<PathBuf>,
    /// The file columns read; `None` for all of them.
    columns: Option<Vec<String>>,
    bytes_scanned: u64,
}

/// Whether a plan's partitions can be read one after another: every operator in it reads one
/// partition of its input into the same partition of its output. Anything else (a repartition,
/// a join whose partitions wait for each other's build side, a merge) may need all partitions
/// read at the same time, or pile up the batches of partitions not yet read.
fn partitions_stand_alone(plan: &dyn ExecutionPlan) -> bool {
    const PER_PARTITION: &[&str] = &[
        "DataSourceExec",
        "DeltaScanExec",
        "FilterExec",
        "ProjectionExec",
        "CoalesceBatchesExec",
    ];
    PER_PARTITION.contains(&plan.name())
        && plan
            .children()
            .iter()
            .all(|c| partitions_stand_alone(c.as_ref()))
}

pub(crate) fn collect_file_scans(plan: &dyn ExecutionPlan, out: &mut Vec<FileScan>) {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>() {
        if let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() {
            let paths = config
                .file_groups
                .iter()
                .flat_map(|g| g.files())
                .map(|f| Path::new("/").join(f.object_meta.location.as_ref()))
                .collect();
            let file_schema = config.file_schema();
            let columns = config.projected_schema().ok().map(|projected| {
                projected
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .filter(|n| file_schema.field_with_name(n).is_ok())
                    .collect()
            });
            let bytes_scanned = exec
                .metrics()
                .and_then(|m| m.sum_by_name("bytes_scanned"))
                .map(|v| v.as_usize() as u64)
                .unwrap_or(0);
            out.push(FileScan {
                paths,
                columns,
                bytes_scanned,
            });
        }
    }
    for child in plan.children() {
        collect_file_scans(child.as_ref(), out);
    }
}

/// The compressed size of the named columns' chunks in one Parquet file, from its footer.
fn projected_bytes(path: &Path, columns: Option<&[String]>) -> Result<u64, EngineError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = std::fs::File::open(path).map_err(|source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file).map_err(|source| EngineError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    let mut total = 0u64;
    for rg in reader.metadata().row_groups() {
        for col in rg.columns() {
            let top = col.column_path().parts().first().map(String::as_str);
            let read = match columns {
                None => true,
                Some(cols) => top.is_some_and(|t| cols.iter().any(|c| c == t)),
            };
            if read {
                total += col.compressed_size().max(0) as u64;
            }
        }
    }
    Ok(total)
}
