//! GoogleSQL text into sqlparser's tokens, quickly, for the text models are made of.
//!
//! sqlparser's tokenizer walks the text one `char` at a time through a peekable iterator and
//! builds each word through a `String` of pushed chars; on a 200-line model that is a third
//! of the whole parse. [`tokenize`] produces the identical token stream (the same tokens, the
//! same spans) from bytes, for the constructs that make up ordinary SQL: words, backquoted
//! names, plain strings, decimal numbers, the usual operators, comments and whitespace.
//! Anything else (escapes, raw/byte/triple-quoted strings, exponents, rare operators,
//! non-ASCII outside strings and comments) returns `None` and the caller uses sqlparser's
//! tokenizer for the whole text, so the result never depends on which path was taken. The
//! tests compare both paths on the conformance corpus and on generated text.

use std::collections::HashMap;
use std::sync::OnceLock;

use sqlparser::keywords::{Keyword, ALL_KEYWORDS, ALL_KEYWORDS_INDEX};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Whitespace, Word};

/// The tokens of `sql` as sqlparser's BigQuery tokenizer gives them, or `None` when the text
/// holds a construct this tokenizer leaves to sqlparser's.
pub(crate) fn tokenize(sql: &str) -> Option<Vec<TokenWithSpan>> {
    let mut lexer = Lexer {
        text: sql,
        bytes: sql.as_bytes(),
        at: 0,
        line: 1,
        column: 1,
        // About one token per three bytes in formatted SQL.
        tokens: Vec::with_capacity(sql.len() / 3 + 8),
    };
    while lexer.at < lexer.bytes.len() {
        let start = lexer.location();
        let token = lexer.next_token()?;
        let span = Span::new(start, lexer.location());
        lexer.tokens.push(TokenWithSpan { token, span });
    }
    Some(lexer.tokens)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    line: u64,
    column: u64,
    tokens: Vec<TokenWithSpan>,
}

impl Lexer<'_> {
    fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    /// Moves past `n` bytes of ASCII that holds no newline.
    fn skip_ascii(&mut self, n: usize) {
        self.at += n;
        self.column += n as u64;
    }

    /// Moves to byte `end`, counting lines and characters as sqlparser does.
    fn advance_to(&mut self, end: usize) {
        let passed = &self.text[self.at..end];
        if passed.is_ascii() {
            for &b in passed.as_bytes() {
                if b == b'\n' {
                    self.line += 1;
                    self.column = 1;
                } else {
                    self.column += 1;
                }
            }
        } else {
            for c in passed.chars() {
                if c == '\n' {
                    self.line += 1;
                    self.column = 1;
                } else {
                    self.column += 1;
                }
            }
        }
        self.at = end;
    }

    fn single(&mut self, token: Token) -> Option<Token> {
        self.skip_ascii(1);
        Some(token)
    }

    fn double(&mut self, token: Token) -> Option<Token> {
        self.skip_ascii(2);
        Some(token)
    }

    fn next_token(&mut self) -> Option<Token> {
        let b = self.bytes[self.at];
        match b {
            b' ' => self.single(Token::Whitespace(Whitespace::Space)),
            b'\t' => self.single(Token::Whitespace(Whitespace::Tab)),
            b'\n' => {
                self.at += 1;
                self.line += 1;
                self.column = 1;
                Some(Token::Whitespace(Whitespace::Newline))
            }
            b'\r' => {
                // `\r\n` is one newline; the `\r` counts as a column first.
                self.at += 1;
                self.column += 1;
                if self.peek(0) == Some(b'\n') {
                    self.at += 1;
                    self.line += 1;
                    self.column = 1;
                }
                Some(Token::Whitespace(Whitespace::Newline))
            }
            0x0b | 0x0c => self.single(Token::Whitespace(Whitespace::Space)),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.word(),
            b'`' => self.quoted_name(),
            b'\'' | b'"' => self.quoted(b, false),
            b'0'..=b'9' => self.number(),
            b'.' => match self.peek(1) {
                Some(b'0'..=b'9' | b'_') => None,
                _ => self.single(Token::Period),
            },
            b'(' => self.single(Token::LParen),
            b')' => self.single(Token::RParen),
            b',' => self.single(Token::Comma),
            b';' => self.single(Token::SemiColon),
            b'[' => self.single(Token::LBracket),
            b']' => self.single(Token::RBracket),
            b'+' => self.single(Token::Plus),
            b'*' => self.single(Token::Mul),
            b'%' => self.single(Token::Mod),
            b'-' => match self.peek(1) {
                Some(b'-') => self.line_comment(),
                Some(b'>') => None,
                _ => self.single(Token::Minus),
            },
            b'/' => match self.peek(1) {
                Some(b'*') => self.block_comment(),
                _ => self.single(Token::Div),
            },
            b'=' => match self.peek(1) {
                Some(b'>') => self.double(Token::RArrow),
                Some(b'=') => self.double(Token::DoubleEq),
                _ => self.single(Token::Eq),
            },
            b'!' => match self.peek(1) {
                Some(b'=') => self.double(Token::Neq),
                _ => None,
            },
            b'<' => match self.peek(1) {
                Some(b'=') => match self.peek(2) {
                    Some(b'>') => None,
                    _ => self.double(Token::LtEq),
                },
                Some(b'>') => self.double(Token::Neq),
                Some(b'<' | b'@') => None,
                _ => self.single(Token::Lt),
            },
            b'>' => match self.peek(1) {
                Some(b'=') => self.double(Token::GtEq),
                Some(b'>') => None,
                _ => self.single(Token::Gt),
            },
            b'|' => match (self.peek(1), self.peek(2)) {
                (Some(b'|'), Some(b'/')) => None,
                (Some(b'|'), _) => self.double(Token::StringConcat),
                _ => None,
            },
            _ => None,
        }
    }

    fn is_word_part(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }

    fn word(&mut self) -> Option<Token> {
        let start = self.at;
        let mut end = start + 1;
        while end < self.bytes.len() && Self::is_word_part(self.bytes[end]) {
            end += 1;
        }
        // A quote after a word may make it a prefix (`b'…'`, `r"…"`, `N'…'`, `X'…'`); `&`
        // may start a `U&'…'` literal. Those are sqlparser's to read.
        if let Some(&quote @ (b'\'' | b'"')) = self.bytes.get(end) {
            // Raw strings hold regular expressions, so they are common enough to read here.
            return match &self.bytes[start..end] {
                b"r" | b"R" => {
                    self.skip_ascii(1);
                    self.quoted(quote, true)
                }
                _ => None,
            };
        }
        if self.bytes.get(end) == Some(&b'&') {
            return None;
        }
        let value = &self.text[start..end];
        self.skip_ascii(end - start);
        Some(Token::Word(Word {
            keyword: keyword(value),
            value: value.to_string(),
            quote_style: None,
        }))
    }

    fn quoted_name(&mut self) -> Option<Token> {
        let open = self.at;
        let len = self.bytes[open + 1..].iter().position(|&b| b == b'`')?;
        let close = open + 1 + len;
        let value = &self.text[open + 1..close];
        // A doubled backquote is an escape, and sqlparser's reading of escapes is its own.
        if self.bytes.get(close + 1) == Some(&b'`') || value.contains(['\\', '\n', '\r']) {
            return None;
        }
        self.advance_to(close + 1);
        Some(Token::Word(Word {
            value: value.to_string(),
            quote_style: Some('`'),
            keyword: Keyword::NoKeyword,
        }))
    }

    /// A string quoted by `quote`, raw (`r'…'`: backslashes are text) or not.
    fn quoted(&mut self, quote: u8, raw: bool) -> Option<Token> {
        let open = self.at;
        let make = |s: String| match (quote, raw) {
            (b'\'', false) => Token::SingleQuotedString(s),
            (_, false) => Token::DoubleQuotedString(s),
            (b'\'', true) => Token::SingleQuotedRawStringLiteral(s),
            (_, true) => Token::DoubleQuotedRawStringLiteral(s),
        };
        if self.peek(1) == Some(quote) {
            // Two quotes are the empty string; three open a triple-quoted one.
            if self.peek(2) == Some(quote) {
                return None;
            }
            self.skip_ascii(2);
            return Some(make(String::new()));
        }
        let len = self.bytes[open + 1..].iter().position(|&b| b == quote)?;
        let close = open + 1 + len;
        let value = &self.text[open + 1..close];
        // Escapes, and a doubled quote inside, are read by sqlparser's rules.
        if (!raw && value.contains('\\')) || self.bytes.get(close + 1) == Some(&quote) {
            return None;
        }
        self.advance_to(close + 1);
        Some(make(value.to_string()))
    }

    fn number(&mut self) -> Option<Token> {
        let start = self.at;
        let digits = |bytes: &[u8], from: usize| {
            from + bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut end = digits(self.bytes, start);
        if self.bytes.get(end) == Some(&b'.') {
            end = digits(self.bytes, end + 1);
        }
        // Exponents, hex, `L` suffixes, separators and a second period are sqlparser's.
        if matches!(self.bytes.get(end), Some(&b) if Self::is_word_part(b) || b == b'.' || b == b'\'' || b == b'"')
        {
            return None;
        }
        let value = self.text[start..end].to_string();
        self.skip_ascii(end - start);
        Some(Token::Number(value, false))
    }

    fn line_comment(&mut self) -> Option<Token> {
        let body = self.at + 2;
        let end = match self.bytes[body..].iter().position(|&b| b == b'\n') {
            Some(n) => body + n + 1,
            None => self.bytes.len(),
        };
        let comment = self.text[body..end].to_string();
        self.advance_to(end);
        Some(Token::Whitespace(Whitespace::SingleLineComment {
            comment,
            prefix: "--".to_string(),
        }))
    }

    fn block_comment(&mut self) -> Option<Token> {
        let body = self.at + 2;
        let len = self.text[body..].find("*/")?;
        let comment = &self.text[body..body + len];
        // Nested comments and `/*!` hints follow dialect rules that stay with sqlparser.
        if comment.contains("/*") || comment.starts_with('!') {
            return None;
        }
        let comment = comment.to_string();
        self.advance_to(body + len + 2);
        Some(Token::Whitespace(Whitespace::MultiLineComment(comment)))
    }
}

/// sqlparser's keyword for an unquoted word, found by hashing its upper-cased bytes.
fn keyword(word: &str) -> Keyword {
    const LONGEST: usize = 64;
    if word.len() > LONGEST {
        return Keyword::NoKeyword;
    }
    let mut upper = [0u8; LONGEST];
    for (u, b) in upper.iter_mut().zip(word.bytes()) {
        *u = b.to_ascii_uppercase();
    }
    let Ok(upper) = std::str::from_utf8(&upper[..word.len()]) else {
        return Keyword::NoKeyword;
    };
    keywords().get(upper).copied().unwrap_or(Keyword::NoKeyword)
}

fn keywords() -> &'static HashMap<&'static str, Keyword> {
    static KEYWORDS: OnceLock<HashMap<&'static str, Keyword>> = OnceLock::new();
    KEYWORDS.get_or_init(|| {
        ALL_KEYWORDS
            .iter()
            .copied()
            .zip(ALL_KEYWORDS_INDEX.iter().copied())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::tokenize;
    use sqlparser::dialect::BigQueryDialect;
    use sqlparser::tokenizer::Tokenizer;

    /// Asserts the fast path gives sqlparser's tokens whenever it gives any; returns whether
    /// it did.
    fn agrees(sql: &str) -> bool {
        let Some(fast) = tokenize(sql) else {
            return false;
        };
        let reference = Tokenizer::new(&BigQueryDialect {}, sql)
            .tokenize_with_location()
            .unwrap_or_else(|e| panic!("sqlparser refuses text the fast path read: {e}\n{sql}"));
        assert_eq!(fast, reference, "token streams differ for:\n{sql}");
        true
    }

    #[test]
    fn ordinary_sql_takes_the_fast_path_and_agrees() {
        for sql in [
            "SELECT a, b.c AS `my col`, 'x' || \"y\" FROM `p.d.t` WHERE n >= 1.5 AND m <> 2",
            "select count(*) from t -- trailing comment\nwhere x != 3 /* block\ncomment */ and y <= 4",
            "SELECT '日本語', `名前` FROM t\r\nWHERE z = ''",
            "SELECT f(x => 1), a[OFFSET(0)], 1. + 2 FROM t",
            "SELECT REGEXP_EXTRACT(u, r'https?://[^/]+(/[^?#]*)'), R\"\\d+\", r'', 'a\nb' FROM t",
            "SELECT 1 == 2, 3 < 4, 5 > 6, 7 % 8, 9 / 10, 11 - 12; SELECT _x1, select_",
            "",
        ] {
            assert!(agrees(sql), "expected the fast path for:\n{sql}");
        }
        let model = include_str!("../../../bench/sql-parse/benches/model_200_lines.sql");
        assert!(agrees(model), "the benchmark model takes the fast path");
    }

    #[test]
    fn unusual_text_is_left_to_sqlparser() {
        for sql in [
            "SELECT b'abc'",
            "SELECT 'it\\'s'",
            "SELECT '''triple'''",
            "SELECT 1e10",
            "SELECT 0x1F",
            "SELECT @param",
            "SELECT x # comment",
            "SELECT `a``b`",
            "SELECT a ->> 'b'",
            "SELECT /* a /* nested */ b */ 1",
            "SELECT 1 << 2",
            "SELECT .5",
            "SELECT r'''x'''",
            "SELECT 'a''b'",
        ] {
            assert!(
                tokenize(sql).is_none(),
                "expected sqlparser's tokenizer for:\n{sql}"
            );
        }
    }

    /// The statements of the conformance corpus: the text between a `query` or `statement`
    /// line and the `----` (or blank line) that ends it.
    fn corpus_statements() -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
        let mut statements = Vec::new();
        for entry in std::fs::read_dir(dir).expect("corpus directory") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("corpus file");
            let mut current: Option<Vec<&str>> = None;
            for line in text.lines() {
                if line.starts_with("query") || line.starts_with("statement") {
                    current = Some(Vec::new());
                } else if line == "----" || line.is_empty() {
                    if let Some(lines) = current.take() {
                        statements.push(lines.join("\n"));
                    }
                } else if let Some(lines) = current.as_mut() {
                    lines.push(line);
                }
            }
            if let Some(lines) = current {
                statements.push(lines.join("\n"));
            }
        }
        statements
    }

    #[test]
    fn the_conformance_corpus_agrees() {
        let statements = corpus_statements();
        assert!(statements.len() >= 150, "{} statements", statements.len());
        let slow: Vec<&String> = statements.iter().filter(|sql| !agrees(sql)).collect();
        // Ordinary SQL takes the fast path, or it would not be worth having.
        assert!(
            slow.len() * 10 < statements.len(),
            "{} of {} statements fell back, such as:\n{}",
            slow.len(),
            statements.len(),
            slow.iter()
                .take(5)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
    }

    #[test]
    fn generated_text_agrees() {
        const PIECES: &[&str] = &[
            " ", "  ", "\t", "\n", "\r\n", "\r", "SELECT", "from", "x", "_a1", "b", "r", "n", "x",
            "e", "u", "`q`", "`a.b-c`", "'s'", "''", "\"d\"", "'日本'", "'a\nb'", "r'\\d'",
            "R\"x\\\"", "r''", "0", "12", "3.", "4.5", ".", ".6", "7e2", "8L", "(", ")", ",", ";",
            "[", "]", "+", "-", "*", "/", "%", "=", "==", "=>", "!", "!=", "<", "<=", "<>", "<=>",
            ">", ">=", ">>", "|", "||", "--c\n", "-- end", "/*c*/", "/*\n*/", "&", "'", "`", "é",
            "\u{a0}", ":", "::", "@x", "#", "?", "$1", "\\", "->", "~", "^",
        ];
        // A fixed linear congruential sequence: the same texts on every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut fast = 0;
        for _ in 0..20_000 {
            let len = 1 + next() % 12;
            let sql: String = (0..len).map(|_| PIECES[next() % PIECES.len()]).collect();
            fast += usize::from(agrees(&sql));
        }
        assert!(
            fast > 1_000,
            "only {fast} generated texts took the fast path"
        );
    }
}
