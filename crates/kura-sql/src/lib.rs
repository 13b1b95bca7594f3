//! GoogleSQL for kura: parse what users write, find the tables it reads, and normalise it.
//!
//! Users write BigQuery's GoogleSQL so the same model runs on the embedded engine and on
//! BigQuery. This crate is the one place that understands that text: it parses with
//! sqlparser's BigQuery dialect ([`parse`]), finds the tables a statement reads
//! ([`referenced_tables`], the basis of access control and of the model graph), and reduces a
//! statement to a fingerprint for grouping queries in the cost report ([`normalize_query`]).
//!
//! The engine plans the parsed AST directly, so there is exactly one parser between the
//! user's text and the plan.

mod error;
mod normalize;
mod tables;

pub use error::{SqlError, SqlLocation};
pub use normalize::normalize_query;
pub use sqlparser::ast::Statement;
pub use tables::{referenced_tables, TableRef};

use sqlparser::dialect::BigQueryDialect;
use sqlparser::parser::Parser;

/// Parses GoogleSQL text into statements.
///
/// # Errors
/// [`SqlError::Parse`] with the line and column sqlparser reports, and
/// [`SqlError::Empty`] when the text holds no statement.
pub fn parse(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let statements = Parser::parse_sql(&BigQueryDialect {}, sql).map_err(SqlError::from_parser)?;
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
    let mut statements = parse(sql)?;
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
