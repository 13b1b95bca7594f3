//! GoogleSQL JSONPath: `$`, `.name`, `."quoted name"`, `['name']`, `[0]`.

use datafusion::common::{exec_datafusion_err, Result};
use serde_json::Value;

#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// Parses a path; fails on text that is not one (GoogleSQL raises an error too).
pub(crate) fn parse(path: &str) -> Result<Vec<Step>> {
    let bad = || exec_datafusion_err!("invalid JSONPath '{path}'");
    let rest = path.trim().strip_prefix('$').ok_or_else(bad)?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'"') {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '"')
                        .ok_or_else(bad)?;
                    steps.push(Step::Key(chars[i + 1..i + 1 + end].iter().collect()));
                    i += end + 2;
                } else {
                    let end = chars[i..]
                        .iter()
                        .position(|&c| c == '.' || c == '[')
                        .unwrap_or(chars.len() - i);
                    if end == 0 {
                        return Err(bad());
                    }
                    steps.push(Step::Key(chars[i..i + end].iter().collect()));
                    i += end;
                }
            }
            '[' => {
                let end = chars[i..].iter().position(|&c| c == ']').ok_or_else(bad)?;
                let inner: String = chars[i + 1..i + end].iter().collect();
                let inner = inner.trim();
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                steps.push(match quoted {
                    Some(key) => Step::Key(key.to_string()),
                    None => Step::Index(inner.parse().map_err(|_| bad())?),
                });
                i += end + 1;
            }
            _ => return Err(bad()),
        }
    }
    Ok(steps)
}

/// The value at `steps`, or `None` when the path leads nowhere.
pub(crate) fn select<'a>(mut value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        value = match step {
            Step::Key(k) => value.as_object()?.get(k)?,
            Step::Index(n) => value.as_array()?.get(*n)?,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dots_brackets_and_quotes() {
        assert_eq!(
            parse("$.a.b[0]['c d'].\"e.f\"").expect("valid path"),
            vec![
                Step::Key("a".into()),
                Step::Key("b".into()),
                Step::Index(0),
                Step::Key("c d".into()),
                Step::Key("e.f".into()),
            ]
        );
        assert!(parse("a.b").is_err());
    }
}
