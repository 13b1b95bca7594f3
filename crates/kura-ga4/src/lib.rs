//! Google Analytics 4's BigQuery export in kura: load it as BigQuery writes it, and flatten
//! every parameter into columns with no configuration.
//!
//! - [`load()`] reads export files (NDJSON, plain or gzipped, and Parquet) into
//!   `raw.ga4_events`, a day at a time, replacing intraday data when the daily file arrives;
//! - flattening ([`flatten`]) gives `ga4.events` (one column per parameter key, typed by
//!   [`keys`]), the long tables `ga4.event_params` and `ga4.user_properties`, and `ga4.items`;
//! - [`derived`] computes `ga4.sessions` and `ga4.pages`;
//! - [`table_function`] offers the flattening in SQL: `SELECT * FROM ga4_flatten('raw.ga4_events')`;
//! - [`key_report`] lists the keys seen, their types and when they changed (`kura ga4 schema`).

mod day_write;
pub mod derived;
mod error;
pub mod export_file;
mod flat_writes;
pub mod flatten;
pub mod keys;
mod line_decoder;
pub mod load;
mod reader;
pub mod report;
pub mod schema;
mod state;
pub mod table_function;

pub use error::Ga4Error;
pub use load::{load, rebuild, Ga4FileStatus, Ga4LoadOutcome, Ga4LoadRequest};
pub use report::{key_report, KeyReportRow};

/// Makes `ga4_flatten('dataset.table')` available to the warehouse's queries.
pub fn register(wh: &kura_engine::Warehouse) {
    wh.session().register_udtf(
        "ga4_flatten",
        std::sync::Arc::new(table_function::Ga4Flatten::new(wh.store().clone())),
    );
}
