use std::fmt;

use sqlparser::parser::ParserError;

/// A position in SQL text, 1-based as editors show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlLocation {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for SqlLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why SQL text could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The text is not valid GoogleSQL.
    #[error("{message}")]
    Parse {
        message: String,
        location: Option<SqlLocation>,
    },
    /// The text holds no statement at all.
    #[error("the SQL text is empty")]
    Empty,
    /// Several statements where one was expected.
    #[error("expected one statement, found {count}")]
    MultipleStatements { count: usize },
    /// Valid GoogleSQL that kura cannot yet run on the embedded engine.
    #[error("{construct} is not supported on the embedded engine")]
    Unsupported {
        construct: String,
        location: Option<SqlLocation>,
        hint: String,
    },
}

impl SqlError {
    pub(crate) fn from_parser(err: ParserError) -> Self {
        let raw = match err {
            ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
            ParserError::RecursionLimitExceeded => "the statement is nested too deeply".to_string(),
        };
        let (message, location) = split_location(&raw);
        SqlError::Parse { message, location }
    }

    /// What the user can do about it, when there is something specific to say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            SqlError::Unsupported { hint, .. } => Some(hint),
            _ => None,
        }
    }

    /// Where in the text the problem is, when known.
    pub fn location(&self) -> Option<SqlLocation> {
        match self {
            SqlError::Parse { location, .. } | SqlError::Unsupported { location, .. } => *location,
            _ => None,
        }
    }
}

/// sqlparser appends " at Line: L, Column: C" to its messages; take it apart so callers can
/// print `file:line:col` in the usual compiler form.
fn split_location(raw: &str) -> (String, Option<SqlLocation>) {
    let Some(at) = raw.rfind(" at Line: ") else {
        return (raw.to_string(), None);
    };
    let rest = &raw[at + " at Line: ".len()..];
    let mut parts = rest.splitn(2, ", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse().ok());
    let column = parts.next().and_then(|c| {
        c.trim_end_matches(|ch: char| !ch.is_ascii_digit())
            .parse()
            .ok()
    });
    match (line, column) {
        (Some(line), Some(column)) => (raw[..at].to_string(), Some(SqlLocation { line, column })),
        _ => (raw.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_error_carries_line_and_column() {
        let err = crate::parse("SELECT 1\nFROM t WHERE )").unwrap_err();
        let loc = err.location().expect("location");
        assert_eq!(loc.line, 2);
        assert!(loc.column >= 6, "{loc}");
        assert!(!err.to_string().contains("Line:"), "{err}");
    }
}
