//! GoogleSQL for kura: parse what users write, find the tables it reads, and normalise it.
//!
//! Users write BigQuery's GoogleSQL so the same model runs on the embedded engine and on
//! BigQuery. This crate is the one place that understands that text: it parses with
//! sqlparser's BigQuery dialect ([`parse`]), finds the tables a statement reads
//! ([`referenced_tables`], the basis of access control and of the model graph), and reduces a
//! statement to a fingerprint for grouping queries in the cost report ([`normalize_query`]),
//! and rewrites GoogleSQL forms DataFusion does not accept into ones it plans with the same
//! meaning ([`rewrite_for_datafusion`]).
//!
//! The engine plans the parsed AST directly, so there is exactly one parser between the
//! user's text and the plan.

mod error;
mod normalize;
mod rewrite;
mod tables;
mod tokens;

pub use error::{SqlError, SqlLocation};
pub use normalize::normalize_query;
pub use rewrite::{rewrite_for_datafusion, rewrite_for_datafusion_with_tables, TableLister};
pub use sqlparser::ast::Statement;
pub use tables::{referenced_tables, TableRef};

use sqlparser::dialect::{BigQueryDialect, GenericDialect};
use sqlparser::parser::Parser;

/// The SQL a statement is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    /// BigQuery's GoogleSQL, rewritten for the embedded engine by [`rewrite_for_datafusion`].
    #[default]
    GoogleSql,
    /// DataFusion's own SQL, planned as written: an escape hatch for engine features GoogleSQL
    /// does not spell, and for comparing kura's rewrite with the engine's own reading.
    DataFusion,
}

/// Parses GoogleSQL text into statements.
///
/// # Errors
/// [`SqlError::Parse`] with the line and column sqlparser reports, and
/// [`SqlError::Empty`] when the text holds no statement.
pub fn parse(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let parser = Parser::new(&BigQueryDialect {});
    let mut parser = match tokens::tokenize(sql) {
        Some(tokens) => parser.with_tokens_with_locations(tokens),
        None => parser.try_with_sql(sql).map_err(SqlError::from_parser)?,
    };
    let statements = parser.parse_statements().map_err(SqlError::from_parser)?;
    if statements.is_empty() {
        return Err(SqlError::Empty);
    }
    Ok(statements)
}

/// Parses text that must hold exactly one statement.
///
/// # Errors
/// As [`parse`], plus [`SqlError::MultipleStatements`].
pub fn parse_one(sql: &str) -> Result<Statement, SqlError> {
    parse_one_in(sql, Dialect::GoogleSql)
}

/// Parses text in `dialect` that must hold exactly one statement.
///
/// # Errors
/// As [`parse_one`].
pub fn parse_one_in(sql: &str, dialect: Dialect) -> Result<Statement, SqlError> {
    let mut statements = match dialect {
        Dialect::GoogleSql => parse(sql)?,
        Dialect::DataFusion => {
            let statements =
                Parser::parse_sql(&GenericDialect {}, sql).map_err(SqlError::from_parser)?;
            if statements.is_empty() {
                return Err(SqlError::Empty);
            }
            statements
        }
    };
    if statements.len() > 1 {
        return Err(SqlError::MultipleStatements {
            count: statements.len(),
        });
    }
    Ok(statements.remove(0))
}

/// Whether a statement only reads (a query or EXPLAIN of one), as opposed to DDL or DML.
pub fn is_read_only(statement: &Statement) -> bool {
    match statement {
        Statement::Query(_) => true,
        Statement::Explain { statement, .. } => is_read_only(statement),
        _ => false,
    }
}
