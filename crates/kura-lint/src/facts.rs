//! What the caller knows about a model, handed to the rules.

use std::path::Path;

use sqlparser::ast::Statement;

/// How a model is materialised. Mirrors kura-models' header setting; this crate cannot
/// depend on kura-models (it calls us), so the caller maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Materialization {
    #[default]
    View,
    Table,
    Incremental,
}

impl Materialization {
    /// The word used in model headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Materialization::View => "view",
            Materialization::Table => "table",
            Materialization::Incremental => "incremental",
        }
    }
}

/// How often a materialised model was rebuilt and read, from the query log (K501).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Runs that rebuilt or merged into the table in the window.
    pub rebuilds: u64,
    /// Queries that read it in the window, other than kura's own rebuilds.
    pub reads: u64,
    /// The length of the window in days.
    pub window_days: u32,
}

/// Everything the rules may look at for one model.
///
/// The rules read only these facts, never files or the warehouse, so `kura lint` decides
/// what to gather (the engine's schema, the query log) and tests can state it directly.
/// Build one with [`ModelFacts::new`] and set the optional facts known.
#[derive(Debug, Clone)]
pub struct ModelFacts<'a> {
    /// `dataset.name`, as reported.
    pub name: &'a str,
    /// The dataset the model builds into.
    pub dataset: &'a str,
    /// The model's file, as it should be printed.
    pub path: &'a Path,
    /// The parsed SQL body.
    pub statement: &'a Statement,
    pub materialized: Materialization,
    /// From the header; blank counts as missing.
    pub description: Option<&'a str>,
    /// From the header; blank counts as missing.
    pub owner: Option<&'a str>,
    /// Codes the header's `lint_ignore` switches off for this model.
    pub ignore: &'a [String],
    /// The output columns as the engine sees them: name and GoogleSQL type name
    /// (`"TIMESTAMP"`, `"DATETIME"`). Lets K301 see through `SELECT *` and K201/K202 use
    /// declared types where the expression says too little.
    pub output_columns: Option<&'a [(String, String)]>,
    /// From the query log, for table and incremental models (K501).
    pub usage: Option<Usage>,
    /// Lines in the file before the text `statement` was parsed from, so statement
    /// positions become file positions. 0 when the whole file (header comment included)
    /// was parsed. Columns on the body's first line are exact only if the body starts a line.
    pub header_lines: usize,
}

impl<'a> ModelFacts<'a> {
    /// Facts with only what every model has; the optional facts start empty.
    pub fn new(name: &'a str, dataset: &'a str, path: &'a Path, statement: &'a Statement) -> Self {
        ModelFacts {
            name,
            dataset,
            path,
            statement,
            materialized: Materialization::View,
            description: None,
            owner: None,
            ignore: &[],
            output_columns: None,
            usage: None,
            header_lines: 0,
        }
    }

    /// The declared GoogleSQL type of an output column, upper-cased, when the caller gave types.
    pub(crate) fn declared_type(&self, column: &str) -> Option<String> {
        self.output_columns?
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(column))
            .map(|(_, ty)| ty.trim().to_ascii_uppercase())
    }
}
