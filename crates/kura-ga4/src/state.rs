//! What kura remembers about the GA4 export, in `_kura`:
//! - `_kura.ga4_files`: every file loaded, with its day, export table and content hash: the
//!   history of loads.
//! - `_kura.ga4_held_files`: the files the raw table holds now, per property and day: what a
//!   load compares its files with.
//! - `_kura.ga4_key_days`: per key and day, how often its values came in each field.
//! - `_kura.ga4_columns`: the column each key was given and its type; names are never
//!   reassigned, types only widen.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::NaiveDate;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use kura_engine::{TableName, Warehouse};

use crate::error::Ga4Error;
use crate::export_file::ExportKind;
use crate::keys::{KeyColumn, KeyCounts, KeyScope, ParamType};

pub const FILES_TABLE: &str = "ga4_files";
pub const HELD_FILES_TABLE: &str = "ga4_held_files";
pub const KEY_DAYS_TABLE: &str = "ga4_key_days";
pub const COLUMNS_TABLE: &str = "ga4_columns";

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

pub fn date_to_days(d: NaiveDate) -> i32 {
    i32::try_from((d - epoch()).num_days()).unwrap_or(i32::MAX)
}

pub fn days_to_date(days: i32) -> NaiveDate {
    epoch() + chrono::Duration::days(i64::from(days))
}

/// One row of `_kura.ga4_files`.
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub load_id: String,
    pub date: NaiveDate,
    pub kind: ExportKind,
    pub path: String,
    pub content_hash: String,
    pub rows: u64,
    pub rejected: u64,
    pub principal: String,
    pub property: Option<String>,
}

async fn read_system(wh: &Warehouse, table: &str, sql: &str) -> Result<Vec<RecordBatch>, Ga4Error> {
    let name = TableName::new(kura_engine::access::SYSTEM_DATASET, table)?;
    if !wh.store().exists(&name) {
        return Ok(Vec::new());
    }
    let batches = wh.query_internal(sql).await?;
    // Text may come back as string views; the readers below expect plain strings.
    batches
        .iter()
        .map(|b| {
            let columns = b
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    DataType::Utf8View | DataType::LargeUtf8 => {
                        arrow::compute::cast(c, &DataType::Utf8)
                    }
                    _ => Ok(c.clone()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let fields: Vec<Field> = b
                .schema()
                .fields()
                .iter()
                .zip(&columns)
                .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
                .collect();
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Ga4Error::Arrow {
            context: format!("reading _kura.{table}"),
            source,
        })
}

fn strings<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    b.column_by_name(name)?
        .as_any()
        .downcast_ref::<StringArray>()
}

fn ints<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a Int64Array> {
    b.column_by_name(name)?
        .as_any()
        .downcast_ref::<Int64Array>()
}

fn dates<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a Date32Array> {
    b.column_by_name(name)?
        .as_any()
        .downcast_ref::<Date32Array>()
}

/// A GA4 property and a day: the unit the raw table's rows are replaced in. `None` is the
/// property of loads without `--property`.
pub type Slot = (Option<String>, NaiveDate);

/// What the raw table holds for one [`Slot`]: the export table its rows come from, and the
/// files, by file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    pub kind: ExportKind,
    pub files: BTreeMap<String, HeldFile>,
}

/// A file whose rows the raw table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldFile {
    pub path: String,
    pub content_hash: String,
    pub load_id: String,
}

/// The name a file is known by in the raw table (`_source_file`): shards of a day differ by
/// name, and a file loaded again from another directory is the same file.
pub fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// What the raw table holds, per property and day. Read from `_kura.ga4_held_files`; a
/// warehouse loaded by a kura without that table is read from `_kura.ga4_files`, whose latest
/// load of a day held the whole day.
pub async fn held_files(wh: &Warehouse) -> Result<BTreeMap<Slot, SlotState>, Ga4Error> {
    let held = TableName::new(kura_engine::access::SYSTEM_DATASET, HELD_FILES_TABLE)?;
    let sql = if wh.store().exists(&held) {
        format!(
            "SELECT property, event_date, kind, path, content_hash, load_id FROM _kura.{HELD_FILES_TABLE}"
        )
    } else {
        "SELECT f.property, f.event_date, f.kind, f.path, f.content_hash, f.load_id
         FROM _kura.ga4_files f
         JOIN (SELECT event_date, max(loaded_at) AS loaded_at FROM _kura.ga4_files GROUP BY event_date) l
           ON f.event_date = l.event_date AND f.loaded_at = l.loaded_at"
            .to_string()
    };
    let table = if wh.store().exists(&held) {
        HELD_FILES_TABLE
    } else {
        FILES_TABLE
    };
    let batches = read_system(wh, table, &sql).await?;
    let mut out: BTreeMap<Slot, SlotState> = BTreeMap::new();
    for b in &batches {
        let (Some(p), Some(d), Some(k), Some(path), Some(h), Some(l)) = (
            strings(b, "property"),
            dates(b, "event_date"),
            strings(b, "kind"),
            strings(b, "path"),
            strings(b, "content_hash"),
            strings(b, "load_id"),
        ) else {
            continue;
        };
        for i in 0..b.num_rows() {
            let Some(kind) = ExportKind::parse(k.value(i)) else {
                continue;
            };
            let property = p.is_valid(i).then(|| p.value(i).to_string());
            let state = out
                .entry((property, days_to_date(d.value(i))))
                .or_insert(SlotState {
                    kind,
                    files: BTreeMap::new(),
                });
            state.files.insert(
                file_name(path.value(i)),
                HeldFile {
                    path: path.value(i).to_string(),
                    content_hash: h.value(i).to_string(),
                    load_id: l.value(i).to_string(),
                },
            );
        }
    }
    Ok(out)
}

/// Records what the raw table holds, replacing what was recorded.
pub async fn write_held_files(
    wh: &Warehouse,
    held: &BTreeMap<Slot, SlotState>,
) -> Result<(), Ga4Error> {
    let rows: Vec<(&Slot, ExportKind, &HeldFile)> = held
        .iter()
        .flat_map(|(slot, state)| state.files.values().map(move |f| (slot, state.kind, f)))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("property", DataType::Utf8, true),
        Field::new("event_date", DataType::Date32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("load_id", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            rows.iter()
                .map(|((p, _), _, _)| p.as_deref())
                .collect::<Vec<_>>(),
        )),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|((_, d), _, _)| date_to_days(*d)),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(_, k, _)| k.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(_, _, f)| f.path.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(_, _, f)| f.content_hash.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(_, _, f)| f.load_id.as_str()),
        )),
    ];
    let batch = RecordBatch::try_new(schema, columns).map_err(|source| Ga4Error::Arrow {
        context: "recording the files the raw table holds".into(),
        source,
    })?;
    overwrite_system(wh, HELD_FILES_TABLE, batch).await
}

pub async fn record_files(
    wh: &Warehouse,
    files: &[FileRecord],
    loaded_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Ga4Error> {
    if files.is_empty() {
        return Ok(());
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("load_id", DataType::Utf8, false),
        Field::new("event_date", DataType::Date32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("rejected_rows", DataType::Int64, false),
        Field::new("principal", DataType::Utf8, false),
        Field::new("property", DataType::Utf8, true),
        Field::new(
            "loaded_at",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let n = files.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.load_id.as_str()),
        )),
        Arc::new(Date32Array::from_iter_values(
            files.iter().map(|f| date_to_days(f.date)),
        )),
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.kind.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.path.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.content_hash.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(
            files.iter().map(|f| f.rows as i64),
        )),
        Arc::new(Int64Array::from_iter_values(
            files.iter().map(|f| f.rejected as i64),
        )),
        Arc::new(StringArray::from_iter_values(
            files.iter().map(|f| f.principal.as_str()),
        )),
        Arc::new(StringArray::from(
            files.iter().map(|f| f.property.clone()).collect::<Vec<_>>(),
        )),
        Arc::new(
            arrow::array::TimestampMicrosecondArray::from(vec![loaded_at.timestamp_micros(); n])
                .with_timezone("UTC"),
        ),
    ];
    let batch = RecordBatch::try_new(schema, columns).map_err(|source| Ga4Error::Arrow {
        context: "recording loaded files".into(),
        source,
    })?;
    wh.append_system(FILES_TABLE, batch).await?;
    Ok(())
}

/// Key counts per (scope, key, day).
pub type KeyDays = BTreeMap<(KeyScope, String, NaiveDate), KeyCounts>;

fn key_days_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("scope", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("event_date", DataType::Date32, false),
        Field::new("string_values", DataType::Int64, false),
        Field::new("int_values", DataType::Int64, false),
        Field::new("double_values", DataType::Int64, false),
        Field::new("null_values", DataType::Int64, false),
    ]))
}

pub async fn read_key_days(wh: &Warehouse) -> Result<KeyDays, Ga4Error> {
    let batches = read_system(
        wh,
        KEY_DAYS_TABLE,
        "SELECT scope, key, event_date, string_values, int_values, double_values, null_values
         FROM _kura.ga4_key_days",
    )
    .await?;
    let mut out = KeyDays::new();
    for b in &batches {
        let (Some(s), Some(k), Some(d), Some(sv), Some(iv), Some(dv), Some(nv)) = (
            strings(b, "scope"),
            strings(b, "key"),
            dates(b, "event_date"),
            ints(b, "string_values"),
            ints(b, "int_values"),
            ints(b, "double_values"),
            ints(b, "null_values"),
        ) else {
            continue;
        };
        for i in 0..b.num_rows() {
            let Some(scope) = KeyScope::parse(s.value(i)) else {
                continue;
            };
            out.insert(
                (scope, k.value(i).to_string(), days_to_date(d.value(i))),
                KeyCounts {
                    string: sv.value(i) as u64,
                    int: iv.value(i) as u64,
                    double: dv.value(i) as u64,
                    null: nv.value(i) as u64,
                },
            );
        }
    }
    Ok(out)
}

/// Replaces the whole of a small system table.
async fn overwrite_system(wh: &Warehouse, table: &str, batch: RecordBatch) -> Result<(), Ga4Error> {
    let name = TableName::new(kura_engine::access::SYSTEM_DATASET, table)?;
    let delta = wh.store().open_or_new(&name).await?;
    delta
        .write(vec![batch])
        .with_save_mode(SaveMode::Overwrite)
        .with_schema_mode(SchemaMode::Overwrite)
        .await
        .map_err(|source| Ga4Error::Delta {
            table: name.to_string(),
            source: Box::new(source),
        })?;
    Ok(())
}

pub async fn write_key_days(wh: &Warehouse, days: &KeyDays) -> Result<(), Ga4Error> {
    let col = |f: &dyn Fn(&KeyCounts) -> u64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            days.values().map(|c| f(c) as i64),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            days.keys().map(|(s, _, _)| s.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            days.keys().map(|(_, k, _)| k.as_str()),
        )),
        Arc::new(Date32Array::from_iter_values(
            days.keys().map(|(_, _, d)| date_to_days(*d)),
        )),
        col(&|c| c.string),
        col(&|c| c.int),
        col(&|c| c.double),
        col(&|c| c.null),
    ];
    let batch =
        RecordBatch::try_new(key_days_schema(), columns).map_err(|source| Ga4Error::Arrow {
            context: "recording parameter keys".into(),
            source,
        })?;
    overwrite_system(wh, KEY_DAYS_TABLE, batch).await
}

/// A key's column with when it was added and its last type change.
#[derive(Debug, Clone)]
pub struct ColumnRecord {
    pub column: KeyColumn,
    pub added_on: NaiveDate,
    pub widened_from: Option<ParamType>,
    pub widened_on: Option<NaiveDate>,
}

pub async fn read_columns(wh: &Warehouse) -> Result<Vec<ColumnRecord>, Ga4Error> {
    let batches = read_system(
        wh,
        COLUMNS_TABLE,
        "SELECT scope, key, column_name, column_type, added_on, widened_from, widened_on, position
         FROM _kura.ga4_columns ORDER BY position",
    )
    .await?;
    let mut out = Vec::new();
    for b in &batches {
        let (Some(s), Some(k), Some(c), Some(t), Some(a), Some(wf), Some(wo)) = (
            strings(b, "scope"),
            strings(b, "key"),
            strings(b, "column_name"),
            strings(b, "column_type"),
            dates(b, "added_on"),
            strings(b, "widened_from"),
            dates(b, "widened_on"),
        ) else {
            continue;
        };
        for i in 0..b.num_rows() {
            let (Some(scope), Some(param_type)) =
                (KeyScope::parse(s.value(i)), ParamType::parse(t.value(i)))
            else {
                continue;
            };
            out.push(ColumnRecord {
                column: KeyColumn {
                    scope,
                    key: k.value(i).to_string(),
                    column: c.value(i).to_string(),
                    param_type,
                },
                added_on: days_to_date(a.value(i)),
                widened_from: wf
                    .is_valid(i)
                    .then(|| ParamType::parse(wf.value(i)))
                    .flatten(),
                widened_on: wo.is_valid(i).then(|| days_to_date(wo.value(i))),
            });
        }
    }
    Ok(out)
}

pub async fn write_columns(wh: &Warehouse, columns: &[ColumnRecord]) -> Result<(), Ga4Error> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("position", DataType::Int64, false),
        Field::new("scope", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("column_type", DataType::Utf8, false),
        Field::new("added_on", DataType::Date32, false),
        Field::new("widened_from", DataType::Utf8, true),
        Field::new("widened_on", DataType::Date32, true),
    ]));
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..columns.len() as i64)),
        Arc::new(StringArray::from_iter_values(
            columns.iter().map(|c| c.column.scope.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            columns.iter().map(|c| c.column.key.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            columns.iter().map(|c| c.column.column.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            columns.iter().map(|c| c.column.param_type.as_str()),
        )),
        Arc::new(Date32Array::from_iter_values(
            columns.iter().map(|c| date_to_days(c.added_on)),
        )),
        Arc::new(StringArray::from(
            columns
                .iter()
                .map(|c| c.widened_from.map(ParamType::as_str))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Date32Array::from(
            columns
                .iter()
                .map(|c| c.widened_on.map(date_to_days))
                .collect::<Vec<_>>(),
        )),
    ];
    let batch = RecordBatch::try_new(schema, arrays).map_err(|source| Ga4Error::Arrow {
        context: "recording parameter columns".into(),
        source,
    })?;
    overwrite_system(wh, COLUMNS_TABLE, batch).await
}
