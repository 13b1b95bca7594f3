//! The one error type of `kura-docs`.
//!
//! Each variant names what failed and where, and ends with a `hint:` line, so `kura docs` can
//! print it as it is.

use std::path::PathBuf;

use thiserror::Error;

/// Why the site could not be written.
#[derive(Debug, Error)]
pub enum DocsError {
    /// A model or source has an empty id, so it would have no page and no place in the graph.
    #[error(
        "{kind} #{position} has an empty id\nhint: give every model and source a `dataset.name` id"
    )]
    EmptyId { kind: &'static str, position: usize },
    /// Two entries share an id, so a link or graph node would be ambiguous.
    #[error("`{id}` is defined twice (as a {first} and as a {second})\nhint: ids must be unique across models and sources")]
    DuplicateId {
        id: String,
        first: &'static str,
        second: &'static str,
    },
    /// A model depends on an id that is neither a model nor a source, so its edge has no end.
    #[error("model `{model}` depends on `{dependency}`, which is neither a model nor a source\nhint: add `{dependency}` to the sources (or fix the reference in {path})")]
    UnknownDependency {
        model: String,
        dependency: String,
        path: String,
    },
    /// The output directory or a page in it could not be created or written.
    #[error("could not write {path}: {source}\nhint: check that the output directory is writable and not a file")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
