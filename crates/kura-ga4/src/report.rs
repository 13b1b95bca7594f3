//! `kura ga4 schema`: the keys the export has brought so far.

use chrono::NaiveDate;
use kura_engine::Warehouse;

use crate::error::Ga4Error;
use crate::keys::{KeyCounts, KeyScope, ParamType};
use crate::state;

/// One key: where it comes from, its column and type, when it was seen, how often.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyReportRow {
    pub scope: &'static str,
    pub key: String,
    pub column: String,
    pub column_type: &'static str,
    pub first_seen: NaiveDate,
    pub last_seen: NaiveDate,
    /// Entries with this key (events, or items for item parameters).
    pub count: u64,
    pub string_values: u64,
    pub int_values: u64,
    pub double_values: u64,
    /// The type before the last widening, when the column's type changed.
    pub type_changed_from: Option<&'static str>,
    pub type_changed_on: Option<NaiveDate>,
}

/// Every key, in scope then key order.
///
/// # Errors
/// Query errors reading `_kura`.
pub async fn key_report(wh: &Warehouse) -> Result<Vec<KeyReportRow>, Ga4Error> {
    let columns = state::read_columns(wh).await?;
    let days = state::read_key_days(wh).await?;
    let mut rows = Vec::new();
    for c in &columns {
        let mut counts = KeyCounts::default();
        let mut first = NaiveDate::MAX;
        let mut last = NaiveDate::MIN;
        for ((scope, key, day), n) in &days {
            if *scope == c.column.scope && *key == c.column.key && n.entries() > 0 {
                counts.add(n);
                first = first.min(*day);
                last = last.max(*day);
            }
        }
        if counts.entries() == 0 {
            continue;
        }
        rows.push(KeyReportRow {
            scope: c.column.scope.as_str(),
            key: c.column.key.clone(),
            column: c.column.column.clone(),
            column_type: c.column.param_type.as_str(),
            first_seen: first,
            last_seen: last,
            count: counts.entries(),
            string_values: counts.string,
            int_values: counts.int,
            double_values: counts.double,
            type_changed_from: c.widened_from.map(ParamType::as_str),
            type_changed_on: c.widened_on,
        });
    }
    let order = |s: &str| KeyScope::parse(s).map_or(3, |s| s as u8);
    rows.sort_by(|a, b| (order(a.scope), &a.key).cmp(&(order(b.scope), &b.key)));
    Ok(rows)
}
