//! `ga4.sessions` and `ga4.pages`, recomputed from `ga4.events` after every load.
//!
//! A session is `user_pseudo_id` + `ga_session_id`. Events without `ga_session_id` (the
//! Measurement Protocol, some server-side events) belong to no session: they are counted and
//! reported, never merged into one made-up session. A session is engaged when any event
//! says `session_engaged` is 1 (sent as text or as a number) or its events' engagement time
//! adds up to at least 10 seconds. Source, medium and campaign are the first event's
//! `collected_traffic_source` values, else its `source`/`medium`/`campaign` parameters.

use arrow::array::{Array, Int64Array};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use futures::TryStreamExt;
use kura_engine::{TableName, Warehouse};

use crate::error::Ga4Error;
use crate::keys::{KeyColumn, KeyScope};
use crate::load::DATASET;

/// What the rebuild found.
#[derive(Debug, Clone, Copy, Default)]
pub struct DerivedSummary {
    pub sessions: u64,
    pub events_without_session: u64,
}

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

pub fn sessions_sql(keys: &[KeyColumn]) -> Option<String> {
    let session_id = param(keys, "ga_session_id")?;
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
           SELECT user_pseudo_id, CAST({session_id} AS VARCHAR) AS ga_session_id, event_date,
                  event_timestamp, event_name, {page} AS page_location,
                  {engaged} AS engaged_flag, {engagement} AS engagement_msec,
                  {source} AS source, {medium} AS medium, {campaign} AS campaign,
                  ecommerce_purchase_revenue, device_category, geo_country
           FROM ga4.events
           WHERE {session_id} IS NOT NULL AND user_pseudo_id IS NOT NULL
         )
         SELECT user_pseudo_id || '.' || ga_session_id AS session_key,
                user_pseudo_id, ga_session_id,
                min(event_date) AS session_date,
                min(event_timestamp) AS session_start,
                max(event_timestamp) AS session_end,
                count(*) AS events,
                sum(CASE WHEN event_name = 'page_view' THEN 1 ELSE 0 END) AS page_views,
                (bool_or(engaged_flag) OR COALESCE(sum(engagement_msec), 0) >= 10000) AS engaged,
                CAST(COALESCE(sum(engagement_msec), 0) AS BIGINT) AS engagement_time_msec,
                {landing} AS landing_page,
                {src} AS source, {med} AS medium, {camp} AS campaign,
                sum(CASE WHEN event_name = 'purchase' THEN 1 ELSE 0 END) AS purchases,
                COALESCE(sum(CASE WHEN event_name = 'purchase' THEN ecommerce_purchase_revenue END), 0) AS revenue,
                {device} AS device_category, {geo} AS geo_country
         FROM e
         GROUP BY user_pseudo_id, ga_session_id",
        landing = first("page_location"),
        src = first("source"),
        med = first("medium"),
        camp = first("campaign"),
        device = first("device_category"),
        geo = first("geo_country"),
    ))
}

pub fn pages_sql(keys: &[KeyColumn]) -> Option<String> {
    let page = param(keys, "page_location")?;
    Some(format!(
        "SELECT event_date, CAST({page} AS VARCHAR) AS page_location,
                count(*) AS page_views, count(DISTINCT user_pseudo_id) AS users
         FROM ga4.events
         WHERE event_name = 'page_view'
         GROUP BY 1, 2"
    ))
}

async fn replace_with_query(wh: &Warehouse, table: &str, sql: &str) -> Result<(), Ga4Error> {
    let df = wh.session().sql(sql).await?;
    let plan = df.logical_plan().clone();
    let name = TableName::new(DATASET, table)?;
    let delta = wh.store().open_or_new(&name).await?;
    delta
        .write(Vec::new())
        .with_input_plan(plan)
        .with_writer_properties(wh.project().config().storage.writer_properties())
        .with_save_mode(SaveMode::Overwrite)
        .with_schema_mode(SchemaMode::Overwrite)
        .await
        .map_err(|source| Ga4Error::Delta {
            table: name.to_string(),
            source: Box::new(source),
        })?;
    Ok(())
}

async fn count(wh: &Warehouse, sql: &str) -> Result<u64, Ga4Error> {
    let df = wh.session().sql(sql).await?;
    let batches: Vec<_> = df.execute_stream().await?.try_collect().await?;
    Ok(batches
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>().cloned())
        .filter(|a| !a.is_empty() && a.is_valid(0))
        .map_or(0, |a| a.value(0) as u64))
}

/// Recomputes `ga4.sessions` and `ga4.pages`.
///
/// # Errors
/// Query and Delta errors.
pub async fn rebuild(wh: &Warehouse, keys: &[KeyColumn]) -> Result<DerivedSummary, Ga4Error> {
    let mut summary = DerivedSummary::default();
    if let Some(sql) = sessions_sql(keys) {
        replace_with_query(wh, "sessions", &sql).await?;
        summary.sessions = count(wh, "SELECT count(*) FROM ga4.sessions").await?;
        let session_id = param(keys, "ga_session_id").unwrap_or_default();
        summary.events_without_session = count(
            wh,
            &format!("SELECT count(*) FROM ga4.events WHERE {session_id} IS NULL"),
        )
        .await?;
    } else {
        summary.events_without_session = count(wh, "SELECT count(*) FROM ga4.events").await?;
    }
    if let Some(sql) = pages_sql(keys) {
        replace_with_query(wh, "pages", &sql).await?;
    }
    Ok(summary)
}
