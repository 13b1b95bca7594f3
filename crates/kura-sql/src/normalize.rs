use sqlparser::dialect::BigQueryDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

const CLAUSE_KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "ON",
    "USING",
    "AND",
    "OR",
    "NOT",
    "IN",
    "AS",
    "WITH",
    "UNION",
    "ALL",
    "DISTINCT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "IS",
    "NULL",
    "LIKE",
    "BETWEEN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "CROSS",
    "QUALIFY",
    "ASC",
    "DESC",
    "OVER",
    "PARTITION",
    "WINDOW",
    "EXCEPT",
    "INTERSECT",
    "EXISTS",
    "UNNEST",
];

/// Reduces a statement to its shape, so that runs of the same query with different constants
/// group together in the cost report: literals become `?`, whitespace and comments collapse,
/// keywords are upper-cased.
///
/// Text that does not tokenize is returned with whitespace collapsed, because the cost report
/// must still group failed queries.
pub fn normalize_query(sql: &str) -> String {
    let dialect = BigQueryDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return sql.split_whitespace().collect::<Vec<_>>().join(" ");
    };
    let mut out = String::with_capacity(sql.len());
    let mut pending_space = false;
    for token in tokens {
        let piece = match token {
            Token::Whitespace(_) => {
                pending_space = true;
                continue;
            }
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_) => "?".to_string(),
            // Unquoted names are case-insensitive in GoogleSQL (tables aside, which kura keeps
            // lowercase), so one case groups them; clause keywords are upper-cased for reading.
            Token::Word(w) if w.quote_style.is_none() => {
                let upper = w.value.to_uppercase();
                if CLAUSE_KEYWORDS.contains(&upper.as_str()) {
                    upper
                } else {
                    w.value.to_lowercase()
                }
            }
            Token::SemiColon => continue,
            other => other.to_string(),
        };
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_spacing_do_not_change_the_shape() {
        let a = normalize_query("select *  from marts.orders where id = 42 and s = 'x';");
        let b = normalize_query("SELECT * FROM Marts.Orders\n  WHERE ID = 7 AND s = 'yy' -- note");
        assert_eq!(a, b);
        assert_eq!(a, "SELECT * FROM marts.orders WHERE id = ? AND s = ?");
    }

    #[test]
    fn different_columns_are_different_shapes() {
        assert_ne!(
            normalize_query("SELECT a FROM t"),
            normalize_query("SELECT b FROM t")
        );
    }
}
