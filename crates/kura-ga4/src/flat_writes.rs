//! The flat tables written while a load reads its files, from the batches it decodes, instead
//! of a second pass that reads them back from `raw.ga4_events`.
//!
//! A key's column is only settled once every file has been read (a key first seen in the last
//! file is a new column; ints in one file and strings in another make a STRING column), so the
//! columns are assigned as keys appear ([`FlatWrites::layouts_for`]): each batch is flattened
//! with the columns known once its own keys are counted, and a file holds the columns of the
//! batches it was written from. Columns a file lacks read NULL, which is what they are: the
//! key did not occur in the batches before it.
//!
//! When the load is done, [`FlatWrites::commit`] checks that the columns assigned on the way
//! are the ones the load settles on. They are not when a key's values stopped fitting the type
//! it was given on the way (ints first, a string later), or when two new keys whose names
//! collide arrived in another order than their names sort in. Then the files are deleted and
//! the load rebuilds the flat tables from the raw table, as `kura ga4 rebuild` does.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use kura_engine::{TableName, Warehouse};

use crate::day_write::{DayFiles, DayFormat, DayWrite, Replace};
use crate::error::Ga4Error;
use crate::flatten::{EventsLayout, ItemsLayout, LongLayout};
use crate::keys::{assign_columns, KeyColumn, KeyCounts, KeyScope, ParamType};

/// How a raw batch becomes the rows of one flat table.
pub(crate) type Flatten =
    Box<dyn Fn(&RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> + Send + Sync>;

/// The flat tables, in the order they are written, each with its schema and flattening for a
/// raw table of schema `raw` and the key columns `keys`.
pub(crate) fn flat_layouts(
    raw: &Schema,
    keys: &[KeyColumn],
) -> Vec<(&'static str, SchemaRef, Flatten)> {
    let events = EventsLayout::new(raw, keys);
    let items = ItemsLayout::new(keys);
    let params = LongLayout::new(KeyScope::Event);
    let users = LongLayout::new(KeyScope::User);
    vec![
        (
            "events",
            events.schema(),
            Box::new(move |b| events.flatten(b)),
        ),
        (
            "event_params",
            params.schema(),
            Box::new(move |b| params.flatten(b)),
        ),
        (
            "user_properties",
            users.schema(),
            Box::new(move |b| users.flatten(b)),
        ),
        ("items", items.schema(), Box::new(move |b| items.flatten(b))),
    ]
}

/// A batch's keys and the value fields each used, per scope (event, user, item).
pub(crate) type BatchKeys = [BTreeMap<String, KeyCounts>; 3];

/// The scopes of [`BatchKeys`], in order.
pub(crate) const KEY_SCOPES: [KeyScope; 3] = [KeyScope::Event, KeyScope::User, KeyScope::Item];

/// The flat tables' writes during a load; see the module documentation.
pub(crate) struct FlatWrites {
    /// The raw table's schema as the load writes it.
    raw: SchemaRef,
    writes: Vec<Arc<DayWrite>>,
    columns: Mutex<LiveColumns>,
}

/// The key columns as the load has assigned them so far, and the layouts that follow.
struct LiveColumns {
    columns: Vec<KeyColumn>,
    taken_events: HashSet<String>,
    taken_items: HashSet<String>,
    /// A key's values stopped fitting its column's type (which, and how): nothing more is
    /// written.
    diverged: Option<String>,
    layouts: Arc<Vec<Flatten>>,
}

/// Whether the flat tables were written during the load.
pub(crate) enum FlatOutcome {
    Committed,
    /// The columns settled differently; the load must rebuild the flat tables from the raw
    /// table. Says why.
    Rebuild(String),
}

impl FlatWrites {
    /// Begins the writes of the flat tables' `days`, with the key columns the warehouse
    /// already has; `raw` is the schema the load writes the raw table in.
    pub(crate) async fn begin(
        wh: &Warehouse,
        raw: &SchemaRef,
        existing: Vec<KeyColumn>,
        days: &[NaiveDate],
        properties: impl Fn(&Schema) -> parquet::file::properties::WriterProperties,
        file_size: Option<std::num::NonZeroU64>,
    ) -> Result<FlatWrites, Ga4Error> {
        let mut writes = Vec::new();
        for (table, schema, _) in flat_layouts(raw, &existing) {
            let name = TableName::new(crate::load::DATASET, table)?;
            let write = DayWrite::begin(
                wh,
                &name,
                &schema,
                DayFormat::Date,
                properties(&schema),
                file_size,
                Some(Replace::Days(days.to_vec())),
            )
            .await?;
            writes.push(Arc::new(write));
        }
        let mut taken_events: HashSet<String> =
            EventsLayout::fixed_names(raw).into_iter().collect();
        let mut taken_items: HashSet<String> = ItemsLayout::fixed_names().into_iter().collect();
        for c in &existing {
            match c.scope {
                KeyScope::Item => taken_items.insert(c.column.clone()),
                _ => taken_events.insert(c.column.clone()),
            };
        }
        let layouts = Arc::new(flattens(raw, &existing));
        Ok(FlatWrites {
            raw: raw.clone(),
            writes,
            columns: Mutex::new(LiveColumns {
                columns: existing,
                taken_events,
                taken_items,
                diverged: None,
                layouts,
            }),
        })
    }

    /// The files of one producer thread.
    pub(crate) fn files(&self) -> Vec<DayFiles> {
        self.writes.iter().map(DayWrite::files).collect()
    }

    /// The flattenings for a batch with `keys`, after giving its new keys their columns; `None`
    /// once a key's values no longer fit its column (the load rebuilds from the raw table).
    pub(crate) fn layouts_for(&self, keys: &BatchKeys) -> Option<Arc<Vec<Flatten>>> {
        let mut live = self.columns.lock().ok()?;
        if live.diverged.is_some() {
            return None;
        }
        let LiveColumns {
            columns,
            taken_events,
            taken_items,
            ..
        } = &mut *live;
        let before = columns.len();
        for (scope, counts) in KEY_SCOPES.iter().zip(keys) {
            let observed: BTreeMap<(KeyScope, String), Option<ParamType>> = counts
                .iter()
                .map(|(key, c)| ((*scope, key.clone()), c.observed_type()))
                .collect();
            let taken = match scope {
                KeyScope::Item => &mut *taken_items,
                _ => &mut *taken_events,
            };
            let (_, widened) = assign_columns(columns, &observed, taken);
            if let Some(w) = widened.first() {
                live.diverged = Some(format!(
                    "{} ({} key `{}`) was given {} by the first values read, then {} values came",
                    w.column,
                    w.scope.as_str(),
                    w.key,
                    w.from.as_str(),
                    w.to.as_str()
                ));
                return None;
            }
        }
        if live.columns.len() != before {
            live.layouts = Arc::new(flattens(&self.raw, &live.columns));
        }
        Some(live.layouts.clone())
    }

    /// Writes the rows of `batch` (raw rows of `day`) to every flat table.
    pub(crate) async fn write(
        layouts: &[Flatten],
        files: &mut [DayFiles],
        day: NaiveDate,
        batch: &RecordBatch,
    ) -> Result<(), Ga4Error> {
        for (flatten, files) in layouts.iter().zip(files.iter_mut()) {
            let rows = flatten(batch).map_err(|source| Ga4Error::Arrow {
                context: format!("flattening day {day}"),
                source,
            })?;
            files.write_as_is(day, rows).await?;
        }
        Ok(())
    }

    /// Commits the flat tables when the columns assigned during the load are `settled`, the
    /// columns the load settled on, and `raw_after` (the raw table's schema after its commit)
    /// gives the same fixed columns; otherwise deletes the files and says why.
    pub(crate) async fn commit(
        self,
        settled: &[KeyColumn],
        raw_after: &Schema,
    ) -> Result<FlatOutcome, Ga4Error> {
        let reason = {
            let live = self.columns.lock().map_err(|_| poisoned())?;
            let as_set = |c: &[KeyColumn]| -> BTreeSet<(String, String, String, String)> {
                c.iter()
                    .map(|c| {
                        (
                            c.scope.as_str().to_string(),
                            c.key.clone(),
                            c.column.clone(),
                            c.param_type.as_str().to_string(),
                        )
                    })
                    .collect()
            };
            let fixed = |raw: &Schema| -> BTreeSet<(String, String)> {
                EventsLayout::new(raw, &[])
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| (f.name().clone(), f.data_type().to_string()))
                    .collect()
            };
            if let Some(how) = &live.diverged {
                Some(format!(
                    "a key's values stopped fitting the type its column was given: {how}"
                ))
            } else if as_set(&live.columns) != as_set(settled) {
                Some("the columns settled differently from how they were assigned".to_string())
            } else if fixed(&self.raw) != fixed(raw_after) {
                Some("the raw table's columns differ from the files'".to_string())
            } else {
                None
            }
        };
        let writes = self
            .writes
            .into_iter()
            .map(|w| Arc::into_inner(w).ok_or_else(poisoned))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(reason) = reason {
            for write in writes {
                write.discard().await?;
            }
            return Ok(FlatOutcome::Rebuild(reason));
        }
        let layouts = flat_layouts(raw_after, settled);
        for (mut write, (_, schema, _)) in writes.into_iter().zip(layouts) {
            write.set_schema(&schema)?;
            write.commit([]).await?;
        }
        Ok(FlatOutcome::Committed)
    }

    /// Deletes the files written so far: the load failed.
    pub(crate) async fn discard(self) -> Result<(), Ga4Error> {
        for write in self.writes {
            if let Some(write) = Arc::into_inner(write) {
                write.discard().await?;
            }
        }
        Ok(())
    }
}

fn flattens(raw: &Schema, keys: &[KeyColumn]) -> Vec<Flatten> {
    flat_layouts(raw, keys)
        .into_iter()
        .map(|(_, _, flatten)| flatten)
        .collect()
}

fn poisoned() -> Ga4Error {
    Ga4Error::Io {
        path: std::path::PathBuf::from("ga4"),
        source: std::io::Error::other("a flat table writer thread panicked"),
    }
}
