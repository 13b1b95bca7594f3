//! `kura cost`: bytes scanned and their price, grouped by who, what and when, from
//! `_kura.query_log`.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, StructArray};
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::EngineError;
use crate::warehouse::Warehouse;

const TIB: f64 = 1024.0 * 1024.0 * 1024.0 * 1024.0;

/// How to group the cost report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostGrouping {
    Principal,
    Label,
    Table,
    Day,
}

/// One group of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CostRow {
    pub key: String,
    pub queries: u64,
    pub bytes_scanned: u64,
    pub cost_usd: f64,
}

/// Statements of the same shape (literals removed), summed.
#[derive(Debug, Clone, Serialize)]
pub struct TopQuery {
    pub normalized: String,
    pub runs: u64,
    pub bytes_scanned: u64,
    pub cost_usd: f64,
    pub principals: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    pub since: DateTime<Utc>,
    pub usd_per_tib: f64,
    pub grouping: String,
    pub queries: u64,
    pub bytes_scanned: u64,
    pub cost_usd: f64,
    pub rows: Vec<CostRow>,
    pub top_queries: Vec<TopQuery>,
}

/// Builds the cost report over statements started since `since`.
///
/// # Errors
/// [`EngineError::Query`] when the query log cannot be read.
pub async fn cost_report(
    wh: &Warehouse,
    since: DateTime<Utc>,
    grouping: CostGrouping,
    top: usize,
) -> Result<CostReport, EngineError> {
    let price = wh.project().config().cost.usd_per_tib;
    let cost = |bytes: u64| bytes as f64 / TIB * price;
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut shapes: BTreeMap<String, (u64, u64, std::collections::BTreeSet<String>)> =
        BTreeMap::new();
    let mut total_queries = 0;
    let mut total_bytes = 0;
    let log = crate::store::TableName::new(crate::access::SYSTEM_DATASET, "query_log")?;
    if wh.store().exists(&log) {
        let sql = format!(
            "SELECT principal, labels, statement, start_time, bytes_scanned, tables \
             FROM _kura.query_log WHERE statement_type = 'QUERY' \
             AND start_time >= to_timestamp_micros({})",
            since.timestamp_micros()
        );
        for batch in wh.query_internal(&sql).await? {
            let principal = utf8(batch.column(0))?;
            let statement = utf8(batch.column(2))?;
            let start = arrow::compute::cast(
                batch.column(3),
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )
            .map_err(arrow_err)?;
            let start = start.as_primitive::<TimestampMicrosecondType>();
            let bytes = batch.column(4).as_primitive::<Int64Type>();
            let labels = batch.column(1).as_list::<i32>();
            let tables = batch.column(5).as_list::<i32>();
            for r in 0..batch.num_rows() {
                let b = bytes.value(r).max(0) as u64;
                total_queries += 1;
                total_bytes += b;
                let keys: Vec<(String, u64)> = match grouping {
                    CostGrouping::Principal => vec![(principal.value(r).to_string(), b)],
                    CostGrouping::Day => {
                        let day = DateTime::from_timestamp_micros(start.value(r))
                            .map(|d| d.format("%Y-%m-%d").to_string())
                            .unwrap_or_default();
                        vec![(day, b)]
                    }
                    CostGrouping::Label => {
                        let pairs = struct_pairs(labels, r)?;
                        if pairs.is_empty() {
                            vec![("(no label)".to_string(), b)]
                        } else {
                            pairs
                                .into_iter()
                                .map(|(k, v)| (format!("{k}={v}"), b))
                                .collect()
                        }
                    }
                    CostGrouping::Table => {
                        let pairs = struct_pairs(tables, r)?;
                        pairs
                            .into_iter()
                            .map(|(t, n)| (t, n.parse().unwrap_or(0)))
                            .collect()
                    }
                };
                for (key, b) in keys {
                    let g = groups.entry(key).or_default();
                    g.0 += 1;
                    g.1 += b;
                }
                let shape = kura_sql::normalize_query(statement.value(r));
                let s = shapes.entry(shape).or_default();
                s.0 += 1;
                s.1 += b;
                s.2.insert(principal.value(r).to_string());
            }
        }
    }
    let mut rows: Vec<CostRow> = groups
        .into_iter()
        .map(|(key, (queries, bytes))| CostRow {
            key,
            queries,
            bytes_scanned: bytes,
            cost_usd: cost(bytes),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.bytes_scanned
            .cmp(&a.bytes_scanned)
            .then(a.key.cmp(&b.key))
    });
    let mut top_queries: Vec<TopQuery> = shapes
        .into_iter()
        .map(|(normalized, (runs, bytes, principals))| TopQuery {
            normalized,
            runs,
            bytes_scanned: bytes,
            cost_usd: cost(bytes),
            principals: principals.into_iter().collect(),
        })
        .collect();
    top_queries.sort_by(|a, b| {
        b.bytes_scanned
            .cmp(&a.bytes_scanned)
            .then(b.runs.cmp(&a.runs))
    });
    top_queries.truncate(top);
    Ok(CostReport {
        since,
        usd_per_tib: price,
        grouping: format!("{grouping:?}").to_lowercase(),
        queries: total_queries,
        bytes_scanned: total_bytes,
        cost_usd: cost(total_bytes),
        rows,
        top_queries,
    })
}

fn arrow_err(source: arrow::error::ArrowError) -> EngineError {
    EngineError::Arrow {
        context: "reading the query log".into(),
        source,
    }
}

/// A string column as `StringArray`, whatever string layout the scan produced.
pub(crate) fn utf8(col: &dyn Array) -> Result<arrow::array::StringArray, EngineError> {
    let cast = arrow::compute::cast(col, &DataType::Utf8).map_err(arrow_err)?;
    Ok(cast.as_string::<i32>().clone())
}

/// The (first, second) fields of each struct in row `r` of a list-of-struct column, as text.
fn struct_pairs(
    list: &arrow::array::ListArray,
    r: usize,
) -> Result<Vec<(String, String)>, EngineError> {
    if list.is_null(r) {
        return Ok(Vec::new());
    }
    let items = list.value(r);
    let Some(items) = items.as_any().downcast_ref::<StructArray>() else {
        return Ok(Vec::new());
    };
    let a = utf8(items.column(0))?;
    let b = utf8(items.column(1))?;
    Ok((0..items.len())
        .map(|i| (a.value(i).to_string(), b.value(i).to_string()))
        .collect())
}
