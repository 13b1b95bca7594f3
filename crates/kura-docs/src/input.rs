//! What the site documents: the project's models and sources as plain data.
//!
//! These types are the boundary with `kura-models`: it fills them from the project, and the site
//! never looks at the project itself. They serialise to JSON (the site writes them to
//! `site.json`), so other tools can read the same description of the project.

use serde::{Deserialize, Serialize};

/// The whole project, as the documentation site shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsSite {
    /// The project's name, shown in every page's title.
    pub project: String,
    /// When the documentation was generated, shown as given (the caller picks the format, so
    /// tests can pin it).
    pub generated_at: String,
    /// Every model of the project, in any order (pages sort them).
    pub models: Vec<DocModel>,
    /// Every table the models read that no model builds (`raw.orders`).
    pub sources: Vec<DocSource>,
}

/// One SQL model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocModel {
    /// `dataset.name`, unique across models and sources (`stg.orders`).
    pub id: String,
    /// The model's file, relative to the project (`models/stg/orders.sql`).
    pub path: String,
    /// The model's SQL as written, header included.
    pub sql: String,
    /// How it is built: `view`, `table` or `incremental`.
    pub materialized: String,
    /// What the model holds, from its header; shown as plain text.
    pub description: Option<String>,
    /// Who answers questions about it.
    pub owner: Option<String>,
    /// Tags from the header (`finance`).
    pub tags: Vec<String>,
    /// Output columns with types, if known.
    pub columns: Vec<DocColumn>,
    /// The checks run on the model, as written (`not_null(order_id)`).
    pub checks: Vec<String>,
    /// Ids of the models or sources it reads; each must be in [`DocsSite::models`] or
    /// [`DocsSite::sources`].
    pub depends_on: Vec<String>,
}

/// One column of a model or source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocColumn {
    /// The column's name.
    pub name: String,
    /// Its GoogleSQL type (`INT64`, `STRUCT<a STRING>`).
    pub data_type: String,
    /// What it holds, if documented.
    pub description: Option<String>,
}

/// One source table: read by models, built by none (loaded with `kura load`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSource {
    /// `dataset.table` (`raw.orders`).
    pub id: String,
    /// Its columns, if known.
    pub columns: Vec<DocColumn>,
}
