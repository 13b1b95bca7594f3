//! `kura ga4 load`: export files into `raw.ga4_events`, then the flat tables.
//!
//! 1. *Plan per day*. A file is the unit of loading, and a property's day the unit the export
//!    tables supersede each other in: a day is loaded from the most complete kind present
//!    (daily over fresh over intraday), unless the raw table already holds a more complete
//!    kind for it. When it holds the same kind, the files are shards of the day: a file whose
//!    name and content hash are held is skipped, a changed or new one replaces only its own
//!    rows, and the day's other shards stay (`--force` makes the files given the whole day).
//!    Another property's rows of the day always stay.
//! 2. *Raw*. The days' files are read in a producer thread and streamed into one Delta
//!    commit that replaces those days' partitions whole, so the rows that stay (see
//!    [`KeptRows`]) are read back and written again first; every key's value fields are
//!    counted on the way.
//! 3. *Flat*. Keys get their columns (new keys add columns, mixed types widen them; see
//!    [`crate::keys`]). `ga4.events`, `ga4.event_params`, `ga4.user_properties` and
//!    `ga4.items` were written from the same batches (see `flat_writes`) and are committed,
//!    or, when the columns settled differently, rebuilt for the loaded days from the raw
//!    table. When a column's type widened, they are rebuilt for every day.
//! 4. *Derived*. `ga4.sessions` and `ga4.pages` are recomputed.
//!
//! The flat tables are a function of the raw table, so a failure after step 2 is repaired by
//! `kura ga4 rebuild` (or the next load of the same days).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{NaiveDate, Utc};
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::{binary_expr, col, lit, Expr, Operator};
use futures::StreamExt;
use kura_engine::access::Access;
use kura_engine::load::{InputFile, RejectedRow};
use kura_engine::query_log::{QueryLogEntry, QueryStatus};
use kura_engine::{TableName, Warehouse};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::day_write::{self, DayFiles, DayFormat, DayWrite, Replace};
use crate::derived;
use crate::error::Ga4Error;
use crate::export_file::{discover, ExportFile, ExportKind};
use crate::flat_writes::{flat_layouts, BatchKeys, FlatOutcome, FlatWrites, Flatten, KEY_SCOPES};
use crate::flatten::{EventsLayout, ItemsLayout};
use crate::keys::{
    assign_columns, count_keys, KeyColumn, KeyCounts, KeyScope, ParamList, ParamType, Widening,
};
use crate::reader::{
    parquet_extra_fields, read_schema, ChunkDecoder, ExportReader, Piece, RawChunk,
};
use crate::schema::{self, raw_schema, EVENT_PARAMS, ITEMS, ITEM_PARAMS, USER_PROPERTIES};
use crate::state::{self, ColumnRecord, FileRecord, HeldFile, KeyDays, Slot, SlotState};

pub const RAW_TABLE: (&str, &str) = ("raw", "ga4_events");
pub const DATASET: &str = "ga4";

/// What to load and how.
#[derive(Debug, Clone)]
pub struct Ga4LoadRequest {
    pub paths: Vec<PathBuf>,
    /// Lines that cannot be read are kept in `raw.ga4_events__rejected` up to this many;
    /// above it the load fails and nothing is written.
    pub max_bad_rows: u64,
    /// Load days even when the raw table already holds exactly these files.
    pub force: bool,
    /// The GA4 property the files come from, recorded in `_kura.ga4_files`.
    pub property: Option<String>,
}

/// What happened to one file.
#[derive(Debug, Clone)]
pub enum Ga4FileStatus {
    Loaded { rows: u64, rejected: u64 },
    Skipped { reason: String },
}

#[derive(Debug, Clone)]
pub struct Ga4FileOutcome {
    pub path: PathBuf,
    pub kind: ExportKind,
    pub date: NaiveDate,
    pub status: Ga4FileStatus,
}

/// What a load did.
#[derive(Debug, Clone, Default)]
pub struct Ga4LoadOutcome {
    pub load_id: String,
    pub files: Vec<Ga4FileOutcome>,
    /// Days replaced in the raw and flat tables.
    pub days: Vec<NaiveDate>,
    pub events: u64,
    pub rejected: u64,
    pub new_columns: Vec<KeyColumn>,
    pub widened: Vec<Widening>,
    /// Columns whose values in this load's days came in more than one type (the column holds
    /// the most general), with how many of each.
    pub mixed_types: Vec<(KeyColumn, KeyCounts)>,
    /// Events without a `ga_session_id` parameter: not part of any session.
    pub events_without_session: u64,
    pub sessions: u64,
    pub elapsed: Duration,
    /// Why the flat tables were rebuilt from the raw table after the load instead of being
    /// written while the files were read (see `flat_writes`); `None` when they were not.
    pub flat_rebuilt: Option<String>,
    /// Time per step: reading into the raw table, the flat tables, sessions and pages.
    pub phases: Vec<(&'static str, Duration)>,
}

/// A day to load and the files it comes from.
struct DayPlan {
    date: NaiveDate,
    kind: ExportKind,
    files: Vec<PlannedFile>,
    kept: KeptRows,
}

/// Which of the rows the raw table holds for a loaded day stay: the rows of other properties,
/// and of this property's files that the load does not bring again (the other shards of a day,
/// loaded before). Everything else of the day is replaced.
#[derive(Debug, Clone, Default)]
struct KeptRows {
    other_properties: bool,
    /// File names (`_source_file`) of the loaded property whose rows stay.
    files: Vec<String>,
}

impl KeptRows {
    fn any(&self) -> bool {
        self.other_properties || !self.files.is_empty()
    }
}

/// A file to load, with its content hash when planning needed it (a day the raw table already
/// holds in the same kind); the others are hashed as they are read.
type PlannedFile = (ExportFile, Option<String>);

/// Loads GA4 export files as `principal`; see the module docs.
///
/// # Errors
/// Access denied on `raw` or `ga4`, bad file names, unreadable lines beyond
/// `max_bad_rows`, I/O and Delta errors.
pub async fn load(
    wh: &Warehouse,
    request: &Ga4LoadRequest,
    principal: &str,
) -> Result<Ga4LoadOutcome, Ga4Error> {
    let started = Instant::now();
    let start_time = Utc::now();
    let statement = format!(
        "GA4 LOAD {}",
        request
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for dataset in [RAW_TABLE.0, DATASET] {
        wh.authorize(principal, dataset, Access::Write, &statement, "LOAD")
            .await?;
    }
    let result = load_authorized(wh, request, principal, started).await;
    let (status, error, rows) = match &result {
        Ok(o) => (QueryStatus::Ok, None, o.events),
        Err(e) => (QueryStatus::Error, Some(e.to_string()), 0),
    };
    wh.record(QueryLogEntry {
        query_id: result
            .as_ref()
            .map(|o| o.load_id.clone())
            .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string()),
        principal: principal.to_string(),
        labels: vec![("source".into(), "ga4".into())],
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

/// Decides, per day, which files to load and which of the day's rows stay (see the module
/// docs): a file is the unit of loading, a property and day the unit the export tables
/// supersede each other in.
fn plan_days(
    files: Vec<ExportFile>,
    held: &BTreeMap<Slot, SlotState>,
    property: &Option<String>,
    force: bool,
    outcomes: &mut Vec<Ga4FileOutcome>,
) -> Result<Vec<DayPlan>, Ga4Error> {
    let mut by_day: BTreeMap<NaiveDate, Vec<PlannedFile>> = BTreeMap::new();
    for f in files {
        by_day.entry(f.date).or_default().push((f, None));
    }
    let skip = |outcomes: &mut Vec<Ga4FileOutcome>, f: &ExportFile, reason: String| {
        outcomes.push(Ga4FileOutcome {
            path: f.path.clone(),
            kind: f.kind,
            date: f.date,
            status: Ga4FileStatus::Skipped { reason },
        });
    };
    let mut plans = Vec::new();
    for (date, day_files) in by_day {
        let Some(best) = day_files.iter().map(|(f, _)| f.kind).max() else {
            continue;
        };
        let slot = held.get(&(property.clone(), date));
        if let Some(h) = slot.filter(|h| h.kind > best) {
            for (f, _) in &day_files {
                skip(
                    outcomes,
                    f,
                    format!(
                        "the {} table of {date} is already loaded; {} files are partial views of the day",
                        h.kind.as_str(),
                        f.kind.as_str()
                    ),
                );
            }
            continue;
        }
        let (mut chosen, superseded): (Vec<_>, Vec<_>) =
            day_files.into_iter().partition(|(f, _)| f.kind == best);
        for (f, _) in &superseded {
            skip(
                outcomes,
                f,
                format!(
                    "superseded by the {} file of {date} in this load",
                    best.as_str()
                ),
            );
        }
        let mut names = BTreeMap::new();
        for (f, _) in &chosen {
            let name = source_file_name(f);
            if let Some(other) = names.insert(name.clone(), f.path.clone()) {
                return Err(Ga4Error::FileName {
                    path: f.path.clone(),
                    reason: format!(
                        "{} has the same name; a day's files are told apart by name, so load one of them",
                        other.display()
                    ),
                });
            }
        }
        let mut kept = KeptRows {
            other_properties: held.keys().any(|(p, d)| *d == date && p != property),
            files: Vec::new(),
        };
        // The same export table as held: the files are shards of the day, each replacing
        // only its own rows, and a file loaded with the same content is skipped. `--force`
        // makes the files given the whole day.
        if let Some(h) = slot.filter(|h| !force && h.kind == best) {
            let mut fresh = Vec::new();
            for (f, _) in chosen {
                let content_hash = InputFile::inspect(&f.path, f.format)?.content_hash;
                let unchanged = h
                    .files
                    .get(&source_file_name(&f))
                    .is_some_and(|held| held.content_hash == content_hash);
                if unchanged {
                    skip(outcomes, &f, "already loaded (same content)".into());
                } else {
                    fresh.push((f, Some(content_hash)));
                }
            }
            chosen = fresh;
            if chosen.is_empty() {
                continue;
            }
            kept.files = h
                .files
                .keys()
                .filter(|name| !chosen.iter().any(|(f, _)| source_file_name(f) == **name))
                .cloned()
                .collect();
        }
        plans.push(DayPlan {
            date,
            kind: best,
            files: chosen,
            kept,
        });
    }
    Ok(plans)
}

/// The name a file's rows carry in `_source_file`.
fn source_file_name(f: &ExportFile) -> String {
    state::file_name(&f.path.display().to_string())
}

async fn load_authorized(
    wh: &Warehouse,
    request: &Ga4LoadRequest,
    principal: &str,
    started: Instant,
) -> Result<Ga4LoadOutcome, Ga4Error> {
    let load_id = uuid::Uuid::new_v4().to_string();
    let files = discover(&request.paths)?;
    let mut held = state::held_files(wh).await?;
    let mut outcome = Ga4LoadOutcome {
        load_id: load_id.clone(),
        ..Ga4LoadOutcome::default()
    };
    let plans = plan_days(
        files,
        &held,
        &request.property,
        request.force,
        &mut outcome.files,
    )?;
    if plans.is_empty() {
        outcome.elapsed = started.elapsed();
        return Ok(outcome);
    }

    // 2. Raw.
    let raw_name = TableName::new(RAW_TABLE.0, RAW_TABLE.1)?;
    let existing_raw = wh.store().open(&raw_name).await?;
    let mut extra: Vec<Field> = match &existing_raw {
        Some(_) => schema::extra_fields(&*wh.table_schema(&raw_name).await?),
        None => Vec::new(),
    };
    for plan in &plans {
        for (f, _) in &plan.files {
            if f.format == kura_engine::load::FileFormat::Parquet {
                for field in parquet_extra_fields(&f.path)? {
                    if !extra.iter().any(|e| e.name() == field.name()) {
                        extra.push(field);
                    }
                }
            }
        }
    }
    let target = raw_schema(&extra);
    let loaded_at = Utc::now();
    let days: Vec<NaiveDate> = plans.iter().map(|p| p.date).collect();
    let write = Arc::new(
        DayWrite::begin(
            wh,
            &raw_name,
            &target,
            DayFormat::Text,
            writer_properties(wh, &target),
            file_size(),
            existing_raw.is_some().then(|| Replace::Days(days.clone())),
        )
        .await?,
    );
    // The flat tables are written from the same batches (see `flat_writes`).
    let column_records = state::read_columns(wh).await?;
    let existing_columns: Vec<KeyColumn> =
        column_records.iter().map(|c| c.column.clone()).collect();
    let flat = Arc::new(
        FlatWrites::begin(
            wh,
            &target,
            existing_columns,
            &days,
            |schema| writer_properties(wh, schema),
            file_size(),
        )
        .await?,
    );
    // The rows of the loaded days that stay are written again, with the files' rows.
    let kept_rows = match &existing_raw {
        Some(_) if plans.iter().any(|p| p.kept.any()) => Some(KeptScan {
            scan: plain_text_scan(wh, &raw_name).await?,
            has_property: wh
                .table_schema(&raw_name)
                .await?
                .field_with_name(schema::PROPERTY)
                .is_ok(),
            days: plans
                .iter()
                .filter(|p| p.kept.any())
                .map(|p| (p.date, p.kept.clone()))
                .collect(),
        }),
        _ => None,
    };
    let producer = RawProducer {
        flat: flat.clone(),
        days: plans
            .iter()
            .map(|p| (p.date, p.kind, p.files.clone()))
            .collect(),
        kept_rows,
        property: request.property.clone(),
        read_schema: read_schema(&extra),
        target: target.clone(),
        loaded_at,
        max_bad_rows: request.max_bad_rows,
        results: Mutex::new(ProducerResults::default()),
    };
    let handle = tokio::runtime::Handle::current();
    let producing = write.clone();
    let produced = tokio::task::spawn_blocking(move || {
        producer.convert(&producing, &handle)?;
        producer.results.into_inner().map_err(|_| poisoned())
    })
    .await
    .map_err(|_| poisoned())
    .and_then(|r| r);
    let write = Arc::into_inner(write).ok_or_else(poisoned)?;
    let flat = Arc::into_inner(flat).ok_or_else(poisoned)?;
    let results = match produced {
        Ok(results) => results,
        Err(e) => {
            // Nothing was committed; the files written so far would only take space.
            write.discard().await?;
            flat.discard().await?;
            return Err(e);
        }
    };
    write
        .commit([(
            "kura.ga4_load".to_string(),
            serde_json::json!({ "load_id": load_id }),
        )])
        .await?;
    outcome
        .phases
        .push(("raw and flat tables", started.elapsed()));
    // The rejected lines of the files whose rows were replaced go with them.
    let replaced: Vec<(String, String)> = plans
        .iter()
        .filter_map(|plan| {
            held.get(&(request.property.clone(), plan.date))
                .map(|h| (plan, h))
        })
        .flat_map(|(plan, h)| {
            h.files
                .iter()
                .filter(|(name, _)| !plan.kept.files.contains(name))
                .map(|(_, f)| (f.path.clone(), f.load_id.clone()))
        })
        .collect();
    forget_rejected(wh, &raw_name, &replaced).await?;
    if !results.rejected.is_empty() {
        kura_engine::load::write_rejected(wh, &raw_name, &load_id, &results.rejected).await?;
    }
    let mut records = Vec::new();
    for plan in &plans {
        let slot = held
            .entry((request.property.clone(), plan.date))
            .or_insert_with(|| SlotState {
                kind: plan.kind,
                files: BTreeMap::new(),
            });
        // The property's rows of the day are now the kept files' and the loaded files'.
        slot.files.retain(|name, _| plan.kept.files.contains(name));
        slot.kind = plan.kind;
        for (f, _) in &plan.files {
            let rows = results.rows.get(&f.path).copied().unwrap_or(0);
            let content_hash = results.hashes.get(&f.path).cloned().unwrap_or_default();
            let rejected = results
                .rejected
                .iter()
                .filter(|(p, _)| *p == f.path)
                .count() as u64;
            outcome.files.push(Ga4FileOutcome {
                path: f.path.clone(),
                kind: f.kind,
                date: f.date,
                status: Ga4FileStatus::Loaded { rows, rejected },
            });
            slot.files.insert(
                source_file_name(f),
                HeldFile {
                    path: f.path.display().to_string(),
                    content_hash: content_hash.clone(),
                    load_id: load_id.clone(),
                },
            );
            records.push(FileRecord {
                load_id: load_id.clone(),
                date: plan.date,
                kind: plan.kind,
                path: f.path.display().to_string(),
                content_hash,
                rows,
                rejected,
                principal: principal.to_string(),
                property: request.property.clone(),
            });
        }
    }
    state::record_files(wh, &records, loaded_at).await?;
    state::write_held_files(wh, &held).await?;
    outcome.events = results.rows.values().sum();
    outcome.rejected = results.rejected.len() as u64;
    outcome.days = days.clone();

    // 3. Keys and flat tables.
    let mut key_days = state::read_key_days(wh).await?;
    key_days.retain(|(_, _, d), _| !days.contains(d));
    let mut loaded_counts: BTreeMap<(KeyScope, String), KeyCounts> = BTreeMap::new();
    for ((scope, key, _), counts) in &results.key_days {
        loaded_counts
            .entry((*scope, key.clone()))
            .or_default()
            .add(counts);
    }
    key_days.extend(results.key_days);
    state::write_key_days(wh, &key_days).await?;
    let (columns, added, widened) = update_columns(wh, &target, &key_days, column_records).await?;
    outcome.mixed_types = columns
        .iter()
        .filter_map(|c| {
            let counts = loaded_counts.get(&(c.column.scope, c.column.key.clone()))?;
            (counts.value_types() > 1).then(|| (c.column.clone(), *counts))
        })
        .collect();
    outcome.new_columns = added;
    let all_days = !widened.is_empty() && existing_raw.is_some();
    outcome.widened = widened;
    let keys: Vec<KeyColumn> = columns.iter().map(|c| c.column.clone()).collect();
    let flat_started = Instant::now();
    let rebuild_reason = if all_days {
        flat.discard().await?;
        Some("a column's type widened, so every day is rewritten".to_string())
    } else {
        let raw_after = wh.table_schema(&raw_name).await?;
        match flat.commit(&keys, &raw_after).await? {
            FlatOutcome::Committed => None,
            FlatOutcome::Rebuild(reason) => Some(reason),
        }
    };
    // Named for what the time went to: the commits of the tables written during the pass,
    // or a rebuild from the raw table.
    let phase = if let Some(reason) = rebuild_reason {
        let scope = if all_days {
            None
        } else {
            Some(days.as_slice())
        };
        write_flat_tables(wh, &keys, scope).await?;
        outcome.flat_rebuilt = Some(reason);
        "flat tables rebuilt"
    } else {
        "flat table commits"
    };
    outcome.phases.push((phase, flat_started.elapsed()));

    // 4. Sessions and pages.
    let derived_started = Instant::now();
    // A rewrite of every flat day (a widened type) changes no value the derived tables read,
    // so only the loaded days are recomputed either way.
    let summary = derived::update(wh, &keys, derived::ChangedDays::Loaded(&days)).await?;
    outcome
        .phases
        .push(("sessions and pages", derived_started.elapsed()));
    outcome.events_without_session = summary.events_without_session;
    outcome.sessions = summary.sessions;
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Deletes the rejected lines `raw.ga4_events__rejected` holds for `files` (path and the load
/// that read it).
async fn forget_rejected(
    wh: &Warehouse,
    raw: &TableName,
    files: &[(String, String)],
) -> Result<(), Ga4Error> {
    let name = TableName::new(&raw.dataset, &format!("{}__rejected", raw.table))?;
    let predicate = files
        .iter()
        .map(|(path, load)| {
            col("file")
                .eq(lit(path.clone()))
                .and(col("load_id").eq(lit(load.clone())))
        })
        .reduce(Expr::or);
    let (Some(predicate), Some(table)) = (predicate, wh.store().open(&name).await?) else {
        return Ok(());
    };
    table
        .delete()
        .with_predicate(predicate)
        .await
        .map_err(|source| Ga4Error::Delta {
            table: name.to_string(),
            source: Box::new(source),
        })?;
    Ok(())
}

/// Rebuilds every flat and derived table from `raw.ga4_events`, for every day: the repair
/// after a failure between the raw commit and the flat tables, or after a kura upgrade.
///
/// # Errors
/// Access denied on `ga4`, query and Delta errors.
pub async fn rebuild(wh: &Warehouse, principal: &str) -> Result<Ga4LoadOutcome, Ga4Error> {
    let started = Instant::now();
    wh.authorize(principal, DATASET, Access::Write, "GA4 REBUILD", "LOAD")
        .await?;
    let raw_name = TableName::new(RAW_TABLE.0, RAW_TABLE.1)?;
    if !wh.store().exists(&raw_name) {
        return Err(Ga4Error::NotAnExport {
            table: raw_name.to_string(),
            reason: "it does not exist yet; load an export first with `kura ga4 load DIR`".into(),
        });
    }
    let keys: Vec<KeyColumn> = state::read_columns(wh)
        .await?
        .into_iter()
        .map(|c| c.column)
        .collect();
    write_flat_tables(wh, &keys, None).await?;
    let summary = derived::update(wh, &keys, derived::ChangedDays::All).await?;
    Ok(Ga4LoadOutcome {
        load_id: uuid::Uuid::new_v4().to_string(),
        events_without_session: summary.events_without_session,
        sessions: summary.sessions,
        elapsed: started.elapsed(),
        ..Ga4LoadOutcome::default()
    })
}

/// Parquet settings for every GA4 write of a table of `schema`: the project's (`[storage]`);
/// a row group and a file are flushed at a fixed size, so a load's memory follows the number
/// of days written at once, not the size of a day.
///
/// Statistics are kept for top-level columns of fixed-width types only. Text minima and
/// maxima prune nothing in these tables (every day's file holds every event name, key and
/// user), and computing them was a tenth of a 1 M-event load's CPU time.
///
/// Top-level 64-bit numbers (timestamps, ids, amounts) are written without a dictionary. Most
/// are distinct, so the dictionary overflowed and fell back to plain encoding anyway, after
/// interning every value: a 1 M-event load took 0.6 s less without it, in files of the same
/// size.
fn writer_properties(wh: &Warehouse, schema: &arrow::datatypes::Schema) -> WriterProperties {
    let mut builder = wh
        .project()
        .config()
        .storage
        .writer_properties()
        .into_builder()
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_statistics_enabled(EnabledStatistics::None);
    for field in schema.fields() {
        let data_type = field.data_type();
        let path = || ColumnPath::from(field.name().as_str());
        if data_type.is_primitive() || *data_type == DataType::Boolean {
            builder = builder.set_column_statistics_enabled(path(), EnabledStatistics::Page);
        }
        if matches!(
            data_type,
            DataType::Int64 | DataType::Float64 | DataType::Timestamp(..)
        ) {
            builder = builder.set_column_dictionary_enabled(path(), false);
        }
    }
    builder.build()
}

/// A row group and a file are flushed at these sizes. Every open day of every table holds
/// up to one of each, plus delta-rs's uploads of just-closed files: at 5 M events, 32/16 MiB
/// peaked at 955 MiB against 1,139 MiB for 64/32 MiB, at the same speed.
const ROW_GROUP_BYTES: usize = 16 << 20;
const FILE_BYTES: u64 = 32 << 20;

fn file_size() -> Option<std::num::NonZeroU64> {
    std::num::NonZeroU64::new(FILE_BYTES)
}

fn poisoned() -> Ga4Error {
    Ga4Error::Io {
        path: PathBuf::from("raw.ga4_events"),
        source: std::io::Error::other("the reader thread panicked"),
    }
}

/// Gives new keys their columns and widens types, from the counts of every day; `records`
/// are the columns stored before the load.
async fn update_columns(
    wh: &Warehouse,
    raw: &SchemaRef,
    key_days: &KeyDays,
    mut records: Vec<ColumnRecord>,
) -> Result<(Vec<ColumnRecord>, Vec<KeyColumn>, Vec<Widening>), Ga4Error> {
    let mut observed: BTreeMap<(KeyScope, String), KeyCounts> = BTreeMap::new();
    let mut first_day: BTreeMap<(KeyScope, String), NaiveDate> = BTreeMap::new();
    let mut last_day = NaiveDate::MIN;
    for ((scope, key, day), counts) in key_days {
        observed
            .entry((*scope, key.clone()))
            .or_default()
            .add(counts);
        let first = first_day.entry((*scope, key.clone())).or_insert(*day);
        *first = (*first).min(*day);
        last_day = last_day.max(*day);
    }
    let observed: BTreeMap<(KeyScope, String), Option<ParamType>> = observed
        .into_iter()
        .map(|(k, c)| (k, c.observed_type()))
        .collect();
    let mut existing: Vec<KeyColumn> = records.iter().map(|r| r.column.clone()).collect();
    let mut taken_events: HashSet<String> = EventsLayout::fixed_names(raw).into_iter().collect();
    let mut taken_items: HashSet<String> = ItemsLayout::fixed_names().into_iter().collect();
    for c in &existing {
        match c.scope {
            KeyScope::Item => taken_items.insert(c.column.clone()),
            _ => taken_events.insert(c.column.clone()),
        };
    }
    // Item keys and event/user keys name columns of different tables.
    let (item_obs, event_obs): (BTreeMap<_, _>, BTreeMap<_, _>) = observed
        .into_iter()
        .partition(|((s, _), _)| *s == KeyScope::Item);
    // New keys are named in the order they were first seen (see `crate::keys`).
    fn in_order<'a>(
        obs: &'a BTreeMap<(KeyScope, String), Option<ParamType>>,
        first_day: &BTreeMap<(KeyScope, String), NaiveDate>,
    ) -> Vec<(&'a (KeyScope, String), &'a Option<ParamType>)> {
        let mut ordered: Vec<_> = obs.iter().collect();
        ordered.sort_by_key(|(k, _)| (first_day.get(*k).copied(), *k));
        ordered
    }
    let (mut added, mut widened) = assign_columns(
        &mut existing,
        in_order(&event_obs, &first_day),
        &mut taken_events,
    );
    let (a2, w2) = assign_columns(
        &mut existing,
        in_order(&item_obs, &first_day),
        &mut taken_items,
    );
    added.extend(a2);
    widened.extend(w2);
    for c in &added {
        records.push(ColumnRecord {
            column: c.clone(),
            added_on: first_day
                .get(&(c.scope, c.key.clone()))
                .copied()
                .unwrap_or(last_day),
            widened_from: None,
            widened_on: None,
        });
    }
    for w in &widened {
        if let Some(r) = records
            .iter_mut()
            .find(|r| r.column.scope == w.scope && r.column.key == w.key)
        {
            r.column.param_type = w.to;
            // A column typed by its first values did not change type.
            if w.from != ParamType::Null {
                r.widened_from = Some(w.from);
                r.widened_on = Some(last_day);
            }
        }
    }
    if !added.is_empty() || !widened.is_empty() {
        state::write_columns(wh, &records).await?;
    }
    Ok((records, added, widened))
}

/// Rebuilds the flat tables from the raw table for `days`, or for every day the raw table
/// holds when `None`. Each day's raw rows are scanned once and flattened into all four tables,
/// two days at a time, and each table's days are replaced in one commit. A rebuild of every
/// day (`kura ga4 rebuild`, or a key's type widening) replaces each table whole, its schema
/// included, so that a failure leaves the old table whole: the load that widened a type has
/// already recorded its files.
///
/// # Errors
/// Query and Delta errors.
pub async fn write_flat_tables(
    wh: &Warehouse,
    keys: &[KeyColumn],
    days: Option<&[NaiveDate]>,
) -> Result<(), Ga4Error> {
    let raw_name = TableName::new(RAW_TABLE.0, RAW_TABLE.1)?;
    let raw = wh.table_schema(&raw_name).await?;
    let (days, replace) = match days {
        Some(days) => (days.to_vec(), Replace::Days(days.to_vec())),
        None => (
            day_write::table_days(wh, &raw_name, DayFormat::Text).await?,
            Replace::All,
        ),
    };
    let layouts = flat_layouts(&raw, keys);
    let mut tables = Vec::with_capacity(layouts.len());
    for (table, schema, flatten) in layouts {
        let name = TableName::new(DATASET, table)?;
        let write = DayWrite::begin(
            wh,
            &name,
            &schema,
            DayFormat::Date,
            writer_properties(wh, &schema),
            file_size(),
            Some(replace.clone()),
        )
        .await?;
        tables.push(FlatTable {
            write: Arc::new(write),
            flatten,
        });
    }
    let tables = Arc::new(tables);
    let scan = plain_text_scan(wh, &raw_name).await?;
    let handle = tokio::runtime::Handle::current();
    let mut running = futures::stream::iter(days.into_iter().map(|day| {
        let (tables, scan, raw, handle) =
            (tables.clone(), scan.clone(), raw.clone(), handle.clone());
        tokio::task::spawn_blocking(move || handle.block_on(flatten_day(&scan, &raw, &tables, day)))
    }))
    .buffer_unordered(FLAT_DAYS_AT_ONCE);
    while let Some(done) = running.next().await {
        done.map_err(|_| poisoned())??;
    }
    drop(running);
    let tables = Arc::into_inner(tables).ok_or_else(poisoned)?;
    for table in tables {
        let write = Arc::into_inner(table.write).ok_or_else(poisoned)?;
        write.commit([]).await?;
    }
    Ok(())
}

/// Days flattened at once: one per core of this 2-core target, each on a thread of its own.
/// Each holds one open Parquet file per flat table, so this also bounds the phase's memory.
const FLAT_DAYS_AT_ONCE: usize = 2;

/// A flat table being rebuilt: its write and how a raw batch becomes its rows.
struct FlatTable {
    write: Arc<DayWrite>,
    flatten: Flatten,
}

/// Scans one day of the raw table and writes its rows to every flat table.
async fn flatten_day(
    scan: &RawScan,
    raw: &SchemaRef,
    tables: &[FlatTable],
    day: NaiveDate,
) -> Result<(), Ga4Error> {
    let mut stream = scan
        .session
        .read_table(scan.provider.clone())?
        .filter(col("event_date").eq(lit(day.format("%Y%m%d").to_string())))?
        .execute_stream()
        .await?;
    let mut files: Vec<DayFiles> = tables.iter().map(|t| t.write.files()).collect();
    while let Some(batch) = stream.next().await {
        // The scan returns the partition column as a dictionary; the layouts read the stored
        // types.
        let batch = schema::conform_batch(&batch?, raw).map_err(|source| Ga4Error::Arrow {
            context: format!("reading day {day} of the raw table"),
            source,
        })?;
        for (table, files) in tables.iter().zip(files.iter_mut()) {
            let rows = (table.flatten)(&batch).map_err(|source| Ga4Error::Arrow {
                context: format!("flattening day {day}"),
                source,
            })?;
            files.write(day, &rows).await?;
        }
    }
    for files in files {
        files.finish().await?;
    }
    Ok(())
}

/// The raw table as the flat tables read it: text as plain UTF-8 rather than string views.
/// The flat tables store plain UTF-8, so views would be built by the scan (at every level of
/// the nested columns) only to be converted back.
#[derive(Clone)]
struct RawScan {
    session: datafusion::prelude::SessionContext,
    provider: Arc<dyn TableProvider>,
}

async fn plain_text_scan(wh: &Warehouse, raw: &TableName) -> Result<RawScan, Ga4Error> {
    let mut config = wh.session().copied_config();
    config
        .options_mut()
        .execution
        .parquet
        .schema_force_view_types = false;
    let state = datafusion::execution::SessionStateBuilder::new_from_existing(wh.session().state())
        .with_config(config)
        .build();
    let table = wh
        .store()
        .open(raw)
        .await?
        .ok_or_else(|| Ga4Error::NotAnExport {
            table: raw.to_string(),
            reason: "the table does not exist; load export files with `kura ga4 load` first".into(),
        })?;
    let provider = table
        .table_provider()
        .with_session(Arc::new(state.clone()))
        .await?;
    Ok(RawScan {
        session: datafusion::prelude::SessionContext::new_with_state(state),
        provider,
    })
}

#[derive(Default)]
struct ProducerResults {
    rows: BTreeMap<PathBuf, u64>,
    /// Each file's content hash, from its reader.
    hashes: BTreeMap<PathBuf, String>,
    rejected: Vec<(PathBuf, RejectedRow)>,
    key_days: KeyDays,
}

/// The rows of loaded days that stay (see [`KeptRows`]), read back from the raw table.
struct KeptScan {
    scan: RawScan,
    /// Whether the raw table has `_property` (a table loaded by an older kura does not: its
    /// rows belong to no property).
    has_property: bool,
    days: Vec<(NaiveDate, KeptRows)>,
}

impl KeptScan {
    /// The rows of `day` that stay when `property` loads it.
    fn filter(&self, day: NaiveDate, property: &Option<String>, kept: &KeptRows) -> Expr {
        let this_property = match (self.has_property, property) {
            (false, _) => lit(property.is_none()),
            (true, None) => col(schema::PROPERTY).is_null(),
            (true, Some(p)) => binary_expr(
                col(schema::PROPERTY),
                Operator::IsNotDistinctFrom,
                lit(p.clone()),
            ),
        };
        let kept_files = if kept.files.is_empty() {
            lit(false)
        } else {
            col(schema::SOURCE_FILE)
                .in_list(kept.files.iter().map(|f| lit(f.clone())).collect(), false)
        };
        col("event_date")
            .eq(lit(day.format("%Y%m%d").to_string()))
            .and(datafusion::logical_expr::not(this_property).or(kept_files))
    }
}

/// Which file the threads read, and how far.
struct Inputs {
    /// The next job to open.
    next: usize,
    /// The job being read, and its reader.
    open: Option<(usize, ExportReader)>,
    /// A thread failed: the others stop.
    failed: bool,
}

/// Reads the days' files and writes them to `raw.ga4_events`, on blocking threads.
struct RawProducer {
    flat: Arc<FlatWrites>,
    days: Vec<(NaiveDate, ExportKind, Vec<PlannedFile>)>,
    kept_rows: Option<KeptScan>,
    /// The property the files belong to (`--property`).
    property: Option<String>,
    read_schema: SchemaRef,
    target: SchemaRef,
    loaded_at: chrono::DateTime<Utc>,
    max_bad_rows: u64,
    results: Mutex<ProducerResults>,
}

impl RawProducer {
    /// Reads and writes the files on up to two threads (JSON decoding and Parquet encoding
    /// are the costly parts of a load). The files are read one after another, a stretch of
    /// lines at a time, and each thread decodes and writes the stretches it takes: both
    /// threads work on one file as much as on many (a day's load is often a single file).
    fn convert(
        &self,
        write: &Arc<DayWrite>,
        handle: &tokio::runtime::Handle,
    ) -> Result<(), Ga4Error> {
        if let Some(kept) = &self.kept_rows {
            let mut files = write.files();
            let mut flat_files = self.flat.files();
            let result = self.write_kept_rows(kept, (&mut files, &mut flat_files), handle);
            let mut closed = Ok(());
            for files in std::iter::once(files).chain(flat_files) {
                let finished = handle.block_on(files.finish());
                if closed.is_ok() {
                    closed = finished;
                }
            }
            result.and(closed)?;
        }
        let jobs: Vec<(NaiveDate, ExportKind, &PlannedFile)> = self
            .days
            .iter()
            .flat_map(|(date, kind, files)| files.iter().map(move |f| (*date, *kind, f)))
            .collect();
        let inputs = Mutex::new(Inputs {
            next: 0,
            open: None,
            failed: false,
        });
        let bad = std::sync::atomic::AtomicU64::new(0);
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, 2);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| -> Result<(), Ga4Error> {
                        let mut decoder = ChunkDecoder::new(self.read_schema.clone())?;
                        let mut files = write.files();
                        let mut flat_files = self.flat.files();
                        let result = (|| {
                            while let Some((job, piece)) = self.next_piece(&jobs, &inputs)? {
                                let (date, kind, (file, _)) = jobs[job];
                                let chunk = decoder.decode(&file.path, piece)?;
                                self.convert_chunk(
                                    (date, kind, file),
                                    chunk,
                                    (&mut files, &mut flat_files),
                                    handle,
                                    &bad,
                                )?;
                            }
                            Ok(())
                        })();
                        if result.is_err() {
                            // Stop the other thread at its next stretch.
                            if let Ok(mut inputs) = inputs.lock() {
                                inputs.failed = true;
                            }
                        }
                        // Close the open files either way: a failed load then knows every
                        // file it wrote, to delete them.
                        let mut closed = Ok(());
                        for files in std::iter::once(files).chain(flat_files) {
                            let finished = handle.block_on(files.finish());
                            if closed.is_ok() {
                                closed = finished;
                            }
                        }
                        result.and(closed)
                    })
                })
                .collect();
            let mut first_error = None;
            for h in handles {
                match h.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        first_error.get_or_insert(e);
                    }
                    Err(_) => {
                        first_error.get_or_insert(poisoned());
                    }
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    /// Writes the rows of the loaded days that stay to the raw and flat tables again: the
    /// commit replaces those days whole.
    fn write_kept_rows(
        &self,
        kept: &KeptScan,
        (files, flat_files): (&mut DayFiles, &mut Vec<DayFiles>),
        handle: &tokio::runtime::Handle,
    ) -> Result<(), Ga4Error> {
        for (day, rows) in &kept.days {
            let filter = kept.filter(*day, &self.property, rows);
            let mut stream = handle.block_on(async {
                kept.scan
                    .session
                    .read_table(kept.scan.provider.clone())?
                    .filter(filter)?
                    .execute_stream()
                    .await
            })?;
            while let Some(batch) = handle.block_on(stream.next()) {
                let batch = schema::conform_batch(&batch?, &self.target).map_err(|source| {
                    Ga4Error::Arrow {
                        context: format!("reading day {day} of the raw table"),
                        source,
                    }
                })?;
                self.write_rows(*day, &batch, (files, flat_files), handle)?;
            }
        }
        Ok(())
    }

    /// Writes raw rows of `day`, in the raw table's schema, to the raw and the flat tables, and
    /// counts their keys.
    fn write_rows(
        &self,
        day: NaiveDate,
        batch: &RecordBatch,
        (files, flat_files): (&mut DayFiles, &mut Vec<DayFiles>),
        handle: &tokio::runtime::Handle,
    ) -> Result<(), Ga4Error> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch_keys = batch_keys(batch);
        handle.block_on(files.write(day, batch))?;
        if let Some(layouts) = self.flat.layouts_for(&batch_keys) {
            handle.block_on(FlatWrites::write(&layouts, flat_files, day, batch))?;
        }
        let mut results = self.results.lock().map_err(|_| poisoned())?;
        for (scope, keys) in KEY_SCOPES.into_iter().zip(batch_keys) {
            for (key, c) in keys {
                results
                    .key_days
                    .entry((scope, key, day))
                    .or_default()
                    .add(&c);
            }
        }
        Ok(())
    }

    /// The next stretch of the files, with the index of its job; `None` when every file has
    /// been read, or another thread failed. A file read to its end gets its content hash
    /// recorded, and checked against the one planning saw.
    fn next_piece(
        &self,
        jobs: &[(NaiveDate, ExportKind, &PlannedFile)],
        inputs: &Mutex<Inputs>,
    ) -> Result<Option<(usize, Piece)>, Ga4Error> {
        let mut inputs = inputs.lock().map_err(|_| poisoned())?;
        loop {
            if inputs.failed {
                return Ok(None);
            }
            let (job, reader) = match &mut inputs.open {
                Some(open) => open,
                None => {
                    let job = inputs.next;
                    let Some((_, _, (file, _))) = jobs.get(job) else {
                        return Ok(None);
                    };
                    inputs.next += 1;
                    let reader =
                        ExportReader::open(&file.path, file.format, self.read_schema.clone())?;
                    inputs.open.insert((job, reader))
                }
            };
            let job = *job;
            if let Some(piece) = reader.next_piece()? {
                return Ok(Some((job, piece)));
            }
            let hash = reader.content_hash();
            inputs.open = None;
            let (_, _, (file, planned_hash)) = jobs[job];
            if planned_hash
                .as_ref()
                .is_some_and(|planned| *planned != hash)
            {
                return Err(Ga4Error::Io {
                    path: file.path.clone(),
                    source: std::io::Error::other(kura_engine::load::FILE_CHANGED),
                });
            }
            let mut results = self.results.lock().map_err(|_| poisoned())?;
            results.rows.entry(file.path.clone()).or_default();
            results.hashes.insert(file.path.clone(), hash);
        }
    }

    /// Writes one stretch of a file's rows as its day's, to the raw and the flat tables.
    fn convert_chunk(
        &self,
        (date, kind, file): (NaiveDate, ExportKind, &ExportFile),
        mut chunk: RawChunk,
        (files, flat_files): (&mut DayFiles, &mut Vec<DayFiles>),
        handle: &tokio::runtime::Handle,
        bad: &std::sync::atomic::AtomicU64,
    ) -> Result<(), Ga4Error> {
        let expected = date.format("%Y%m%d").to_string();
        let file_name = file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Every row must belong to the file's day, or replacing the day would drop or
        // duplicate it.
        let (batch, lines) = keep_day(&chunk.batch, &chunk.lines, &expected, &mut chunk.rejected)?;
        if !chunk.rejected.is_empty() {
            let n = chunk.rejected.len() as u64;
            let total = bad.fetch_add(n, std::sync::atomic::Ordering::SeqCst) + n;
            if total > self.max_bad_rows {
                let first = &chunk.rejected[0];
                return Err(Ga4Error::BadLine {
                    file: file.path.clone(),
                    line: first.line,
                    reason: first.reason.clone(),
                    count: total,
                });
            }
            let mut results = self.results.lock().map_err(|_| poisoned())?;
            results
                .rejected
                .extend(chunk.rejected.into_iter().map(|r| (file.path.clone(), r)));
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let out = self.with_bookkeeping(&batch, &lines, &file_name, kind)?;
        self.write_rows(date, &out, (files, flat_files), handle)?;
        let mut results = self.results.lock().map_err(|_| poisoned())?;
        *results.rows.entry(file.path.clone()).or_default() += batch.num_rows() as u64;
        Ok(())
    }

    fn with_bookkeeping(
        &self,
        batch: &RecordBatch,
        lines: &[u64],
        file_name: &str,
        kind: ExportKind,
    ) -> Result<RecordBatch, Ga4Error> {
        let n = batch.num_rows();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        // Event ids are unique across properties, whose files have the same names.
        let property = self
            .property
            .as_ref()
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        columns.push(Arc::new(StringArray::from_iter_values(
            lines.iter().map(|l| format!("{property}{file_name}:{l}")),
        )));
        columns.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(kind.as_str(), n),
        )));
        columns.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(file_name, n),
        )));
        columns.push(Arc::new(
            TimestampMicrosecondArray::from(vec![self.loaded_at.timestamp_micros(); n])
                .with_timezone("UTC"),
        ));
        columns.push(Arc::new(StringArray::from(vec![
            self.property.as_deref();
            n
        ])));
        RecordBatch::try_new(self.target.clone(), columns).map_err(|source| Ga4Error::Arrow {
            context: format!("converting {file_name}"),
            source,
        })
    }
}

/// The keys of a raw batch's `event_params`, `user_properties` and `items.item_params`, with
/// the value fields each used.
fn batch_keys(batch: &RecordBatch) -> BatchKeys {
    let mut keys = BatchKeys::default();
    for (i, name) in [EVENT_PARAMS, USER_PROPERTIES].iter().enumerate() {
        if let Some(p) = batch
            .column_by_name(name)
            .and_then(|a| ParamList::new(a.as_ref()))
        {
            count_keys(&p, &mut keys[i]);
        }
    }
    if let Some(p) = item_params(batch) {
        if let Some(list) = ParamList::new(p.as_ref()) {
            count_keys(&list, &mut keys[2]);
        }
    }
    keys
}

/// The `items.item_params` list of a raw batch, aligned with the items' entries.
fn item_params(batch: &RecordBatch) -> Option<ArrayRef> {
    let items = batch
        .column_by_name(ITEMS)?
        .as_any()
        .downcast_ref::<arrow::array::ListArray>()?;
    let values = items
        .values()
        .as_any()
        .downcast_ref::<arrow::array::StructArray>()?;
    values.column_by_name(ITEM_PARAMS).cloned()
}

/// Moves rows whose `event_date` is not the file's day, and rows that are not events (no
/// `event_name`: a JSON file named like an export that is something else), to `rejected`.
fn keep_day(
    batch: &RecordBatch,
    lines: &[u64],
    expected: &str,
    rejected: &mut Vec<RejectedRow>,
) -> Result<(RecordBatch, Vec<u64>), Ga4Error> {
    let Some(dates) = batch
        .column_by_name("event_date")
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
    else {
        return Ok((batch.clone(), lines.to_vec()));
    };
    let names = batch.column_by_name("event_name");
    let named = |i: usize| names.is_none_or(|n| n.is_valid(i));
    let keep: Vec<bool> = (0..batch.num_rows())
        .map(|i| dates.is_valid(i) && dates.value(i) == expected && named(i))
        .collect();
    if keep.iter().all(|k| *k) {
        return Ok((batch.clone(), lines.to_vec()));
    }
    // The rejected rows as JSON, to keep them as they were read.
    let dropped = arrow::compute::filter_record_batch(
        batch,
        &arrow::array::BooleanArray::from(keep.iter().map(|k| !k).collect::<Vec<_>>()),
    )
    .map_err(|source| Ga4Error::Arrow {
        context: "filtering rows of another day".into(),
        source,
    })?;
    let mut json = arrow::json::LineDelimitedWriter::new(Vec::new());
    let raw_lines: Vec<String> = match json.write(&dropped).and_then(|()| json.finish()) {
        Ok(()) => String::from_utf8_lossy(&json.into_inner())
            .lines()
            .map(str::to_string)
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut raw_lines = raw_lines.into_iter();
    let mut kept_lines = Vec::new();
    for (i, k) in keep.iter().enumerate() {
        if *k {
            kept_lines.push(lines[i]);
        } else {
            let found = if dates.is_valid(i) {
                dates.value(i)
            } else {
                "NULL"
            };
            let reason = if !named(i) {
                "not a GA4 event: it has no event_name (is this file a GA4 export?)".to_string()
            } else {
                format!(
                    "event_date `{found}` is not the day of the file ({expected}); each export file holds one day"
                )
            };
            rejected.push(RejectedRow {
                line: lines[i],
                raw: raw_lines.next().unwrap_or_default(),
                reason,
            });
        }
    }
    let mask = arrow::array::BooleanArray::from(keep);
    let filtered =
        arrow::compute::filter_record_batch(batch, &mask).map_err(|source| Ga4Error::Arrow {
            context: "filtering rows of another day".into(),
            source,
        })?;
    Ok((filtered, kept_lines))
}

use arrow::array::Array;
