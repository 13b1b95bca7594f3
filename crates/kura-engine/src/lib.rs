//! kura's warehouse: the embedded engine (DataFusion over Delta tables), file loads, the query
//! log, cost reports and access control.
//!
//! A [`Warehouse`] opens a [`Project`]'s `.kura/warehouse`, where every dataset is a directory
//! and every table a Delta table. Queries ([`Warehouse::query`]) are parsed as GoogleSQL by
//! `kura-sql`, checked against the project's [`AccessPolicy`], run by DataFusion and recorded
//! in `_kura.query_log` with the bytes they read. Loads ([`Warehouse::load`]) commit whole or
//! not at all, skip files already loaded, and keep rejected rows with their reasons.

pub mod access;
mod catalog;
pub mod cost;
mod error;
pub mod load;
mod mapped_files;
mod materialize;
pub mod project;
pub mod query_log;
mod store;
pub mod system_rows;
mod table_columns;
pub mod vacuum;
mod warehouse;

pub use access::{default_principal, Access, AccessDenied, AccessPolicy};
pub use error::{EngineError, RejectedRowSummary};
pub use materialize::{SchemaChangePolicy, WriteMode, WriteOutcome, WriteRequest};
pub use project::{Project, ProjectConfig};
pub use store::{TableName, TableStore, CHECKPOINT_EVERY, COMPACT_EVERY};
pub use warehouse::{
    ColumnStats, Dialect, DryRun, FoldedQuery, PendingLog, QueryContext, QueryResult, TableInfo,
    Warehouse,
};
