//! `ga4.sessions` and `ga4.pages`, brought up to date after every load for the days it wrote.
//!
//! A session is `user_pseudo_id` + `ga_session_id` (within a property, when loaded with
//! `--property`). Events without `ga_session_id` (the Measurement Protocol, some server-side
//! events) or without `user_pseudo_id` belong to no session: they are counted and reported,
//! never merged into one made-up session. A session is engaged when any event
//! says `session_engaged` is 1 (sent as text or as a number) or its events' engagement time
//! adds up to at least 10 seconds. Source, medium and campaign are the first event's
//! `collected_traffic_source` values, else its `source`/`medium`/`campaign` parameters.
//!
//! Only what the loaded days change is recomputed, a few days at a time, so a load's memory
//! follows the days it loads, not the history the warehouse holds; of the history, only three
//! columns of `ga4.sessions` are read in full (to find the stored sessions a day touches):
//! - `ga4.pages` is partitioned by `event_date`; a loaded day's pages are recomputed from that
//!   day's events.
//! - `ga4.sessions` is partitioned by `session_date` (its first event's day) and keeps each
//!   session's last day in `session_end_date`. For a chunk of loaded days, the sessions
//!   affected are those with an event in the chunk now, and those whose stored span covers a
//!   day of the chunk (an intraday file's session may be gone from the daily file). They are
//!   recomputed from the chunk's days plus every day their stored spans cover: events outside
//!   the chunk did not change, so those days hold all of their other events. The partitions
//!   that held or now hold an affected session are rewritten in one commit, with the
//!   unaffected sessions in them as they were.
//! - A table without this layout (made by an older kura) is recomputed whole, chunk by chunk,
//!   once; so is everything on `kura ga4 rebuild`.

use std::collections::{BTreeSet, HashSet};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Date32Type, SchemaRef};
use chrono::NaiveDate;
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use futures::TryStreamExt;
use kura_engine::{TableName, Warehouse};

use crate::day_write::{self, DayFormat};
use crate::error::Ga4Error;
use crate::keys::{KeyColumn, KeyScope};
use crate::load::DATASET;
use crate::schema::conform_batch;
use crate::state::{date_to_days, days_to_date};

/// Events recomputed at once: days are taken in order until their events pass this. Bounds the
/// sessions aggregation's memory (a day larger than this is a chunk of its own).
const CHUNK_EVENTS: u64 = 1_000_000;

const SESSIONS: &str = "sessions";
const SESSION_DAY: &str = "session_date";
const SESSION_LAST_DAY: &str = "session_end_date";
const PAGES: &str = "pages";
const PAGE_DAY: &str = "event_date";

/// What the update found.
#[derive(Debug, Clone, Copy, Default)]
pub struct DerivedSummary {
    pub sessions: u64,
    pub events_without_session: u64,
}

/// Which days of `ga4.events` changed.
#[derive(Debug, Clone, Copy)]
pub enum ChangedDays<'a> {
    /// These days were loaded (or reloaded); every other day is as it was.
    Loaded(&'a [NaiveDate]),
    /// Any day may have changed: recompute everything.
    All,
}

/// A column of `ga4.events` holding an event parameter, quoted.
fn param(keys: &[KeyColumn], key: &str) -> Option<String> {
    keys.iter()
        .find(|k| k.scope == KeyScope::Event && k.key == key)
        .map(|k| format!("\"{}\"", k.column))
}

/// The first non-NULL value of `expr` in event order.
fn first(expr: &str) -> String {
    format!(
        "first_value({expr} ORDER BY CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END, event_timestamp)"
    )
}

/// `column IN (days)` as SQL; `false` for no days.
fn days_in(column: &str, days: impl IntoIterator<Item = NaiveDate>) -> String {
    let days: Vec<String> = days
        .into_iter()
        .map(|d| format!("DATE '{}'", d.format("%Y-%m-%d")))
        .collect();
    if days.is_empty() {
        "false".into()
    } else {
        format!("{column} IN ({})", days.join(", "))
    }
}

/// A session's key: the property (when loaded with one), `user_pseudo_id` and
/// `ga_session_id`.
fn session_key(property: &str, session_id: &str) -> String {
    format!(
        "COALESCE({property} || '/', '') || user_pseudo_id || '.' || CAST({session_id} AS VARCHAR)"
    )
}

/// `ga4.events`' property column, or NULL for a table made before properties were recorded.
async fn property_column(wh: &Warehouse) -> Result<&'static str, Ga4Error> {
    let events = TableName::new(DATASET, "events")?;
    Ok(
        if wh.store().exists(&events)
            && wh
                .table_schema(&events)
                .await?
                .field_with_name("property")
                .is_ok()
        {
            "property"
        } else {
            "CAST(NULL AS VARCHAR)"
        },
    )
}

/// Whether events have sessions at all: `ga_session_id` has been seen.
fn session_id_column(keys: &[KeyColumn]) -> Option<String> {
    param(keys, "ga_session_id")
}

/// The sessions of the events of `scan_days`, each with whether it has an event in `chunk`
/// (`_kura_in_chunk`, dropped before writing). `None` before any event had a `ga_session_id`.
fn sessions_sql(
    keys: &[KeyColumn],
    property: &str,
    scan_days: &BTreeSet<NaiveDate>,
    chunk: &[NaiveDate],
) -> Option<String> {
    let session_id = session_id_column(keys)?;
    let text = |key: &str| {
        param(keys, key)
            .map(|c| format!("CAST({c} AS VARCHAR)"))
            .unwrap_or_else(|| "CAST(NULL AS VARCHAR)".into())
    };
    let engaged = param(keys, "session_engaged")
        .map(|c| format!("CAST({c} AS VARCHAR) IN ('1', '1.0', 'true')"))
        .unwrap_or_else(|| "false".into());
    let engagement = param(keys, "engagement_time_msec")
        .map(|c| format!("TRY_CAST({c} AS DOUBLE)"))
        .unwrap_or_else(|| "CAST(NULL AS DOUBLE)".into());
    let page = text("page_location");
    let source = format!(
        "COALESCE(collected_traffic_source_manual_source, {})",
        text("source")
    );
    let medium = format!(
        "COALESCE(collected_traffic_source_manual_medium, {})",
        text("medium")
    );
    let campaign = format!(
        "COALESCE(collected_traffic_source_manual_campaign_name, {})",
        text("campaign")
    );
    Some(format!(
        "WITH e AS (
           SELECT {property} AS property, user_pseudo_id,
                  CAST({session_id} AS VARCHAR) AS ga_session_id, event_date,
                  event_timestamp, event_name, {page} AS page_location,
                  {engaged} AS engaged_flag, {engagement} AS engagement_msec,
                  {source} AS source, {medium} AS medium, {campaign} AS campaign,
                  ecommerce_purchase_revenue, device_category, geo_country
           FROM ga4.events
           WHERE {session_id} IS NOT NULL AND user_pseudo_id IS NOT NULL AND {scan}
         )
         SELECT COALESCE(property || '/', '') || user_pseudo_id || '.' || ga_session_id AS session_key,
                property, user_pseudo_id, ga_session_id,
                min(event_date) AS {SESSION_DAY},
                max(event_date) AS {SESSION_LAST_DAY},
                min(event_timestamp) AS session_start,
                max(event_timestamp) AS session_end,
                count(*) AS events,
                sum(CASE WHEN event_name = 'page_view' THEN 1 ELSE 0 END) AS page_views,
                (COALESCE(bool_or(engaged_flag), false) OR COALESCE(sum(engagement_msec), 0) >= 10000) AS engaged,
                CAST(COALESCE(sum(engagement_msec), 0) AS BIGINT) AS engagement_time_msec,
                {landing} AS landing_page,
                {src} AS source, {med} AS medium, {camp} AS campaign,
                sum(CASE WHEN event_name = 'purchase' THEN 1 ELSE 0 END) AS purchases,
                COALESCE(sum(CASE WHEN event_name = 'purchase' THEN ecommerce_purchase_revenue END), 0) AS revenue,
                {device} AS device_category, {geo} AS geo_country,
                bool_or({in_chunk}) AS _kura_in_chunk
         FROM e
         GROUP BY property, user_pseudo_id, ga_session_id",
        scan = days_in("event_date", scan_days.iter().copied()),
        in_chunk = days_in("event_date", chunk.iter().copied()),
        landing = first("page_location"),
        src = first("source"),
        med = first("medium"),
        camp = first("campaign"),
        device = first("device_category"),
        geo = first("geo_country"),
    ))
}

/// Page views and users per page of `days`. `None` before any event had a `page_location`.
fn pages_sql(keys: &[KeyColumn], property: &str, days: &[NaiveDate]) -> Option<String> {
    let page = param(keys, "page_location")?;
    Some(format!(
        "SELECT event_date, {property} AS property, CAST({page} AS VARCHAR) AS page_location,
                count(*) AS page_views, count(DISTINCT user_pseudo_id) AS users
         FROM ga4.events
         WHERE event_name = 'page_view' AND {days}
         GROUP BY 1, 2, 3",
        days = days_in("event_date", days.iter().copied()),
    ))
}

/// Brings `ga4.sessions` and `ga4.pages` up to date with the `changed` days of `ga4.events`.
///
/// # Errors
/// Query and Delta errors.
pub async fn update(
    wh: &Warehouse,
    keys: &[KeyColumn],
    changed: ChangedDays<'_>,
) -> Result<DerivedSummary, Ga4Error> {
    let events = TableName::new(DATASET, "events")?;
    let day_rows = day_write::day_rows(wh, &events, DayFormat::Date).await?;
    let mut summary = DerivedSummary::default();
    let property = property_column(wh).await?;
    if let Some(session_id) = session_id_column(keys) {
        let whole = matches!(changed, ChangedDays::All)
            || !laid_out(wh, SESSIONS, SESSION_DAY, &[SESSION_LAST_DAY, "property"]).await?;
        let mut fresh = whole;
        for chunk in chunks(&day_rows, changed, whole) {
            update_sessions(wh, keys, property, &chunk, fresh).await?;
            fresh = false;
        }
        summary.sessions = count(wh, "SELECT count(*) FROM ga4.sessions").await?;
        summary.events_without_session = count(
            wh,
            &format!(
                "SELECT count(*) FROM ga4.events WHERE {session_id} IS NULL OR user_pseudo_id IS NULL"
            ),
        )
        .await?;
    } else {
        summary.events_without_session = day_rows.iter().map(|(_, rows)| rows).sum();
    }
    if param(keys, "page_location").is_some() {
        let whole = matches!(changed, ChangedDays::All)
            || !laid_out(wh, PAGES, PAGE_DAY, &["property"]).await?;
        let mut fresh = whole;
        for chunk in chunks(&day_rows, changed, whole) {
            update_pages(wh, keys, property, &chunk, fresh).await?;
            fresh = false;
        }
    }
    Ok(summary)
}

/// The days to recompute, in chunks of about [`CHUNK_EVENTS`] events: every day of
/// `ga4.events` when `whole`, else the loaded ones (a loaded day that now has no events
/// included: what it held must go). `whole` always gives at least one chunk, which replaces
/// the table even when there are no events.
fn chunks(
    day_rows: &[(NaiveDate, u64)],
    changed: ChangedDays<'_>,
    whole: bool,
) -> Vec<Vec<NaiveDate>> {
    let days: Vec<(NaiveDate, u64)> = match changed {
        ChangedDays::Loaded(loaded) if !whole => {
            let loaded: BTreeSet<NaiveDate> = loaded.iter().copied().collect();
            loaded
                .into_iter()
                .map(|day| {
                    let rows = day_rows
                        .iter()
                        .find(|(d, _)| *d == day)
                        .map_or(0, |(_, rows)| *rows);
                    (day, rows)
                })
                .collect()
        }
        _ => day_rows.to_vec(),
    };
    let mut chunks: Vec<Vec<NaiveDate>> = Vec::new();
    let mut events = 0;
    for (day, rows) in days {
        match chunks.last_mut() {
            Some(chunk) if events + rows <= CHUNK_EVENTS => chunk.push(day),
            _ => {
                chunks.push(vec![day]);
                events = 0;
            }
        }
        events += rows;
    }
    if chunks.is_empty() && whole {
        chunks.push(Vec::new());
    }
    chunks
}

/// Whether `ga4.NAME` exists, is partitioned by `day` alone and has the `columns`.
async fn laid_out(
    wh: &Warehouse,
    name: &str,
    day: &str,
    columns: &[&str],
) -> Result<bool, Ga4Error> {
    let name = TableName::new(DATASET, name)?;
    let Some(table) = wh.store().open(&name).await? else {
        return Ok(false);
    };
    let snapshot = table.snapshot().map_err(|source| Ga4Error::Delta {
        table: name.to_string(),
        source: Box::new(source),
    })?;
    let schema = snapshot.schema();
    Ok(snapshot.metadata().partition_columns() == [day]
        && columns.iter().all(|c| schema.field(c).is_some()))
}

/// Recomputes the sessions `chunk`'s days affect (see the module documentation). `fresh`:
/// the table is replaced by what this chunk makes, whatever it held.
async fn update_sessions(
    wh: &Warehouse,
    keys: &[KeyColumn],
    property: &str,
    chunk: &[NaiveDate],
    fresh: bool,
) -> Result<(), Ga4Error> {
    let Some(session_id) = session_id_column(keys) else {
        return Ok(());
    };
    let mut scan_days: BTreeSet<NaiveDate> = chunk.iter().copied().collect();
    let mut partitions: BTreeSet<NaiveDate> = BTreeSet::new();
    let mut recomputed: HashSet<String> = HashSet::new();
    if !fresh {
        // The stored sessions the chunk affects: spanning one of its days, or with an event in
        // it now.
        let spans = chunk
            .iter()
            .map(|d| {
                let d = format!("DATE '{}'", d.format("%Y-%m-%d"));
                format!("({SESSION_DAY} <= {d} AND {SESSION_LAST_DAY} >= {d})")
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let spans = if spans.is_empty() {
            "false".into()
        } else {
            spans
        };
        let sql = format!(
            "SELECT session_key, {SESSION_DAY}, {SESSION_LAST_DAY} FROM ga4.{SESSIONS}
             WHERE {spans} OR session_key IN (
               SELECT {key} FROM ga4.events
               WHERE {in_chunk} AND {session_id} IS NOT NULL AND user_pseudo_id IS NOT NULL)",
            in_chunk = days_in("event_date", chunk.iter().copied()),
            key = session_key(property, &session_id),
        );
        for batch in collect(wh, &sql).await? {
            let key = text_column(&batch, 0)?;
            let first = date_column(&batch, 1)?;
            let last = date_column(&batch, 2)?;
            for row in 0..batch.num_rows() {
                if key.is_null(row) || first.is_null(row) || last.is_null(row) {
                    continue;
                }
                recomputed.insert(key.value(row).to_string());
                let (first, last) = (first.value(row), last.value(row));
                partitions.insert(days_to_date(first));
                scan_days.extend((first..=last).map(days_to_date));
            }
        }
    }
    let Some(sql) = sessions_sql(keys, property, &scan_days, chunk) else {
        return Ok(());
    };
    let (schema, batches) = collect_with_schema(wh, &sql).await?;
    // Of the sessions of the scanned days, those the chunk affects; the others may be partial
    // (their events on days not scanned) and are kept as stored.
    let mut fresh_batches = Vec::with_capacity(batches.len());
    for batch in batches {
        let key = text_column(&batch, 0)?;
        let in_chunk = batch
            .column(batch.num_columns() - 1)
            .as_boolean_opt()
            .ok_or_else(|| arrow_error("the sessions query", "_kura_in_chunk is not a boolean"))?;
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|row| {
                Some(
                    in_chunk.is_valid(row) && in_chunk.value(row)
                        || key.is_valid(row) && recomputed.contains(key.value(row)),
                )
            })
            .collect();
        let batch = filter_record_batch(&batch, &keep)
            .map_err(|source| arrow_context("the sessions query", source))?;
        fresh_batches.push(
            batch
                .project(&(0..batch.num_columns() - 1).collect::<Vec<_>>())
                .map_err(|source| arrow_context("the sessions query", source))?,
        );
    }
    let schema: SchemaRef = std::sync::Arc::new(
        schema
            .project(&(0..schema.fields().len() - 1).collect::<Vec<_>>())
            .map_err(|source| arrow_context("the sessions query", source))?,
    );
    let first_day = schema
        .index_of(SESSION_DAY)
        .map_err(|source| arrow_context("the sessions query", source))?;
    for batch in &fresh_batches {
        let key = text_column(batch, 0)?;
        let first = date_column(batch, first_day)?;
        for row in 0..batch.num_rows() {
            if key.is_valid(row) {
                recomputed.insert(key.value(row).to_string());
            }
            if first.is_valid(row) {
                partitions.insert(days_to_date(first.value(row)));
            }
        }
    }
    let mut rows = Vec::new();
    if !fresh && !partitions.is_empty() {
        // The rewritten partitions' other sessions, as they were.
        let sql = format!(
            "SELECT * FROM ga4.{SESSIONS} WHERE {}",
            days_in(SESSION_DAY, partitions.iter().copied())
        );
        for batch in collect(wh, &sql).await? {
            let key = text_column(
                &batch,
                batch
                    .schema()
                    .index_of("session_key")
                    .map_err(|source| arrow_context("ga4.sessions", source))?,
            )?;
            let keep: BooleanArray = (0..batch.num_rows())
                .map(|row| Some(key.is_null(row) || !recomputed.contains(key.value(row))))
                .collect();
            let batch = filter_record_batch(&batch, &keep)
                .map_err(|source| arrow_context("ga4.sessions", source))?;
            rows.push(
                conform_batch(&batch, &schema)
                    .map_err(|source| arrow_context("ga4.sessions", source))?,
            );
        }
    }
    rows.extend(fresh_batches);
    if fresh {
        replace(wh, SESSIONS, SESSION_DAY, None, schema, rows).await
    } else if partitions.is_empty() {
        Ok(())
    } else {
        replace(wh, SESSIONS, SESSION_DAY, Some(&partitions), schema, rows).await
    }
}

/// Recomputes the pages of `chunk`'s days. `fresh`: the table is replaced by them.
async fn update_pages(
    wh: &Warehouse,
    keys: &[KeyColumn],
    property: &str,
    chunk: &[NaiveDate],
    fresh: bool,
) -> Result<(), Ga4Error> {
    let Some(sql) = pages_sql(keys, property, chunk) else {
        return Ok(());
    };
    let (schema, rows) = collect_with_schema(wh, &sql).await?;
    let days: BTreeSet<NaiveDate> = chunk.iter().copied().collect();
    let days = (!fresh).then_some(&days);
    replace(wh, PAGES, PAGE_DAY, days, schema, rows).await
}

/// Writes `rows` to `ga4.NAME`, partitioned by `day`, in one commit that replaces the
/// partitions `days`, or with `None` the whole table (its first write, or a change of layout).
async fn replace(
    wh: &Warehouse,
    name: &str,
    day: &str,
    days: Option<&BTreeSet<NaiveDate>>,
    schema: SchemaRef,
    rows: Vec<RecordBatch>,
) -> Result<(), Ga4Error> {
    use datafusion::logical_expr::{col, lit};
    use datafusion::scalar::ScalarValue;
    let name = TableName::new(DATASET, name)?;
    // The query's batches and the stored rows kept can differ in which columns may be NULL;
    // one write takes one schema.
    let schema: SchemaRef = std::sync::Arc::new(arrow::datatypes::Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let rows = if rows.is_empty() {
        vec![RecordBatch::new_empty(schema)]
    } else {
        rows.iter()
            .map(|b| conform_batch(b, &schema))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| arrow_context(&format!("writing {name}"), source))?
    };
    let write = wh
        .store()
        .open_or_new(&name)
        .await?
        .write(rows)
        .with_partition_columns([day])
        .with_writer_properties(wh.project().config().storage.writer_properties())
        .with_save_mode(SaveMode::Overwrite);
    let write = match days {
        Some(days) => write.with_replace_where(
            col(day).in_list(
                days.iter()
                    .map(|d| lit(ScalarValue::Date32(Some(date_to_days(*d)))))
                    .collect(),
                false,
            ),
        ),
        None => write.with_schema_mode(SchemaMode::Overwrite),
    };
    write.await.map_err(|source| Ga4Error::Delta {
        table: name.to_string(),
        source: Box::new(source),
    })?;
    Ok(())
}

async fn collect(wh: &Warehouse, sql: &str) -> Result<Vec<RecordBatch>, Ga4Error> {
    Ok(collect_with_schema(wh, sql).await?.1)
}

async fn collect_with_schema(
    wh: &Warehouse,
    sql: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), Ga4Error> {
    let df = wh.session().sql(sql).await?;
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df.execute_stream().await?.try_collect().await?;
    Ok((schema, batches))
}

/// A text column of a query's result, whatever string type the engine chose.
fn text_column(batch: &RecordBatch, index: usize) -> Result<arrow::array::StringArray, Ga4Error> {
    let column: ArrayRef = cast(batch.column(index), &DataType::Utf8)
        .map_err(|source| arrow_context("reading session keys", source))?;
    Ok(column.as_string::<i32>().clone())
}

fn date_column(batch: &RecordBatch, index: usize) -> Result<arrow::array::Date32Array, Ga4Error> {
    let column: ArrayRef = cast(batch.column(index), &DataType::Date32)
        .map_err(|source| arrow_context("reading session days", source))?;
    Ok(column.as_primitive::<Date32Type>().clone())
}

fn arrow_context(context: &str, source: arrow::error::ArrowError) -> Ga4Error {
    Ga4Error::Arrow {
        context: context.to_string(),
        source,
    }
}

fn arrow_error(context: &str, message: &str) -> Ga4Error {
    arrow_context(
        context,
        arrow::error::ArrowError::InvalidArgumentError(message.to_string()),
    )
}

async fn count(wh: &Warehouse, sql: &str) -> Result<u64, Ga4Error> {
    let batches = collect(wh, sql).await?;
    Ok(batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>().cloned())
        .filter(|a| !a.is_empty() && a.is_valid(0))
        .map_or(0, |a| a.value(0) as u64))
}
