//! The export's schema, the raw table's schema (the export plus kura's bookkeeping columns),
//! and conversion of batches to it by field name at every level of nesting.

use std::sync::{Arc, OnceLock};

use arrow::array::{new_null_array, Array, ArrayRef, ListArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

/// GA4's BigQuery export schema (31 top-level columns), as Google documents it.
const EXPORT_SCHEMA_JSON: &str = include_str!("ga4_events_schema.json");

/// The raw table's bookkeeping columns, after the export's own.
pub const EVENT_ID: &str = "_event_id";
pub const EXPORT_KIND: &str = "_export_kind";
pub const SOURCE_FILE: &str = "_source_file";
pub const LOADED_AT: &str = "_loaded_at";
/// The GA4 property a row was loaded for (`kura ga4 load --property`); NULL without one.
pub const PROPERTY: &str = "_property";
/// Top-level fields of an NDJSON line that the export schema does not know, as a JSON object.
pub const UNKNOWN_FIELDS: &str = "_unknown_fields";

/// The export's arrays that flattening turns into columns and tables.
pub const EVENT_PARAMS: &str = "event_params";
pub const USER_PROPERTIES: &str = "user_properties";
pub const ITEMS: &str = "items";
pub const ITEM_PARAMS: &str = "item_params";

/// The export schema in the Arrow types kura stores.
pub fn export_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let schema = kura_engine::load::parse_schema(EXPORT_SCHEMA_JSON)
                .unwrap_or_else(|e| panic!("the bundled GA4 schema is valid: {e}"));
            Arc::new(kura_engine::load::storable_schema(&schema))
        })
        .clone()
}

/// The bookkeeping columns kura adds to every raw row.
pub fn bookkeeping_fields() -> Vec<Field> {
    vec![
        Field::new(UNKNOWN_FIELDS, DataType::Utf8, true),
        Field::new(EVENT_ID, DataType::Utf8, true),
        Field::new(EXPORT_KIND, DataType::Utf8, true),
        Field::new(SOURCE_FILE, DataType::Utf8, true),
        Field::new(
            LOADED_AT,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(PROPERTY, DataType::Utf8, true),
    ]
}

/// What the reader produces: the export's columns, extra top-level columns some files bring
/// (Parquet files written with a newer schema), then `_unknown_fields`.
pub fn read_schema(extra: &[Field]) -> SchemaRef {
    let mut fields: Vec<Field> = export_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(extra.iter().cloned());
    fields.push(Field::new(UNKNOWN_FIELDS, DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// `raw.ga4_events`: what the reader produces, then the other bookkeeping columns.
pub fn raw_schema(extra: &[Field]) -> SchemaRef {
    let mut fields: Vec<Field> = read_schema(extra)
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.extend(
        bookkeeping_fields()
            .into_iter()
            .filter(|f| f.name() != UNKNOWN_FIELDS),
    );
    Arc::new(Schema::new(fields))
}

/// Converts `batch` to `target` by name at every level: fields the batch lacks are NULL
/// (older shards without `event_original_occurrence_timestamp`, items without
/// `item_params`), fields `target` lacks are dropped, and scalars are cast.
///
/// # Errors
/// An Arrow error when a value cannot be cast (text where a number is expected).
pub fn conform_batch(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = target
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(col) => conform_array(col, f.data_type()),
            None => Ok(new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

fn conform_array(array: &ArrayRef, target: &DataType) -> Result<ArrayRef, ArrowError> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    match (array.data_type(), target) {
        (DataType::Struct(_), DataType::Struct(fields)) => {
            let source = array
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(|| ArrowError::CastError("expected a struct".into()))?;
            let children = fields
                .iter()
                .map(|f| match source.column_by_name(f.name()) {
                    Some(col) => conform_array(col, f.data_type()),
                    None => Ok(new_null_array(f.data_type(), source.len())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                children,
                source.nulls().cloned(),
            )?))
        }
        (DataType::List(_) | DataType::LargeList(_), DataType::List(field)) => {
            let list = arrow::compute::cast(array, &DataType::List(list_field_like(array)))?;
            let list = list
                .as_any()
                .downcast_ref::<ListArray>()
                .ok_or_else(|| ArrowError::CastError("expected a list".into()))?;
            let values = conform_array(list.values(), field.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                field.clone(),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?))
        }
        _ => {
            let cast = arrow::compute::cast(array, target)?;
            // A value that does not convert (text where a number is expected) is an error,
            // not a NULL.
            if *array.data_type() != DataType::Null && cast.null_count() > array.null_count() {
                let shown = (0..array.len())
                    .find(|&i| array.is_valid(i) && cast.is_null(i))
                    .and_then(|i| arrow::util::display::array_value_to_string(array, i).ok())
                    .unwrap_or_default();
                return Err(ArrowError::CastError(format!(
                    "the value `{shown}` cannot be read as {target}"
                )));
            }
            Ok(cast)
        }
    }
}

/// The element field of a list or large list, for casting a large list to a list.
fn list_field_like(array: &ArrayRef) -> Arc<Field> {
    match array.data_type() {
        DataType::List(f) | DataType::LargeList(f) => f.clone(),
        _ => Arc::new(Field::new("element", DataType::Null, true)),
    }
}

/// The names of the top-level fields of `schema` that the export schema does not have.
pub fn extra_fields(schema: &Schema) -> Vec<Field> {
    let export = export_schema();
    schema
        .fields()
        .iter()
        .filter(|f| export.field_with_name(f.name()).is_err())
        .filter(|f| !bookkeeping_fields().iter().any(|b| b.name() == f.name()))
        .map(|f| f.as_ref().clone())
        .collect()
}

/// The fields of a struct type, or none.
pub fn struct_fields(dt: &DataType) -> Option<&Fields> {
    match dt {
        DataType::Struct(f) => Some(f),
        _ => None,
    }
}
