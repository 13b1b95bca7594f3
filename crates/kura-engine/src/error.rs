//! The engine's errors: one variant per failure a caller can act on, each with a hint.

use std::path::PathBuf;

use crate::access::{Access, AccessDenied};

/// Everything that can go wrong in the warehouse.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no kura project at {} (no kura.toml there or above)", dir.display())]
    ProjectNotFound { dir: PathBuf },

    #[error("invalid {}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    #[error("cannot read or write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid SQL{}: {source}", location_suffix(source))]
    Sql {
        #[source]
        source: kura_sql::SqlError,
    },

    #[error("`kura sql` runs queries, but this statement is {kind}")]
    NotAQuery { kind: String },

    #[error("{}", denied_message(.0))]
    AccessDenied(AccessDenied),

    #[error("view `{view}` cannot be planned: {message}")]
    View { view: String, message: String },

    #[error("`{table}`: {message}")]
    Materialize {
        table: String,
        message: String,
        hint: &'static str,
    },

    #[error("table `{table}` does not exist")]
    TableNotFound { table: String },

    #[error(
        "a retention of {retain} can delete the files of a load or build that is still running"
    )]
    ShortRetention { retain: String },

    #[error("a row of `_kura.{table}` does not match what this kura expects: {message}")]
    SystemRow { table: String, message: String },

    #[error("invalid table name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },

    #[error("{}:{line}: {reason}", file.display())]
    BadRow {
        file: PathBuf,
        line: u64,
        reason: String,
    },

    #[error(
        "{count} rows could not be parsed, more than --max-bad-rows {max}; first at {}:{}: {}",
        first.file.display(),
        first.line,
        first.reason
    )]
    TooManyBadRows {
        count: u64,
        max: u64,
        first: Box<RejectedRowSummary>,
    },

    #[error(
        "column `{column}` of `{table}` is {existing}, but {} has {incoming}",
        file.display()
    )]
    TypeConflict {
        table: String,
        column: String,
        existing: String,
        incoming: String,
        file: PathBuf,
    },

    #[error("invalid schema file {}: {message}", path.display())]
    SchemaFile { path: PathBuf, message: String },

    #[error("cannot tell the format of {}", path.display())]
    UnknownFormat { path: PathBuf },

    #[error("{} has no rows and no header to take columns from", path.display())]
    EmptyInput { path: PathBuf },

    #[error("`{table}` is partitioned by [{existing}], not [{requested}]")]
    PartitionMismatch {
        table: String,
        existing: String,
        requested: String,
    },

    #[error("query failed: {0}")]
    Query(#[source] datafusion::error::DataFusionError),

    #[error("Delta table `{table}`: {source}")]
    Delta {
        table: String,
        #[source]
        source: deltalake::DeltaTableError,
    },

    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("{} is not a readable Parquet file: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
}

/// A rejected row as shown in an error: where it is and why.
#[derive(Debug, Clone)]
pub struct RejectedRowSummary {
    pub file: PathBuf,
    pub line: u64,
    pub reason: String,
}

fn location_suffix(err: &kura_sql::SqlError) -> String {
    err.location()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default()
}

impl EngineError {
    /// What the user can do about it, when there is something specific to say.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            EngineError::ProjectNotFound { .. } => {
                "run `kura init` to create a project, or pass --project DIR".into()
            }
            EngineError::Config { .. } => {
                "fix the file; `kura init` in an empty directory writes a commented example".into()
            }
            EngineError::NotAQuery { .. } => {
                "load files with `kura load`; build tables and views as models in models/".into()
            }
            EngineError::AccessDenied(d) => {
                let who = if d.allowed.is_empty() {
                    "nobody".to_string()
                } else {
                    d.allowed.join(", ")
                };
                let table = match d.access {
                    Access::Read => "read",
                    Access::Write => "write",
                };
                if d.dataset == crate::access::SYSTEM_DATASET && d.access == Access::Write {
                    "`_kura` is written only by kura itself".into()
                } else if let Some(t) = &d.table {
                    format!(
                        "`{t}` is read only by its readers ({who}) and by writers of `{}`; add \
                         `{}` to `grants` in the header of its model and apply, or run as a \
                         granted principal with --as",
                        d.dataset, d.principal
                    )
                } else {
                    format!(
                        "{table} on `{}` is granted to: {who}; add `{}` to one of those in \
                         kura.toml under [access], or run as a granted principal with --as",
                        d.dataset, d.principal
                    )
                }
            }
            EngineError::TableNotFound { .. } => "`kura tables` lists what exists".into(),
            EngineError::ShortRetention { .. } => {
                "keep at least 1h (the default is 7d), or pass --force when nothing else writes \
                 to the warehouse"
                    .into()
            }
            EngineError::SystemRow { .. } => {
                "the table was written by another kura version; upgrade kura, or move the \
                 table aside to start its history afresh"
                    .into()
            }
            EngineError::View { .. } => {
                "fix the view's SQL or the tables it reads; `kura plan` shows what a change \
                 would break"
                    .into()
            }
            EngineError::Materialize { hint, .. } => (*hint).to_string(),
            EngineError::InvalidName { .. } => {
                "use lowercase letters, digits and underscores, as in `raw.orders`".into()
            }
            EngineError::BadRow { .. } => {
                "fix the row, or pass --max-bad-rows N to keep bad rows in TABLE__rejected and \
                 load the rest"
                    .into()
            }
            EngineError::TooManyBadRows { .. } => {
                "raise --max-bad-rows, or fix the file; nothing was loaded".into()
            }
            EngineError::TypeConflict { .. } => {
                "cast the column in the file, or reload the table with --mode replace".into()
            }
            EngineError::SchemaFile { .. } => {
                "the schema is BigQuery's JSON format: [{\"name\": \"id\", \"type\": \"INT64\"}, ...]"
                    .into()
            }
            EngineError::UnknownFormat { .. } => {
                "name the file .csv, .tsv, .json, .jsonl, .ndjson or .parquet (optionally .gz), \
                 or pass --format"
                    .into()
            }
            EngineError::PartitionMismatch { .. } => {
                "drop --partition-by, or reload with --mode replace to repartition".into()
            }
            EngineError::Sql { source } => match source.hint() {
                Some(hint) => hint.to_string(),
                None => "kura reads BigQuery's GoogleSQL; check the statement near that position \
                         (or pass --dialect datafusion for DataFusion's own SQL)"
                    .into(),
            },
            _ => return None,
        })
    }
}

impl From<AccessDenied> for EngineError {
    fn from(d: AccessDenied) -> Self {
        EngineError::AccessDenied(d)
    }
}

impl From<kura_sql::SqlError> for EngineError {
    fn from(source: kura_sql::SqlError) -> Self {
        EngineError::Sql { source }
    }
}

fn denied_message(d: &AccessDenied) -> String {
    match &d.table {
        Some(t) => format!(
            "principal `{}` may not {} table `{t}`",
            d.principal, d.access
        ),
        None => format!(
            "principal `{}` may not {} dataset `{}`",
            d.principal, d.access, d.dataset
        ),
    }
}
