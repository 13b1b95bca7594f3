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
    /// Whether the key's values came in more than one type (the column holds the most
    /// general): across days, or within one.
    pub type_changed: bool,
    /// The type before the last change across days, and the first day of the new type; when
    /// every day had the same mix, both are empty.
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
        // The type the days so far need, and its last change: from the data, so that loading
        // days one by one or all at once reports the same.
        let mut running: Option<ParamType> = None;
        let mut change: Option<(ParamType, NaiveDate)> = None;
        for ((scope, key, day), n) in &days {
            if *scope == c.column.scope && *key == c.column.key && n.entries() > 0 {
                counts.add(n);
                first = first.min(*day);
                last = last.max(*day);
                if let Some(seen) = n.observed_type() {
                    let wider = running.map_or(seen, |r| r.widen(seen));
                    if let Some(before) = running.filter(|r| *r != wider) {
                        change = Some((before, *day));
                    }
                    running = Some(wider);
                }
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
            type_changed: counts.value_types() > 1,
            type_changed_from: change.map(|(from, _)| from.as_str()),
            type_changed_on: change.map(|(_, on)| on),
        });
    }
    let order = |s: &str| KeyScope::parse(s).map_or(3, |s| s as u8);
    rows.sort_by(|a, b| (order(a.scope), &a.key).cmp(&(order(b.scope), &b.key)));
    Ok(rows)
}
