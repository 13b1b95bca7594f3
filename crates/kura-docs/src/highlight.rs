//! SQL keyword highlighting, done in Rust so model pages read well without JavaScript.
//!
//! This is a lexer, not a parser: it finds comments, string literals, quoted identifiers,
//! numbers and keywords, and wraps them in `<span>`s. It never fails; unterminated strings and
//! comments run to the end of the text, as an editor would show them.

use crate::html::escape;

/// GoogleSQL keywords and common built-ins shown in the keyword colour (sorted for
/// `binary_search`).
const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CREATE",
    "CROSS",
    "CURRENT",
    "DATE",
    "DATETIME",
    "DECLARE",
    "DELETE",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXTRACT",
    "FALSE",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IF",
    "IN",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MERGE",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PRECEDING",
    "QUALIFY",
    "RANGE",
    "REPLACE",
    "RIGHT",
    "ROW",
    "ROWS",
    "SAFE_CAST",
    "SELECT",
    "SET",
    "STRUCT",
    "TABLE",
    "THEN",
    "TIMESTAMP",
    "TRUE",
    "UNBOUNDED",
    "UNION",
    "UNNEST",
    "UPDATE",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

/// Returns `sql` as escaped HTML with `kw`, `str`, `cm` and `num` spans.
pub fn highlight_sql(sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (class, end) = if c == '-' && next == Some('-') || c == '#' {
            (Some("cm"), find_from(&chars, i, |c| c == '\n'))
        } else if c == '/' && next == Some('*') {
            let close = (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                .map_or(chars.len(), |j| j + 2);
            (Some("cm"), close)
        } else if c == '\'' || c == '"' {
            (Some("str"), quoted_end(&chars, i))
        } else if c == '`' {
            // A quoted identifier: not a keyword even if it spells one.
            (None, quoted_end(&chars, i))
        } else if c.is_ascii_digit() {
            let end = find_from(&chars, i, |c| !(c.is_ascii_alphanumeric() || c == '.'));
            (Some("num"), end)
        } else if c.is_alphabetic() || c == '_' {
            let end = find_from(&chars, i, |c| !(c.is_alphanumeric() || c == '_'));
            let word: String = chars[i..end].iter().collect();
            let is_keyword = KEYWORDS
                .binary_search(&word.to_ascii_uppercase().as_str())
                .is_ok();
            (is_keyword.then_some("kw"), end)
        } else {
            (None, i + 1)
        };
        let text: String = chars[i..end].iter().collect();
        match class {
            Some(class) => {
                out.push_str("<span class=\"");
                out.push_str(class);
                out.push_str("\">");
                out.push_str(&escape(&text));
                out.push_str("</span>");
            }
            None => out.push_str(&escape(&text)),
        }
        i = end;
    }
    out
}

/// The index of the first char at or after `start + 1` matching `stop`, or the end.
fn find_from(chars: &[char], start: usize, stop: impl Fn(char) -> bool) -> usize {
    (start + 1..chars.len())
        .find(|&j| stop(chars[j]))
        .unwrap_or(chars.len())
}

/// The index just past the closing quote of the literal opening at `start` (backslash escapes
/// honoured, as in GoogleSQL), or the end of the text if it never closes.
fn quoted_end(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut j = start + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_for_binary_search() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn highlights_keywords_strings_comments_and_numbers() {
        let html = highlight_sql("select a, 'x<y' -- note\nFROM `select` WHERE n > 10");
        assert_eq!(
            html,
            "<span class=\"kw\">select</span> a, <span class=\"str\">&#39;x&lt;y&#39;</span> \
             <span class=\"cm\">-- note</span>\n<span class=\"kw\">FROM</span> `select` \
             <span class=\"kw\">WHERE</span> n &gt; <span class=\"num\">10</span>"
        );
    }

    #[test]
    fn unterminated_literals_run_to_the_end() {
        assert_eq!(
            highlight_sql("/* kura\nx"),
            "<span class=\"cm\">/* kura\nx</span>"
        );
        assert_eq!(
            highlight_sql("'it\\'s"),
            "<span class=\"str\">&#39;it\\&#39;s</span>"
        );
        assert_eq!(highlight_sql("'\\"), "<span class=\"str\">&#39;\\</span>");
    }

    #[test]
    fn identifiers_containing_keywords_stay_plain() {
        assert_eq!(highlight_sql("order_id"), "order_id");
        assert_eq!(highlight_sql("é_from"), "é_from");
    }
}
