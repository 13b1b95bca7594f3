//! Flattening raw export batches into the wide and long tables.
//!
//! - `ga4.events`: one row per event. Struct fields become `device_category`,
//!   `geo_country`, `traffic_source_medium`, ... (path joined by `_`); `event_date` becomes a
//!   DATE and INT64 microsecond columns named `*timestamp` become TIMESTAMPs (UTC); then one
//!   column per `event_params` key (`param_<key>`) and per `user_properties` key
//!   (`user_<key>`), typed as [`crate::keys`] describes.
//! - `ga4.event_params` / `ga4.user_properties`: one row per event and key with every value
//!   field, the field that was set and the value as written: the lossless form.
//! - `ga4.items`: one row per item with the event's identity, the item's fields and one
//!   `param_<key>` column per `item_params` key.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, Date32Array, Float64Array, Int64Array, StringArray,
    StringBuilder, StructArray, UInt32Array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::keys::{KeyColumn, KeyScope, ParamList, ParamType};
use crate::schema::{
    export_schema, struct_fields, EVENT_ID, EVENT_PARAMS, EXPORT_KIND, ITEMS, ITEM_PARAMS,
    PROPERTY, UNKNOWN_FIELDS, USER_PROPERTIES,
};

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// How a raw value becomes a column value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Convert {
    Keep,
    /// `"20240501"` to a DATE.
    Date,
    /// INT64 microseconds since the epoch to a TIMESTAMP.
    Timestamp,
}

/// A column of a flat table taken from a (possibly nested) raw column.
#[derive(Debug, Clone)]
struct PathColumn {
    name: String,
    path: Vec<String>,
    convert: Convert,
    data_type: DataType,
}

impl PathColumn {
    fn new(name: String, path: Vec<String>, raw_type: &DataType) -> PathColumn {
        let leaf = path.last().map(String::as_str).unwrap_or_default();
        let convert = if leaf == "event_date" && *raw_type == DataType::Utf8 && path.len() == 1 {
            Convert::Date
        } else if leaf.ends_with("timestamp") && *raw_type == DataType::Int64 {
            Convert::Timestamp
        } else {
            Convert::Keep
        };
        let data_type = match convert {
            Convert::Keep => raw_type.clone(),
            Convert::Date => DataType::Date32,
            Convert::Timestamp => timestamp_type(),
        };
        PathColumn {
            name,
            path,
            convert,
            data_type,
        }
    }

    fn field(&self) -> Field {
        Field::new(&self.name, self.data_type.clone(), true)
    }

    /// The column's values for every row of `struct_like` (a batch's columns as a struct).
    fn extract(&self, root: &StructArray) -> Result<ArrayRef, ArrowError> {
        let raw = match path_array(root, &self.path) {
            Some(a) => a,
            None => return Ok(new_null_array(&self.data_type, root.len())),
        };
        match self.convert {
            Convert::Keep => Ok(raw),
            Convert::Timestamp => arrow::compute::cast(&raw, &self.data_type),
            Convert::Date => {
                let text = raw
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| ArrowError::CastError("event_date is not text".into()))?;
                // A batch holds one day, so the previous row's date is nearly always it.
                let mut last: Option<(&str, Option<i32>)> = None;
                Ok(Arc::new(
                    text.iter()
                        .map(|v| {
                            let v = v?;
                            match last {
                                Some((seen, days)) if seen == v => days,
                                _ => {
                                    let days = parse_yyyymmdd(v);
                                    last = Some((v, days));
                                    days
                                }
                            }
                        })
                        .collect::<Date32Array>(),
                ))
            }
        }
    }
}

/// Days since the epoch of a `YYYYMMDD` date.
pub fn parse_yyyymmdd(s: &str) -> Option<i32> {
    let date = chrono::NaiveDate::parse_from_str(s, "%Y%m%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// The array at `path` under `root`, with the NULLs of every struct on the way.
fn path_array(root: &StructArray, path: &[String]) -> Option<ArrayRef> {
    let (first, rest) = path.split_first()?;
    let mut array = root.column_by_name(first)?.clone();
    let mut nulls: Option<NullBuffer> = None;
    for name in rest {
        let s = array.as_any().downcast_ref::<StructArray>()?;
        nulls = NullBuffer::union(nulls.as_ref(), s.nulls());
        array = s.column_by_name(name)?.clone();
    }
    if nulls.is_none() {
        return Some(array);
    }
    let merged = NullBuffer::union(nulls.as_ref(), array.nulls());
    let data = array.to_data().into_builder().nulls(merged).build().ok()?;
    Some(arrow::array::make_array(data))
}

/// The flat columns for the fields of `fields` (struct fields recursively joined by `_`),
/// except the ones named in `skip` at the top level.
fn path_columns(fields: &arrow::datatypes::Fields, skip: &[&str]) -> Vec<PathColumn> {
    fn walk(prefix: &[String], fields: &arrow::datatypes::Fields, out: &mut Vec<PathColumn>) {
        for f in fields {
            let mut path = prefix.to_vec();
            path.push(f.name().clone());
            match struct_fields(f.data_type()) {
                Some(children) => walk(&path, children, out),
                None => out.push(PathColumn::new(path.join("_"), path, f.data_type())),
            }
        }
    }
    let mut out = Vec::new();
    for f in fields {
        if skip.contains(&f.name().as_str()) {
            continue;
        }
        walk(
            &[],
            &arrow::datatypes::Fields::from(vec![f.clone()]),
            &mut out,
        );
    }
    out
}

fn batch_as_struct(batch: &RecordBatch) -> StructArray {
    StructArray::from(batch.clone())
}

/// Builds the columns for `columns` (keys of one array) from `params`, one value per row.
fn key_columns(
    params: Option<&ParamList<'_>>,
    columns: &[&KeyColumn],
    rows: usize,
) -> Vec<ArrayRef> {
    let Some(params) = params else {
        return columns
            .iter()
            .map(|c| new_null_array(&c.param_type.data_type(), rows))
            .collect();
    };
    let index: HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.as_str(), i))
        .collect();
    // For each column and row, the entry holding the value; the last entry wins when an
    // event repeats a key.
    const NONE: u32 = u32::MAX;
    let mut at = vec![NONE; columns.len() * rows];
    for row in 0..rows {
        for entry in params.entries(row) {
            if let Some(c) = params.key(entry).and_then(|k| index.get(k)) {
                at[c * rows + row] = entry as u32;
            }
        }
    }
    columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            let entries = &at[c * rows..(c + 1) * rows];
            let entry = |row: usize| (entries[row] != NONE).then(|| entries[row] as usize);
            let array: ArrayRef = match col.param_type {
                ParamType::Null => new_null_array(&DataType::Utf8, rows),
                ParamType::Int64 => Arc::new(
                    (0..rows)
                        .map(|r| entry(r).and_then(|e| params.as_i64(e)))
                        .collect::<Int64Array>(),
                ),
                ParamType::Float64 => Arc::new(
                    (0..rows)
                        .map(|r| entry(r).and_then(|e| params.as_f64(e)))
                        .collect::<Float64Array>(),
                ),
                ParamType::String => {
                    let mut b = StringBuilder::with_capacity(rows, rows * 8);
                    for r in 0..rows {
                        params.append_string(entry(r), &mut b);
                    }
                    Arc::new(b.finish())
                }
            };
            array
        })
        .collect()
}

fn key_fields(columns: &[&KeyColumn]) -> Vec<Field> {
    columns
        .iter()
        .map(|c| Field::new(&c.column, c.param_type.data_type(), true))
        .collect()
}

/// The shape of `ga4.events` for a raw schema and a set of key columns.
#[derive(Debug, Clone)]
pub struct EventsLayout {
    fixed: Vec<PathColumn>,
    params: Vec<KeyColumn>,
    users: Vec<KeyColumn>,
    schema: SchemaRef,
}

/// The export's top-level columns that become names other than their own.
fn renamed(name: &str) -> Option<&'static str> {
    match name {
        EVENT_ID => Some("event_id"),
        EXPORT_KIND => Some("export_kind"),
        PROPERTY => Some("property"),
        UNKNOWN_FIELDS => Some("unknown_fields"),
        _ => None,
    }
}

impl EventsLayout {
    /// `raw` is the raw table's schema (the export's columns, extra columns, bookkeeping);
    /// `keys` every key column, of every scope.
    pub fn new(raw: &Schema, keys: &[KeyColumn]) -> EventsLayout {
        let mut fixed = Vec::new();
        if let Ok(f) = raw.field_with_name(EVENT_ID) {
            fixed.push(PathColumn::new(
                "event_id".into(),
                vec![EVENT_ID.into()],
                f.data_type(),
            ));
        }
        let skip = [
            EVENT_PARAMS,
            USER_PROPERTIES,
            ITEMS,
            EVENT_ID,
            crate::schema::SOURCE_FILE,
            crate::schema::LOADED_AT,
            EXPORT_KIND,
            PROPERTY,
            UNKNOWN_FIELDS,
        ];
        fixed.extend(path_columns(raw.fields(), &skip));
        for name in [EXPORT_KIND, PROPERTY, UNKNOWN_FIELDS] {
            if let Ok(f) = raw.field_with_name(name) {
                let to = renamed(name).unwrap_or(name);
                fixed.push(PathColumn::new(to.into(), vec![name.into()], f.data_type()));
            }
        }
        let params: Vec<KeyColumn> = keys
            .iter()
            .filter(|k| k.scope == KeyScope::Event)
            .cloned()
            .collect();
        let users: Vec<KeyColumn> = keys
            .iter()
            .filter(|k| k.scope == KeyScope::User)
            .cloned()
            .collect();
        let mut fields: Vec<Field> = fixed.iter().map(PathColumn::field).collect();
        fields.extend(key_fields(&params.iter().collect::<Vec<_>>()));
        fields.extend(key_fields(&users.iter().collect::<Vec<_>>()));
        EventsLayout {
            fixed,
            params,
            users,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The names of the columns that do not come from keys: keys must not take them.
    pub fn fixed_names(raw: &Schema) -> Vec<String> {
        EventsLayout::new(raw, &[])
            .fixed
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// One wide row per raw row.
    ///
    /// # Errors
    /// An Arrow error when a raw column has an unexpected type.
    pub fn flatten(&self, raw: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let rows = raw.num_rows();
        let root = batch_as_struct(raw);
        let mut columns = self
            .fixed
            .iter()
            .map(|c| c.extract(&root))
            .collect::<Result<Vec<_>, _>>()?;
        let event_params = raw.column_by_name(EVENT_PARAMS);
        let event_params = event_params.and_then(|a| ParamList::new(a.as_ref()));
        columns.extend(key_columns(
            event_params.as_ref(),
            &self.params.iter().collect::<Vec<_>>(),
            rows,
        ));
        let user_props = raw.column_by_name(USER_PROPERTIES);
        let user_props = user_props.and_then(|a| ParamList::new(a.as_ref()));
        columns.extend(key_columns(
            user_props.as_ref(),
            &self.users.iter().collect::<Vec<_>>(),
            rows,
        ));
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    }
}

/// The event columns repeated on every row of the long and item tables.
fn context_columns() -> Vec<PathColumn> {
    let export = export_schema();
    let mut out = vec![PathColumn::new(
        "event_id".into(),
        vec![EVENT_ID.into()],
        &DataType::Utf8,
    )];
    for name in [
        "event_date",
        "event_timestamp",
        "event_name",
        "user_pseudo_id",
    ] {
        if let Ok(f) = export.field_with_name(name) {
            out.push(PathColumn::new(
                name.into(),
                vec![name.into()],
                f.data_type(),
            ));
        }
    }
    out
}

/// `ga4.event_params` or `ga4.user_properties`: one row per event and key.
#[derive(Debug, Clone)]
pub struct LongLayout {
    array: &'static str,
    context: Vec<PathColumn>,
    schema: SchemaRef,
}

impl LongLayout {
    pub fn new(scope: KeyScope) -> LongLayout {
        let context = context_columns();
        let mut fields: Vec<Field> = context.iter().map(PathColumn::field).collect();
        fields.extend([
            Field::new("key", DataType::Utf8, true),
            Field::new("string_value", DataType::Utf8, true),
            Field::new("int_value", DataType::Int64, true),
            Field::new("float_value", DataType::Float64, true),
            Field::new("double_value", DataType::Float64, true),
        ]);
        if scope == KeyScope::User {
            fields.push(Field::new("set_timestamp", timestamp_type(), true));
        }
        fields.extend([
            Field::new("value_field", DataType::Utf8, true),
            Field::new("value", DataType::Utf8, true),
        ]);
        LongLayout {
            array: match scope {
                KeyScope::User => USER_PROPERTIES,
                _ => EVENT_PARAMS,
            },
            context,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// One row per entry of the array in every raw row.
    pub fn flatten(&self, raw: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let column = raw.column_by_name(self.array);
        let Some(params) = column.and_then(|a| ParamList::new(a.as_ref())) else {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        };
        let mut rows = Vec::new();
        let mut entries = Vec::new();
        for row in 0..raw.num_rows() {
            for entry in params.entries(row) {
                rows.push(row as u32);
                entries.push(entry as u32);
            }
        }
        let rows = UInt32Array::from(rows);
        let root = batch_as_struct(raw);
        let mut columns = Vec::new();
        for c in &self.context {
            columns.push(arrow::compute::take(&c.extract(&root)?, &rows, None)?);
        }
        let take_opt = |a: Option<&dyn Array>, dt: &DataType| -> Result<ArrayRef, ArrowError> {
            match a {
                Some(a) => arrow::compute::take(a, &UInt32Array::from(entries.clone()), None),
                None => Ok(new_null_array(dt, entries.len())),
            }
        };
        columns.push(take_opt(
            params.keys.map(|a| a as &dyn Array),
            &DataType::Utf8,
        )?);
        columns.push(take_opt(
            params.string_value.map(|a| a as &dyn Array),
            &DataType::Utf8,
        )?);
        columns.push(take_opt(
            params.int_value.map(|a| a as &dyn Array),
            &DataType::Int64,
        )?);
        columns.push(take_opt(
            params.float_value.map(|a| a as &dyn Array),
            &DataType::Float64,
        )?);
        columns.push(take_opt(
            params.double_value.map(|a| a as &dyn Array),
            &DataType::Float64,
        )?);
        if self.array == USER_PROPERTIES {
            let ts = take_opt(
                params.set_timestamp_micros.map(|a| a as &dyn Array),
                &DataType::Int64,
            )?;
            columns.push(arrow::compute::cast(&ts, &timestamp_type())?);
        }
        let fields: StringArray = entries
            .iter()
            .map(|&e| params.field(e as usize).map(|f| f.as_str()))
            .collect();
        let mut values = StringBuilder::with_capacity(entries.len(), entries.len() * 8);
        for &e in &entries {
            params.append_string(Some(e as usize), &mut values);
        }
        let values = values.finish();
        columns.push(Arc::new(fields));
        columns.push(Arc::new(values));
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(entries.len())),
        )
    }
}

/// `ga4.items`: one row per item.
#[derive(Debug, Clone)]
pub struct ItemsLayout {
    context: Vec<PathColumn>,
    item: Vec<PathColumn>,
    params: Vec<KeyColumn>,
    schema: SchemaRef,
}

impl ItemsLayout {
    pub fn new(keys: &[KeyColumn]) -> ItemsLayout {
        let context = context_columns();
        let item_fields = export_schema()
            .field_with_name(ITEMS)
            .ok()
            .and_then(|f| match f.data_type() {
                DataType::List(e) => struct_fields(e.data_type()).cloned(),
                _ => None,
            })
            .unwrap_or_default();
        let item = path_columns(&item_fields, &[ITEM_PARAMS]);
        let params: Vec<KeyColumn> = keys
            .iter()
            .filter(|k| k.scope == KeyScope::Item)
            .cloned()
            .collect();
        let mut fields: Vec<Field> = context.iter().map(PathColumn::field).collect();
        fields.push(Field::new("item_index", DataType::Int64, true));
        fields.extend(item.iter().map(PathColumn::field));
        fields.extend(key_fields(&params.iter().collect::<Vec<_>>()));
        ItemsLayout {
            context,
            item,
            params,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The names of the columns that do not come from keys.
    pub fn fixed_names() -> Vec<String> {
        let layout = ItemsLayout::new(&[]);
        layout
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn flatten(&self, raw: &RecordBatch) -> Result<RecordBatch, ArrowError> {
        let Some(items) = raw.column_by_name(ITEMS).and_then(|a| {
            a.as_any()
                .downcast_ref::<arrow::array::ListArray>()
                .cloned()
        }) else {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        };
        let Some(values) = items.values().as_any().downcast_ref::<StructArray>() else {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        };
        let offsets = items.value_offsets();
        let mut rows = Vec::new();
        let mut entries = Vec::new();
        let mut index = Vec::new();
        for row in 0..raw.num_rows() {
            if items.is_null(row) {
                continue;
            }
            for (i, e) in (offsets[row] as usize..offsets[row + 1] as usize).enumerate() {
                rows.push(row as u32);
                entries.push(e as u32);
                index.push(i as i64);
            }
        }
        let rows = UInt32Array::from(rows);
        let entry_idx = UInt32Array::from(entries);
        let root = batch_as_struct(raw);
        let mut columns = Vec::new();
        for c in &self.context {
            columns.push(arrow::compute::take(&c.extract(&root)?, &rows, None)?);
        }
        columns.push(Arc::new(Int64Array::from(index)));
        for c in &self.item {
            columns.push(arrow::compute::take(&c.extract(values)?, &entry_idx, None)?);
        }
        let item_params = values.column_by_name(ITEM_PARAMS);
        let item_params = item_params.and_then(|a| ParamList::new(a.as_ref()));
        let per_item = key_columns(
            item_params.as_ref(),
            &self.params.iter().collect::<Vec<_>>(),
            values.len(),
        );
        for col in per_item {
            columns.push(arrow::compute::take(&col, &entry_idx, None)?);
        }
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(entry_idx.len())),
        )
    }
}
