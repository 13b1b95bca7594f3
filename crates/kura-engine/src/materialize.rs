//! Writing a query's result: views, tables replaced in one commit, incremental tables that
//! rebuild a trailing window of partitions, and merges by key. What `kura run` builds models
//! with; every write is access-checked and recorded in the query log with the bytes it read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use chrono::Utc;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::{Column, ScalarValue, TableReference};
use datafusion::datasource::provider_as_source;
use datafusion::execution::TaskContext;
use datafusion::functions_aggregate::expr_fn::max;
use datafusion::logical_expr::{ident, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::physical_plan::{
    ExecutionPlan, ExecutionPlanProperties, SendableRecordBatchStream,
};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use futures::StreamExt;

use crate::access::Access;
use crate::error::EngineError;
use crate::load::bigquery_type_name;
use crate::query_log::{QueryLogEntry, QueryStatus, TableScan};
use crate::store::TableName;
use crate::warehouse::{QueryContext, Warehouse};
use datafusion::catalog::TableProvider;

/// How a query's rows reach the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteMode {
    /// Replace contents and schema in one commit.
    Replace,
    /// Rebuild the partitions from `lookback_days` before the newest value of `column` in the
    /// table onwards, for late data; older partitions are left alone. The first write, or one
    /// with `full_refresh`, builds everything.
    Incremental { column: String, lookback_days: u32 },
    /// Update rows whose `keys` match and insert the others (Delta MERGE). With `window`, only
    /// the source rows inside the incremental window are merged.
    Merge {
        keys: Vec<String>,
        window: Option<(String, u32)>,
    },
}

/// What happens when an incremental model's columns change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaChangePolicy {
    /// Refuse, naming the columns (the default: nothing changes silently).
    #[default]
    Fail,
    /// Add new columns (old rows read NULL); removed or retyped columns still refuse.
    AddColumns,
}

/// A table write: the query, where it goes, and how.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub table: TableName,
    pub sql: String,
    pub mode: WriteMode,
    pub partition_by: Option<String>,
    /// Rows are sorted by these before writing, so file statistics prune well.
    pub cluster_by: Vec<String>,
    pub on_schema_change: SchemaChangePolicy,
    /// Rebuild everything, whatever the mode.
    pub full_refresh: bool,
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub version: u64,
    pub rows: u64,
    pub bytes_scanned: u64,
    /// The start of the rebuilt window, when the write was incremental.
    pub window_start: Option<String>,
    pub added_columns: Vec<String>,
    pub full_build: bool,
}

impl Warehouse {
    /// Creates or replaces a view. The SQL is planned first, so a view that cannot be planned
    /// is never stored.
    ///
    /// # Errors
    /// [`EngineError::AccessDenied`] without write access to the dataset; planning errors.
    pub async fn create_view(
        &self,
        name: &TableName,
        sql: &str,
        ctx: &QueryContext,
    ) -> Result<(), EngineError> {
        self.authorize(
            &ctx.principal,
            &name.dataset,
            Access::Write,
            sql,
            "CREATE VIEW",
        )
        .await?;
        let started = (Utc::now(), Instant::now());
        let outcome = async {
            self.plan_checked(sql, &ctx.clone().with_dialect(kura_sql::Dialect::GoogleSql))
                .await?;
            self.store().write_view(name, sql)
        }
        .await;
        self.log_write(
            name,
            sql,
            "CREATE VIEW",
            ctx,
            started,
            &outcome.as_ref().map(|_| (0, vec![])),
        )
        .await?;
        outcome
    }

    /// Sets who reads one table or view (a model's `grants`), or with `None` hands it back to
    /// its dataset's grants. Needs write access to the dataset; a change is recorded in the
    /// query log like any other write, and setting what is already set does nothing.
    ///
    /// # Errors
    /// [`EngineError::AccessDenied`] without write access; [`EngineError::Materialize`] for a
    /// grant that names an unknown group or is ambiguous; [`EngineError::Io`].
    pub async fn set_readers(
        &self,
        name: &TableName,
        readers: Option<&[String]>,
        ctx: &QueryContext,
    ) -> Result<(), EngineError> {
        // Most builds change nothing here: then there is nothing to write or to log.
        if let Ok(current) = self.store().readers(name) {
            if current.as_deref() == readers {
                return Ok(());
            }
        }
        let statement = match readers {
            Some(r) => format!("-- readers of {name}: {}", r.join(", ")),
            None => format!("-- readers of {name}: its dataset's grants"),
        };
        self.authorize(
            &ctx.principal,
            &name.dataset,
            Access::Write,
            &statement,
            "GRANT",
        )
        .await?;
        let started = (Utc::now(), Instant::now());
        let outcome = match readers.map(|r| self.policy().validate_grants(r)) {
            Some(Err(message)) => Err(EngineError::Materialize {
                table: name.to_string(),
                message: format!("grants: {message}"),
                hint: "fix `grants` in the model's header (`group:NAME`, `user:NAME` or `*`)",
            }),
            _ => self.store().set_readers(name, readers),
        };
        self.log_write(
            name,
            &statement,
            "GRANT",
            ctx,
            started,
            &outcome.as_ref().map(|_| (0, vec![])),
        )
        .await?;
        outcome
    }

    /// Drops a table or view.
    ///
    /// # Errors
    /// [`EngineError::AccessDenied`] without write access; [`EngineError::Io`].
    pub async fn drop_relation(
        &self,
        name: &TableName,
        ctx: &QueryContext,
    ) -> Result<(), EngineError> {
        let statement = format!("DROP {name}");
        self.authorize(
            &ctx.principal,
            &name.dataset,
            Access::Write,
            &statement,
            "DROP",
        )
        .await?;
        let started = (Utc::now(), Instant::now());
        let outcome = self.store().drop_relation(name);
        self.log_write(
            name,
            &statement,
            "DROP",
            ctx,
            started,
            &outcome.as_ref().map(|_| (0, vec![])),
        )
        .await?;
        outcome
    }

    /// Runs a query and writes its rows into a table as `request.mode` says, in one Delta
    /// commit. A view of the same name is replaced by the table.
    ///
    /// # Errors
    /// Access, planning and execution errors; [`EngineError::Materialize`] for a schema
    /// change the policy refuses or an unusable partition column.
    pub async fn write_query(
        &self,
        request: &WriteRequest,
        ctx: &QueryContext,
    ) -> Result<WriteOutcome, EngineError> {
        let name = &request.table;
        let kind = match (&request.mode, request.full_refresh) {
            (WriteMode::Replace, _) | (_, true) => "CREATE TABLE AS",
            (WriteMode::Incremental { .. }, false) => "INSERT REPLACE WHERE",
            (WriteMode::Merge { .. }, false) => "MERGE",
        };
        self.authorize(
            &ctx.principal,
            &name.dataset,
            Access::Write,
            &request.sql,
            kind,
        )
        .await?;
        let started = (Utc::now(), Instant::now());
        let outcome = self.write_query_inner(request, ctx).await;
        let logged = outcome.as_ref().map(|(o, scans)| (o.rows, scans.clone()));
        self.log_write(name, &request.sql, kind, ctx, started, &logged)
            .await?;
        let (mut outcome, scans) = outcome?;
        outcome.bytes_scanned = scans.iter().map(|s| s.bytes).sum();
        if self.store().view_sql(name).is_some() {
            self.store().remove_view(name)?;
        }
        Ok(outcome)
    }

    /// Replaces a table's contents and schema with `batches` in one Delta commit: results a
    /// command computed outside SQL (predictions, SHAP values). Access-checked like a query's
    /// write and recorded in the query log with `description` as its statement; a view of the
    /// same name is replaced by the table.
    ///
    /// # Errors
    /// [`EngineError::AccessDenied`] without write access to the dataset;
    /// [`EngineError::Delta`] when the commit fails (the table is then unchanged).
    pub async fn replace_with_batches(
        &self,
        name: &TableName,
        schema: SchemaRef,
        batches: Vec<arrow::record_batch::RecordBatch>,
        description: &str,
        ctx: &QueryContext,
    ) -> Result<u64, EngineError> {
        let kind = "CREATE TABLE";
        self.authorize(
            &ctx.principal,
            &name.dataset,
            Access::Write,
            description,
            kind,
        )
        .await?;
        let started = (Utc::now(), Instant::now());
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        // Delta keeps no Arrow schema metadata and refuses batches whose schema carries some,
        // so it is dropped here, for every caller.
        let schema = Arc::new(Schema::new(schema.fields().clone()));
        let batches = if batches.is_empty() {
            vec![arrow::record_batch::RecordBatch::new_empty(schema)]
        } else {
            batches
                .into_iter()
                .map(|b| {
                    arrow::record_batch::RecordBatch::try_new(schema.clone(), b.columns().to_vec())
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| EngineError::Query(e.into()))?
        };
        let written = async {
            let table = self.store().open_or_new(name).await?;
            table
                .write(batches)
                .with_writer_properties(self.project().config().storage.writer_properties())
                .with_save_mode(SaveMode::Overwrite)
                .with_schema_mode(SchemaMode::Overwrite)
                .await
                .map_err(|source| EngineError::Delta {
                    table: name.to_string(),
                    source,
                })
        }
        .await;
        let logged = written.as_ref().map(|_| (rows, Vec::new()));
        self.log_write(name, description, kind, ctx, started, &logged)
            .await?;
        let table = written?;
        if self.store().view_sql(name).is_some() {
            self.store().remove_view(name)?;
        }
        Ok(table.version().unwrap_or(0) as u64)
    }

    async fn write_query_inner(
        &self,
        request: &WriteRequest,
        ctx: &QueryContext,
    ) -> Result<(WriteOutcome, Vec<TableScan>), EngineError> {
        let name = &request.table;
        let plan = self.plan_checked(&request.sql, ctx).await?;
        let output: Schema = plan.schema().as_arrow().clone();
        let opened = self.store().open(name).await?;
        let existing = match &opened {
            Some(table) => Some(table_schema(table, name)?),
            None => None,
        };
        let incremental = !request.full_refresh
            && existing.is_some()
            && !matches!(request.mode, WriteMode::Replace);
        let materialize_err = |message: String, hint: &'static str| EngineError::Materialize {
            table: name.to_string(),
            message,
            hint,
        };

        let mut added_columns = Vec::new();
        if incremental {
            let existing = existing.as_ref().expect("checked above");
            added_columns =
                schema_change(existing, &output, request.on_schema_change).map_err(|message| {
                    materialize_err(
                        message,
                        "run with --full-refresh to rebuild the table with the new columns, \
                         or set on_schema_change = \"add_columns\" in the model's header to \
                         add new columns",
                    )
                })?;
        }

        // The incremental window, from the newest value already written.
        let window = match (&request.mode, incremental) {
            (
                WriteMode::Incremental {
                    column,
                    lookback_days,
                },
                true,
            ) => Some((column.clone(), *lookback_days)),
            (WriteMode::Merge { window, .. }, true) => window.clone(),
            _ => None,
        };
        let mut window_start = None;
        let mut filter = None;
        if let Some((column, days)) = &window {
            if let Some(start) = self.window_start(name, column, *days).await? {
                window_start = Some(start.to_string());
                filter = Some(ident(column).gt_eq(lit(start)));
            }
        }

        let mut builder = LogicalPlanBuilder::from(plan);
        if let Some(filter) = &filter {
            builder = builder.filter(filter.clone()).map_err(EngineError::Query)?;
        }
        if !request.cluster_by.is_empty() {
            let sort = request
                .cluster_by
                .iter()
                .map(|c| ident(c).sort(true, true))
                .collect::<Vec<_>>();
            builder = builder.sort(sort).map_err(EngineError::Query)?;
        }
        let plan = builder.build().map_err(EngineError::Query)?;
        let (input, physical, rows) = self.streamed(plan).await?;

        let partition_by: Vec<String> = match &request.partition_by {
            Some(column) => {
                let field = output.field_with_name(column).map_err(|_| {
                    materialize_err(
                        format!("partition column `{column}` is not in the query's output"),
                        "select the column, or change partition_by in the model's header",
                    )
                })?;
                match field.data_type() {
                    // Delta partitions are directories: one per day, never one per instant.
                    DataType::Date32 => vec![column.clone()],
                    DataType::Timestamp(..) => Vec::new(),
                    other => {
                        return Err(materialize_err(
                            format!(
                                "partition column `{column}` is {}, not DATE or TIMESTAMP",
                                bigquery_type_name(other)
                            ),
                            "partition by a DATE column (e.g. DATE(created_at)) or a TIMESTAMP",
                        ))
                    }
                }
            }
            None => Vec::new(),
        };

        // A merge needs the table's loaded state; a new table has none to load.
        let table = match opened {
            Some(table) => table,
            None => self.store().open_or_new(name).await?,
        };
        let delta_err = |source| EngineError::Delta {
            table: name.to_string(),
            source,
        };
        let commit = CommitProperties::default().with_metadata([(
            "kura.write".to_string(),
            serde_json::json!({"sql": request.sql, "mode": format!("{:?}", request.mode)}),
        )]);
        let committed = match (&request.mode, incremental) {
            (WriteMode::Merge { keys, .. }, true) => {
                for key in keys {
                    if output.field_with_name(key).is_err() {
                        return Err(materialize_err(
                            format!("unique key column `{key}` is not in the query's output"),
                            "select the key column, or fix unique_key in the model's header",
                        ));
                    }
                }
                // A merge reads its source more than once (to prune target files, then to
                // join), and a physical plan's file scans run once: merge from memory. The
                // source of an incremental merge is the new rows, not the table.
                let schema = physical.schema();
                let batches =
                    datafusion::physical_plan::collect(physical.clone(), self.session().task_ctx())
                        .await
                        .map_err(EngineError::Query)?;
                rows.store(
                    batches.iter().map(|b| b.num_rows() as u64).sum(),
                    Ordering::Relaxed,
                );
                let memory = datafusion::datasource::MemTable::try_new(schema, vec![batches])
                    .map_err(EngineError::Query)?;
                drop(input);
                let source = self
                    .session()
                    .read_table(Arc::new(memory))
                    .map_err(EngineError::Query)?;
                let predicate = keys
                    .iter()
                    .map(|k| qualified("target", k).eq(qualified("source", k)))
                    .reduce(Expr::and)
                    .ok_or_else(|| {
                        materialize_err(
                            "a merge needs at least one unique key column".into(),
                            "set unique_key in the model's header",
                        )
                    })?;
                let columns: Vec<String> =
                    output.fields().iter().map(|f| f.name().clone()).collect();
                let update_columns = columns.clone();
                table
                    .merge(source, predicate)
                    .with_writer_properties(self.project().config().storage.writer_properties())
                    .with_source_alias("source")
                    .with_target_alias("target")
                    .with_merge_schema(!added_columns.is_empty())
                    .with_commit_properties(commit)
                    .when_matched_update(|mut update| {
                        for c in &update_columns {
                            update = update
                                .update(Column::new_unqualified(c.clone()), qualified("source", c));
                        }
                        update
                    })
                    .map_err(delta_err)?
                    .when_not_matched_insert(|mut insert| {
                        for c in &columns {
                            insert = insert
                                .set(Column::new_unqualified(c.clone()), qualified("source", c));
                        }
                        insert
                    })
                    .map_err(delta_err)?
                    .await
                    .map_err(delta_err)?
                    .0
            }
            _ => {
                let input_plan =
                    LogicalPlanBuilder::scan("kura_model", provider_as_source(input), None)
                        .and_then(LogicalPlanBuilder::build)
                        .map_err(EngineError::Query)?;
                let mut write = table
                    .write(Vec::new())
                    .with_writer_properties(self.project().config().storage.writer_properties())
                    .with_input_plan(input_plan)
                    .with_commit_properties(commit);
                if let (Some(filter), true) = (filter, incremental) {
                    write = write
                        .with_save_mode(SaveMode::Overwrite)
                        .with_replace_where(filter);
                    if !added_columns.is_empty() {
                        write = write.with_schema_mode(SchemaMode::Merge);
                    }
                } else if incremental {
                    // An incremental table with nothing in it yet: append is all there is.
                    write = write.with_save_mode(SaveMode::Append);
                    if !added_columns.is_empty() {
                        write = write.with_schema_mode(SchemaMode::Merge);
                    }
                } else {
                    write = write
                        .with_save_mode(SaveMode::Overwrite)
                        .with_schema_mode(SchemaMode::Overwrite);
                    if !partition_by.is_empty() {
                        write = write.with_partition_columns(partition_by.clone());
                    }
                }
                write.await.map_err(delta_err)?
            }
        };
        let mut scans = Vec::new();
        crate::warehouse::collect_file_scans(physical.as_ref(), &mut scans);
        let tables = self.scans_per_table(scans);
        Ok((
            WriteOutcome {
                version: committed.version().unwrap_or(0) as u64,
                rows: rows.load(Ordering::Relaxed),
                bytes_scanned: 0,
                window_start,
                added_columns,
                full_build: !incremental,
            },
            tables,
        ))
    }

    /// The first value of the rebuilt window: `lookback_days` before the day of the newest
    /// value of `column` in the table; `None` when the table is empty.
    async fn window_start(
        &self,
        name: &TableName,
        column: &str,
        lookback_days: u32,
    ) -> Result<Option<ScalarValue>, EngineError> {
        let frame = self
            .session()
            .table(TableReference::full(
                "kura",
                name.dataset.clone(),
                name.table.clone(),
            ))
            .await
            .map_err(EngineError::Query)?
            .aggregate(vec![], vec![max(ident(column)).alias("newest")])
            .map_err(EngineError::Query)?;
        let batches = frame.collect().await.map_err(EngineError::Query)?;
        let Some(batch) = batches.first().filter(|b| b.num_rows() > 0) else {
            return Ok(None);
        };
        let newest = ScalarValue::try_from_array(batch.column(0), 0).map_err(EngineError::Query)?;
        const DAY_MICROS: i64 = 86_400_000_000;
        let days = i64::from(lookback_days);
        Ok(match newest {
            ScalarValue::Date32(Some(d)) => {
                Some(ScalarValue::Date32(Some(d - lookback_days as i32)))
            }
            ScalarValue::TimestampMicrosecond(Some(t), tz) => {
                Some(ScalarValue::TimestampMicrosecond(
                    Some(t.div_euclid(DAY_MICROS) * DAY_MICROS - days * DAY_MICROS),
                    tz,
                ))
            }
            ScalarValue::TimestampNanosecond(Some(t), tz) => {
                let day = DAY_MICROS * 1000;
                Some(ScalarValue::TimestampNanosecond(
                    Some(t.div_euclid(day) * day - days * day),
                    tz,
                ))
            }
            v if v.is_null() => None,
            other => {
                return Err(EngineError::Materialize {
                    table: name.to_string(),
                    message: format!(
                        "incremental column `{column}` is {}, not DATE or TIMESTAMP",
                        bigquery_type_name(&other.data_type())
                    ),
                    hint: "set partition_by to a DATE or TIMESTAMP column",
                })
            }
        })
    }

    /// Plans `plan` physically with the warehouse's session and exposes its output as a table
    /// Delta can read, counting rows as they pass. The physical plan is returned so the bytes
    /// it scanned can be read from its metrics after the write.
    async fn streamed(
        &self,
        plan: LogicalPlan,
    ) -> Result<
        (
            Arc<dyn TableProvider>,
            Arc<dyn ExecutionPlan>,
            Arc<AtomicU64>,
        ),
        EngineError,
    > {
        let mut physical = self
            .session()
            .state()
            .create_physical_plan(&plan)
            .await
            .map_err(EngineError::Query)?;
        if physical.output_partitioning().partition_count() > 1 {
            physical = Arc::new(CoalescePartitionsExec::new(physical));
        }
        let schema = physical.schema();
        let rows = Arc::new(AtomicU64::new(0));
        let partition = Arc::new(PlanPartition {
            schema: schema.clone(),
            plan: physical.clone(),
            task: self.session().task_ctx(),
            rows: rows.clone(),
        });
        let table = StreamingTable::try_new(schema, vec![partition]).map_err(EngineError::Query)?;
        Ok((Arc::new(table), physical, rows))
    }

    pub(crate) async fn log_write(
        &self,
        name: &TableName,
        sql: &str,
        kind: &str,
        ctx: &QueryContext,
        (start_time, timer): (chrono::DateTime<Utc>, Instant),
        outcome: &Result<(u64, Vec<TableScan>), &EngineError>,
    ) -> Result<(), EngineError> {
        let (status, error, rows, tables) = match outcome {
            Ok((rows, tables)) => (QueryStatus::Ok, None, *rows, tables.clone()),
            Err(e) => (QueryStatus::Error, Some(e.to_string()), 0, Vec::new()),
        };
        let mut labels = ctx.labels.clone();
        labels.push(("target".into(), name.to_string()));
        self.record(QueryLogEntry {
            query_id: uuid::Uuid::new_v4().to_string(),
            principal: ctx.principal.clone(),
            labels,
            statement: sql.to_string(),
            statement_type: kind.to_string(),
            start_time,
            duration_ms: timer.elapsed().as_millis() as i64,
            bytes_scanned: tables.iter().map(|t| t.bytes).sum(),
            tables,
            rows,
            status,
            error,
        })
        .await
    }
}

fn qualified(relation: &str, column: &str) -> Expr {
    Expr::Column(Column::new(Some(TableReference::bare(relation)), column))
}

fn table_schema(table: &deltalake::DeltaTable, name: &TableName) -> Result<Schema, EngineError> {
    let state = table.snapshot().map_err(|source| EngineError::Delta {
        table: name.to_string(),
        source,
    })?;
    Ok(state.snapshot().arrow_schema().as_ref().clone())
}

/// The columns `output` adds to `existing`, or why the change is refused.
fn schema_change(
    existing: &Schema,
    output: &Schema,
    policy: SchemaChangePolicy,
) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for field in existing.fields() {
        match output.field_with_name(field.name()) {
            Err(_) => problems.push(format!("column `{}` was removed", field.name())),
            Ok(new) if !same_type(new.data_type(), field.data_type()) => problems.push(format!(
                "column `{}` changed from {} to {}",
                field.name(),
                bigquery_type_name(field.data_type()),
                bigquery_type_name(new.data_type())
            )),
            Ok(_) => {}
        }
    }
    let added: Vec<String> = output
        .fields()
        .iter()
        .filter(|f| existing.field_with_name(f.name()).is_err())
        .map(|f| f.name().clone())
        .collect();
    if !added.is_empty() && policy == SchemaChangePolicy::Fail {
        problems.push(format!(
            "new column{} {} (on_schema_change is \"fail\")",
            if added.len() == 1 { "" } else { "s" },
            added
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(added)
    } else {
        Err(format!(
            "the incremental table's schema changed: {}",
            problems.join("; ")
        ))
    }
}

/// Types equal for schema-change purposes: Delta stores strings and timestamps in fewer
/// physical forms than a query may produce (Utf8View, zone-less microseconds).
fn same_type(a: &DataType, b: &DataType) -> bool {
    fn norm(t: &DataType) -> DataType {
        match t {
            DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
            DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            other => other.clone(),
        }
    }
    norm(a) == norm(b)
}

/// One partition whose stream is a physical plan's output, counted.
#[derive(Debug)]
struct PlanPartition {
    schema: SchemaRef,
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    rows: Arc<AtomicU64>,
}

impl PartitionStream for PlanPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        // The warehouse's own task context: its functions and settings, not Delta's.
        let rows = self.rows.clone();
        match self.plan.execute(0, self.task.clone()) {
            Ok(stream) => {
                let counted = stream.map(move |batch| {
                    if let Ok(b) = &batch {
                        rows.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                    }
                    batch
                });
                Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), counted))
            }
            Err(e) => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async move { Err(e) }),
            )),
        }
    }
}
