//! Atomic writes of whole days to the GA4 tables, which are all partitioned by `event_date`.
//!
//! delta-rs's write operation splits every incoming batch by partition value, a copy of every
//! row, and keeps a Parquet writer open for every day it has seen until the write ends. A GA4
//! batch always holds a single day (an export file is one day; a raw scan is read one day at a
//! time), so kura writes each day's files itself with delta-rs's [`DeltaWriter`], closes them
//! as soon as the day is done, and commits every day at once: the new files added, the replaced
//! days' files removed, and the schema widened in the same commit when it changed.
//!
//! A [`DayWrite`] is shared by the threads that produce batches; each holds its own
//! [`DayFiles`], so the Parquet encoding runs on every core that decodes.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use delta_kernel::expressions::Scalar;
use delta_kernel::table_properties::DataSkippingNumIndexedCols;
use deltalake::datafile::writer::{DeltaWriter, WriterConfig};
use deltalake::kernel::engine::arrow_conversion::{TryIntoArrow, TryIntoKernel};
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TableReference};
use deltalake::kernel::{Action, Add, LogicalFileView, MetadataExt, StructType};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::DeltaTable;
use futures::TryStreamExt;
use indexmap::IndexMap;
use kura_engine::{TableName, Warehouse};
use parquet::file::properties::WriterProperties;

use crate::error::Ga4Error;
use crate::schema::conform_batch;

/// The partition column of every GA4 table.
const DAY_COLUMN: &str = "event_date";

/// How a table stores its `event_date` partition: the export's `YYYYMMDD` text in
/// `raw.ga4_events`, a DATE in the flat tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayFormat {
    Text,
    Date,
}

impl DayFormat {
    fn scalar(self, day: NaiveDate) -> Scalar {
        match self {
            Self::Text => Scalar::String(day.format("%Y%m%d").to_string()),
            Self::Date => Scalar::Date(crate::state::date_to_days(day)),
        }
    }

    /// The day as a Delta log's `partitionValues` spell it.
    fn partition_value(self, day: NaiveDate) -> String {
        match self {
            Self::Text => day.format("%Y%m%d").to_string(),
            Self::Date => day.format("%Y-%m-%d").to_string(),
        }
    }

    fn sql_literal(self, day: NaiveDate) -> String {
        match self {
            Self::Text => format!("'{}'", day.format("%Y%m%d")),
            Self::Date => format!("DATE '{}'", day.format("%Y-%m-%d")),
        }
    }
}

/// What a write's commit does to the days already in the table.
#[derive(Debug, Clone)]
pub(crate) enum Replace {
    /// Removes the files of these days: a day reloaded, or rebuilt from the raw table.
    Days(Vec<NaiveDate>),
    /// Removes every file: a rebuild of the whole table, whose schema may change type.
    All,
}

/// The days `name` holds, from its log.
pub(crate) async fn table_days(
    wh: &Warehouse,
    name: &TableName,
    format: DayFormat,
) -> Result<Vec<NaiveDate>, Ga4Error> {
    Ok(day_rows(wh, name, format)
        .await?
        .into_iter()
        .map(|(day, _)| day)
        .collect())
}

/// The days `name` holds and the rows of each, in day order, from its log (the files' record
/// counts; a file without one counts as empty).
pub(crate) async fn day_rows(
    wh: &Warehouse,
    name: &TableName,
    format: DayFormat,
) -> Result<Vec<(NaiveDate, u64)>, Ga4Error> {
    let delta = |source: deltalake::DeltaTableError| Ga4Error::Delta {
        table: name.to_string(),
        source: Box::new(source),
    };
    let Some(table) = wh.store().open(name).await? else {
        return Ok(Vec::new());
    };
    let pattern = match format {
        DayFormat::Text => "%Y%m%d",
        DayFormat::Date => "%Y-%m-%d",
    };
    let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for (day, file) in files_by_day(&table).await.map_err(delta)? {
        if let Some(day) = day.and_then(|d| NaiveDate::parse_from_str(&d, pattern).ok()) {
            *days.entry(day).or_default() += file.num_records().unwrap_or(0) as u64;
        }
    }
    Ok(days.into_iter().collect())
}

/// The live files of `table`, each with its day as the log spells it.
async fn files_by_day(
    table: &DeltaTable,
) -> Result<Vec<(Option<String>, LogicalFileView)>, deltalake::DeltaTableError> {
    let log_store = table.log_store();
    let files: Vec<LogicalFileView> = table
        .snapshot()?
        .snapshot()
        .file_views(log_store.as_ref(), None)
        .try_collect()
        .await?;
    Ok(files
        .into_iter()
        .map(|file| {
            (
                file.partition_values_map().remove(DAY_COLUMN).flatten(),
                file,
            )
        })
        .collect())
}

/// One write of whole days to a GA4 table; see the module documentation.
pub(crate) struct DayWrite {
    name: TableName,
    table: DeltaTable,
    /// The schema the files are written in: the table's, with the write's new columns.
    schema: SchemaRef,
    /// The table's schema before the write; `None` when the commit creates the table.
    current: Option<StructType>,
    /// The table's schema after the commit, when it differs from the current one.
    new_schema: Option<StructType>,
    config: WriterConfig,
    /// What a writer of a file in another schema needs (see [`DayFiles::write_as_is`]).
    properties: WriterProperties,
    target_file_size: Option<NonZeroU64>,
    stats: (DataSkippingNumIndexedCols, Option<Vec<String>>),
    format: DayFormat,
    /// What the commit removes; nothing when `None`.
    replace: Option<Replace>,
    adds: Mutex<Vec<Add>>,
}

impl DayWrite {
    /// Prepares a write of batches of `schema` to `name` whose commit replaces what `replace`
    /// names; a table that does not exist yet is created by the commit. With [`Replace::All`] the table takes `schema` as it is (a column may change
    /// type); otherwise columns of `schema` the table lacks are added, and columns the batches
    /// lack read NULL.
    pub(crate) async fn begin(
        wh: &Warehouse,
        name: &TableName,
        schema: &SchemaRef,
        format: DayFormat,
        properties: WriterProperties,
        target_file_size: Option<NonZeroU64>,
        replace: Option<Replace>,
    ) -> Result<Self, Ga4Error> {
        let delta = |source: deltalake::DeltaTableError| Ga4Error::Delta {
            table: name.to_string(),
            source: Box::new(source),
        };
        // A table that does not exist yet is created by the commit, with the files: a load
        // that fails leaves nothing behind.
        let existing = wh.store().open(name).await?;
        let (table, current) = match existing {
            Some(table) => {
                let current = table.snapshot().map_err(delta)?.schema();
                (table, Some(current.as_ref().clone()))
            }
            None => (wh.store().open_or_new(name).await?, None),
        };
        let stats = match table.snapshot() {
            Ok(state) if current.is_some() => {
                let config = state.table_config();
                (
                    config.data_skipping_num_indexed_cols.unwrap_or_default(),
                    config
                        .data_skipping_stats_columns
                        .as_ref()
                        .map(|c| c.iter().map(ToString::to_string).collect()),
                )
            }
            _ => (Default::default(), None),
        };
        let placeholder = Arc::new(Schema::empty());
        let mut write = Self {
            name: name.clone(),
            table,
            schema: placeholder.clone(),
            current,
            new_schema: None,
            config: writer_config(placeholder, &properties, target_file_size, &stats),
            properties,
            target_file_size,
            stats,
            format,
            replace,
            adds: Mutex::new(Vec::new()),
        };
        write.set_schema(schema)?;
        Ok(write)
    }

    /// Sets the schema the commit gives the table, as [`DayWrite::begin`] describes, and the
    /// one [`DayFiles::write`] converts batches to. Files written before in another schema
    /// (with [`DayFiles::write_as_is`]) must hold a subset of its columns, in the same types.
    pub(crate) fn set_schema(&mut self, schema: &SchemaRef) -> Result<(), Ga4Error> {
        let delta = |source: deltalake::DeltaTableError| Ga4Error::Delta {
            table: self.name.to_string(),
            source: Box::new(source),
        };
        let wanted: StructType = schema
            .as_ref()
            .try_into_kernel()
            .map_err(|e| delta(e.into()))?;
        let merged = match &self.current {
            Some(current) if !matches!(self.replace, Some(Replace::All)) => {
                let missing: Vec<_> = wanted
                    .fields()
                    .filter(|f| current.field(f.name()).is_none())
                    .cloned()
                    .collect();
                StructType::try_new(current.fields().cloned().chain(missing))
                    .map_err(|e| delta(e.into()))?
            }
            _ => wanted,
        };
        self.new_schema = self
            .current
            .as_ref()
            .is_some_and(|current| merged != *current)
            .then(|| merged.clone());
        let file_schema: Schema = (&merged).try_into_arrow().map_err(|e| delta(e.into()))?;
        self.schema = Arc::new(file_schema);
        self.config = writer_config(
            self.schema.clone(),
            &self.properties,
            self.target_file_size,
            &self.stats,
        );
        Ok(())
    }

    /// Deletes the files written so far and drops the write: the table is as it was.
    pub(crate) async fn discard(self) -> Result<(), Ga4Error> {
        let adds = std::mem::take(&mut *self.adds.lock().map_err(|_| poisoned(&self.name))?);
        let store = self.table.log_store().object_store(None);
        for add in adds {
            let path = object_store::path::Path::from(add.path.as_str());
            match object_store::ObjectStoreExt::delete(store.as_ref(), &path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(Ga4Error::Delta {
                        table: self.name.to_string(),
                        source: Box::new(e.into()),
                    })
                }
            }
        }
        Ok(())
    }

    /// A writer of files for one producer (one thread or one task).
    pub(crate) fn files(self: &Arc<Self>) -> DayFiles {
        DayFiles {
            write: self.clone(),
            open: None,
        }
    }

    /// Commits every file the [`DayFiles`] of this write have finished, replacing what the
    /// write's [`Replace`] names, with `metadata` in the commit's information.
    pub(crate) async fn commit(
        self,
        metadata: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Result<(), Ga4Error> {
        let delta = |source: deltalake::DeltaTableError| Ga4Error::Delta {
            table: self.name.to_string(),
            source: Box::new(source),
        };
        let adds = std::mem::take(&mut *self.adds.lock().map_err(|_| poisoned(&self.name))?);
        let properties = CommitProperties::default().with_metadata(metadata);
        if self.current.is_none() {
            let schema: StructType = self
                .schema
                .as_ref()
                .try_into_kernel()
                .map_err(|e| delta(e.into()))?;
            self.table
                .create()
                .with_columns(schema.fields().cloned())
                .with_partition_columns([DAY_COLUMN])
                .with_actions(adds.into_iter().map(Action::Add))
                .with_commit_properties(properties)
                .await
                .map_err(delta)?;
            return Ok(());
        }
        let state = self.table.snapshot().map_err(delta)?;
        let mut actions: Vec<Action> = Vec::with_capacity(adds.len() + 1);
        if let Some(schema) = &self.new_schema {
            actions.push(Action::Metadata(
                state
                    .metadata()
                    .clone()
                    .with_schema(schema)
                    .map_err(|e| delta(e.into()))?,
            ));
        }
        let replace = self.replace.as_ref();
        let predicate = match replace {
            None => None,
            Some(replace) => {
                let days: Option<BTreeSet<String>> = match replace {
                    Replace::Days(days) => Some(
                        days.iter()
                            .map(|d| self.format.partition_value(*d))
                            .collect(),
                    ),
                    Replace::All => None,
                };
                for (day, file) in files_by_day(&self.table).await.map_err(delta)? {
                    let replaced = match (&days, day) {
                        (None, _) => true,
                        (Some(days), Some(day)) => days.contains(&day),
                        (Some(_), None) => false,
                    };
                    if replaced {
                        actions.push(Action::Remove(file.remove_action(true)));
                    }
                }
                Some(match replace {
                    Replace::Days(days) => format!(
                        "{DAY_COLUMN} IN ({})",
                        days.iter()
                            .map(|d| self.format.sql_literal(*d))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Replace::All => "true".to_string(),
                })
            }
        };
        actions.extend(adds.into_iter().map(Action::Add));
        let operation = DeltaOperation::Write {
            mode: if replace.is_some() {
                SaveMode::Overwrite
            } else {
                SaveMode::Append
            },
            partition_by: Some(vec![DAY_COLUMN.to_string()]),
            predicate,
        };
        CommitBuilder::from(properties)
            .with_actions(actions)
            .build(
                Some(state as &dyn TableReference),
                self.table.log_store(),
                operation,
            )
            .await
            .map_err(delta)?;
        Ok(())
    }
}

/// The files one producer writes for a [`DayWrite`]: one day's file open at a time, closed
/// when the next day starts or the producer finishes.
pub(crate) struct DayFiles {
    write: Arc<DayWrite>,
    /// The open file's day, schema and writer.
    open: Option<(NaiveDate, SchemaRef, DeltaWriter)>,
}

impl DayFiles {
    /// Writes `batch`, whose rows all belong to `day`, converting it to the write's schema.
    pub(crate) async fn write(
        &mut self,
        day: NaiveDate,
        batch: &RecordBatch,
    ) -> Result<(), Ga4Error> {
        let batch = conform_batch(batch, &self.write.schema).map_err(|source| Ga4Error::Arrow {
            context: format!("writing {}", self.write.name),
            source,
        })?;
        self.write_batch(day, batch).await
    }

    /// Writes `batch`, whose rows all belong to `day`, in its own schema: a file holds one
    /// schema, so a batch of another schema than the open file's starts a new file. The
    /// columns a file lacks read NULL; the schema the commit gives the table
    /// ([`DayWrite::set_schema`]) must hold every column of every batch, in the same type.
    pub(crate) async fn write_as_is(
        &mut self,
        day: NaiveDate,
        batch: RecordBatch,
    ) -> Result<(), Ga4Error> {
        self.write_batch(day, batch).await
    }

    async fn write_batch(&mut self, day: NaiveDate, batch: RecordBatch) -> Result<(), Ga4Error> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let schema = batch.schema();
        if self
            .open
            .as_ref()
            .is_some_and(|(open, open_schema, _)| *open != day || *open_schema != schema)
        {
            self.close().await?;
        }
        let write = &self.write;
        let (_, _, writer) = self.open.get_or_insert_with(|| {
            // Files in the write's own schema share its config, and so its upload budget.
            let config = if schema == write.schema {
                write.config.clone()
            } else {
                writer_config(
                    schema.clone(),
                    &write.properties,
                    write.target_file_size,
                    &write.stats,
                )
            };
            let store = write.table.log_store().object_store(None);
            (day, schema, DeltaWriter::new(store, config))
        });
        let mut values = IndexMap::new();
        values.insert(DAY_COLUMN.to_string(), write.format.scalar(day));
        writer
            .write_partition(batch, &values)
            .await
            .map_err(|source| Ga4Error::Delta {
                table: write.name.to_string(),
                source: Box::new(source),
            })
    }

    /// Closes the open day's file and hands it to the commit.
    pub(crate) async fn finish(mut self) -> Result<(), Ga4Error> {
        self.close().await
    }

    async fn close(&mut self) -> Result<(), Ga4Error> {
        let Some((_, _, writer)) = self.open.take() else {
            return Ok(());
        };
        let adds = writer.close().await.map_err(|source| Ga4Error::Delta {
            table: self.write.name.to_string(),
            source: Box::new(source),
        })?;
        self.write
            .adds
            .lock()
            .map_err(|_| poisoned(&self.write.name))?
            .extend(adds);
        Ok(())
    }
}

fn writer_config(
    schema: SchemaRef,
    properties: &WriterProperties,
    target_file_size: Option<NonZeroU64>,
    (num_indexed_cols, stats_columns): &(DataSkippingNumIndexedCols, Option<Vec<String>>),
) -> WriterConfig {
    WriterConfig::new(
        schema,
        vec![DAY_COLUMN.to_string()],
        Some(properties.clone()),
        target_file_size,
        None,
        *num_indexed_cols,
        stats_columns.clone(),
    )
}

fn poisoned(name: &TableName) -> Ga4Error {
    Ga4Error::Io {
        path: std::path::PathBuf::from(name.to_string()),
        source: std::io::Error::other("a writer thread panicked"),
    }
}
