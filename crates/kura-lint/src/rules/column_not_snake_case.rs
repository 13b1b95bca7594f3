//! K301 `column-not-snake-case`.

use super::{Context, Finding, Rule};
use crate::config::Severity;

pub(crate) const RULE: Rule = Rule {
    code: "K301",
    name: "column-not-snake-case",
    why: "one naming convention means nobody guesses or quotes a column name",
    fix: "rename the column in lower snake_case",
    default_severity: Severity::Warn,
    explanation: "\
## What it does
Reports an output column whose name is not lower snake_case (`^[a-z_][a-z0-9_]*$`). Names
come from the outermost SELECT (aliases, or the name of a bare column reference); when the
caller gives the engine's output columns, the names a `SELECT *` produces are checked too.

## Why is this bad?
GoogleSQL column names are case-insensitive but tools that read the tables are not always:
`OrderId`, `orderid` and `order_id` become three spellings to guess between, and names with
spaces or dashes need quoting everywhere.

## Example
```sql
SELECT id AS OrderId, `Order Total` FROM stg.orders
```

## Use instead
```sql
SELECT id AS order_id, `Order Total` AS order_total FROM stg.orders
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    let mut seen = Vec::new();
    let mut findings = Vec::new();
    for column in cx.projection.columns.iter().filter(|c| c.branch == 0) {
        let Some(name) = &column.name else { continue };
        seen.push(name.to_ascii_lowercase());
        if !is_snake_case(name) {
            findings.push(finding(name, column.name_span));
        }
    }
    if !cx.projection.wildcards.is_empty() {
        for (name, _) in cx.facts.output_columns.unwrap_or_default() {
            if !seen.contains(&name.to_ascii_lowercase()) && !is_snake_case(name) {
                findings.push(finding(name, cx.star_span()));
            }
        }
    }
    findings
}

fn finding(name: &str, span: sqlparser::tokenizer::Span) -> Finding {
    let fix = match to_snake_case(name) {
        Some(snake) => format!("rename it `{snake}`"),
        None => RULE.fix.to_string(),
    };
    Finding::at_span(span, format!("column `{name}` is not snake_case"), fix)
}

pub(crate) fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `OrderId` -> `order_id`, `Order Total` -> `order_total`, `HTTPStatus` -> `http_status`;
/// `None` when nothing usable is left (a name of only symbols).
pub(crate) fn to_snake_case(name: &str) -> Option<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = c.is_ascii_uppercase()
                && prev.is_some_and(|p| {
                    p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                });
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() {
        return None;
    }
    Some(match out.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("_{out}"),
        _ => out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_accepts_only_lower_snake() {
        for ok in ["order_id", "_private", "a1", "x"] {
            assert!(is_snake_case(ok), "{ok}");
        }
        for bad in [
            "OrderId", "order-id", "order id", "1st", "", "ORDER_ID", "注文",
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
    }

    #[test]
    fn suggestions_are_snake_case() {
        assert_eq!(to_snake_case("OrderId").as_deref(), Some("order_id"));
        assert_eq!(to_snake_case("Order Total").as_deref(), Some("order_total"));
        assert_eq!(to_snake_case("HTTPStatus").as_deref(), Some("http_status"));
        assert_eq!(to_snake_case("order-id").as_deref(), Some("order_id"));
        assert_eq!(to_snake_case("1st").as_deref(), Some("_1st"));
        assert_eq!(to_snake_case("--"), None);
    }
}
