//! GoogleSQL functions DataFusion lacks, as DataFusion UDFs.
//!
//! kura runs models written for BigQuery on the embedded DataFusion engine. `kura-sql`
//! rewrites syntax DataFusion spells differently (argument orders, `IF`, `COUNTIF`, type
//! names); this crate supplies the functions that have no DataFusion counterpart, each a
//! [`ScalarUDFImpl`](datafusion::logical_expr::ScalarUDFImpl) (or, for aggregates, an
//! [`AggregateUDFImpl`](datafusion::logical_expr::AggregateUDFImpl)) in its own module with its
//! GoogleSQL semantics and documentation, and [`register_all`] puts them on a session.
//!
//! Conventions: GoogleSQL `TIMESTAMP` is `Timestamp(µs, "UTC")`, `DATETIME` is
//! `Timestamp(µs)` without zone, time zones are IANA names or offsets.

mod cell;
mod common;
mod format_elements;
mod json_ordered;
mod json_path;
mod printf;
mod regex_cache;
#[cfg(test)]
mod test_util;

pub mod approx_quantiles;
pub mod array_at;
pub mod date;
pub mod datetime;
pub mod farm_fingerprint;
pub mod format;
pub mod format_date;
pub mod format_datetime;
pub mod format_timestamp;
pub mod generate_uuid;
pub mod json_query;
pub mod json_value;
pub mod last_day;
pub mod parse_date;
pub mod parse_timestamp;
pub mod regexp_contains;
pub mod regexp_extract;
pub mod safe_divide;
pub mod sha1;
pub mod split;
pub mod timestamp;
pub mod timestamp_from_unix;
pub mod to_json_string;
pub mod unix_time;

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

/// Every kura GoogleSQL scalar function, in order of everyday use.
pub fn all_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(safe_divide::SafeDivideFunc::default())),
        Arc::new(ScalarUDF::from(format_date::FormatDateFunc::default())),
        Arc::new(ScalarUDF::from(parse_date::ParseDateFunc::default())),
        Arc::new(ScalarUDF::from(
            format_timestamp::FormatTimestampFunc::default(),
        )),
        Arc::new(ScalarUDF::from(
            parse_timestamp::ParseTimestampFunc::default(),
        )),
        Arc::new(ScalarUDF::from(
            format_datetime::FormatDatetimeFunc::default(),
        )),
        Arc::new(ScalarUDF::from(
            timestamp_from_unix::TimestampFromUnixFunc::micros(),
        )),
        Arc::new(ScalarUDF::from(
            timestamp_from_unix::TimestampFromUnixFunc::millis(),
        )),
        Arc::new(ScalarUDF::from(
            timestamp_from_unix::TimestampFromUnixFunc::seconds(),
        )),
        Arc::new(ScalarUDF::from(unix_time::UnixTimeFunc::micros())),
        Arc::new(ScalarUDF::from(unix_time::UnixTimeFunc::millis())),
        Arc::new(ScalarUDF::from(unix_time::UnixTimeFunc::seconds())),
        Arc::new(ScalarUDF::from(date::DateFunc::default())),
        Arc::new(ScalarUDF::from(datetime::DatetimeFunc::default())),
        Arc::new(ScalarUDF::from(timestamp::TimestampFunc::default())),
        Arc::new(ScalarUDF::from(last_day::LastDayFunc::default())),
        Arc::new(ScalarUDF::from(
            regexp_contains::RegexpContainsFunc::default(),
        )),
        Arc::new(ScalarUDF::from(regexp_extract::RegexpExtractFunc::default())),
        Arc::new(ScalarUDF::from(
            regexp_extract::RegexpExtractAllFunc::default(),
        )),
        Arc::new(ScalarUDF::from(
            farm_fingerprint::FarmFingerprintFunc::default(),
        )),
        Arc::new(ScalarUDF::from(array_at::ArrayAtCheckedFunc::default())),
        Arc::new(ScalarUDF::from(sha1::Sha1Func::default())),
        Arc::new(ScalarUDF::from(split::SplitFunc::default())),
        Arc::new(ScalarUDF::from(json_value::JsonValueFunc::json_value())),
        Arc::new(ScalarUDF::from(
            json_value::JsonValueFunc::json_extract_scalar(),
        )),
        Arc::new(ScalarUDF::from(json_query::JsonQueryFunc::json_query())),
        Arc::new(ScalarUDF::from(json_query::JsonQueryFunc::json_extract())),
        Arc::new(ScalarUDF::from(generate_uuid::GenerateUuidFunc::default())),
        Arc::new(ScalarUDF::from(to_json_string::ToJsonStringFunc::default())),
        Arc::new(ScalarUDF::from(format::FormatFunc::default())),
    ]
}

/// Every kura GoogleSQL aggregate function.
pub fn all_aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    vec![Arc::new(AggregateUDF::from(
        approx_quantiles::ApproxQuantilesFunc::default(),
    ))]
}

/// Registers every kura GoogleSQL function, scalar and aggregate, on `ctx`, replacing
/// same-named ones.
///
/// The engine calls this once per session; `kura-sql`'s rewrite relies on these names
/// (`unix_micros` in `TIMESTAMP_DIFF`, for instance).
pub fn register_all(ctx: &SessionContext) {
    for f in all_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    for f in all_aggregate_functions() {
        ctx.register_udaf(f.as_ref().clone());
    }
}
