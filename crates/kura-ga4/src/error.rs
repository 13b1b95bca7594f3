use std::path::PathBuf;

use kura_engine::EngineError;

/// What can go wrong loading or flattening a GA4 export. Each message says what, where, and
/// what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Ga4Error {
    #[error("`{}` is not a GA4 export file name: {reason}\n  hint: GA4 exports are named events_YYYYMMDD, events_intraday_YYYYMMDD or events_fresh_YYYYMMDD (optionally with a shard suffix, .json, .gz or .parquet); to load other files use `kura load`", path.display())]
    FileName { path: PathBuf, reason: String },

    #[error("no GA4 export files (events_YYYYMMDD...) found in {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoFiles { paths: Vec<PathBuf> },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}:{line}: {reason}\n  hint: {count} line(s) in this load could not be read; pass `--max-bad-rows N` to keep up to N of them in raw.ga4_events__rejected and load the rest", file.display())]
    BadLine {
        file: PathBuf,
        line: u64,
        reason: String,
        count: u64,
    },

    #[error("table `{table}` does not have the shape of a GA4 export: {reason}")]
    NotAnExport { table: String, reason: String },

    #[error(transparent)]
    Engine(Box<EngineError>),

    #[error("writing `{table}`: {source}")]
    Delta {
        table: String,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },

    #[error("{context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("query failed: {0}")]
    Query(Box<datafusion::error::DataFusionError>),
}

impl From<EngineError> for Ga4Error {
    fn from(e: EngineError) -> Self {
        Ga4Error::Engine(Box::new(e))
    }
}

impl From<datafusion::error::DataFusionError> for Ga4Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Ga4Error::Query(Box::new(e))
    }
}
