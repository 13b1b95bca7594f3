//! K302 `select-star-in-mart`.

use sqlparser::ast::Spanned;

use super::{Context, Finding, Rule};
use crate::config::Severity;

pub(crate) const RULE: Rule = Rule {
    code: "K302",
    name: "select-star-in-mart",
    why: "a mart is a contract: a column added upstream should not silently reach its consumers",
    fix: "list the mart's columns by name",
    default_severity: Severity::Warn,
    explanation: "\
## What it does
Reports `*`, `t.*` or `* EXCEPT (...)` in the outermost SELECT of a model in a mart dataset
(`[lint] mart_datasets`, default `marts` and `mart`). A `*` inside a CTE or subquery is fine:
the outermost list still names every column.

## Why is this bad?
Dashboards, exports and other teams read marts. With `*`, a column added, renamed or
retyped in a staging model changes the mart's schema without anyone editing the mart, and
personal data added upstream reaches consumers unreviewed.

## Example
```sql
SELECT * FROM stg.orders
```

## Use instead
```sql
SELECT order_id, customer_id, ordered_at, amount FROM stg.orders
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    if !cx.is_mart() {
        return Vec::new();
    }
    let listed = cx.facts.output_columns.map(|columns| {
        columns
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    });
    cx.projection
        .wildcards
        .iter()
        .map(|item| {
            let fix = match &listed {
                Some(list) if !list.is_empty() => format!("list the columns: {list}"),
                _ => RULE.fix.to_string(),
            };
            Finding::at_span(
                item.span(),
                format!(
                    "mart `{}` selects `{item}` in its output: its columns change whenever \
                     upstream's do",
                    cx.facts.name
                ),
                fix,
            )
        })
        .collect()
}
