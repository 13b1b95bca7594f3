//! Google Analytics 4's BigQuery export in kura: load it as BigQuery writes it, and flatten
//! every parameter into columns with no configuration.
//!
//! - [`load()`] reads export files (NDJSON, plain or gzipped, and Parquet) into
//!   `raw.ga4_events`, a day at a time, replacing intraday data when the daily file arrives;
//! - flattening ([`flatten`]) gives `ga4.events` (one column per parameter key, typed by
//!   [`keys`]), the long tables `ga4.event_params` and `ga4.user_properties`, and `ga4.items`;
//! - [`derived`] computes `ga4.sessions` and `ga4.pages`;
//! - [`key_report`] lists the keys seen, their types and when they changed (`kura ga4 schema`).

pub mod derived;
mod error;
pub mod export_file;
pub mod flatten;
pub mod keys;
pub mod load;
mod reader;
pub mod report;
pub mod schema;
mod state;

pub use error::Ga4Error;
pub use load::{load, rebuild, Ga4FileStatus, Ga4LoadOutcome, Ga4LoadRequest};
pub use report::{key_report, KeyReportRow};
