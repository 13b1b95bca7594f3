//! K101 `raw-read-outside-staging`.

use std::ops::ControlFlow;

use sqlparser::ast::{visit_relations, Spanned};
use sqlparser::tokenizer::Span;

use super::{Context, Finding, Rule};
use crate::config::Severity;

pub(crate) const RULE: Rule = Rule {
    code: "K101",
    name: "raw-read-outside-staging",
    why: "staging views are the anti-corruption layer: only they may read raw data",
    fix: "read the staging model over the raw table instead, adding one if there is none",
    default_severity: Severity::Error,
    explanation: "\
## What it does
Reports a model outside the staging datasets that reads a table in a raw dataset.

## Why is this bad?
Raw tables hold data as the source sent it: source names, source types, UTC or local times
as the source chose, duplicates. Staging models are where that is cleaned once (renamed,
typed, de-duplicated, times put in the project's convention). A mart or analysis reading raw
directly repeats or skips that cleaning, and breaks when the source changes, while every
model reading staging is fixed by one edit.

## Example
```sql
-- models/marts/orders.sql
SELECT order_id, amount FROM raw.shop_orders
```

## Use instead
```sql
-- models/stg/shop_orders.sql
SELECT id AS order_id, CAST(amount AS NUMERIC) AS amount FROM raw.shop_orders
-- models/marts/orders.sql
SELECT order_id, amount FROM stg.shop_orders
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    if cx.config.is_staging(cx.facts.dataset) {
        return Vec::new();
    }
    kura_sql::referenced_tables(cx.facts.statement)
        .into_iter()
        .filter(|t| t.dataset.as_deref().is_some_and(|d| cx.config.is_raw(d)))
        .map(|table| {
            let dataset = table.dataset.clone().unwrap_or_default();
            let span = table_span(cx, &dataset, &table.table);
            let staging = cx
                .config
                .staging_datasets
                .first()
                .map_or("stg", String::as_str);
            Finding::at_span(
                span,
                format!(
                    "`{}` reads raw table `{table}` directly, but it is not a staging model",
                    cx.facts.name
                ),
                format!(
                    "read a staging model over it (such as `{staging}.{}`) instead",
                    table.table
                ),
            )
        })
        .collect()
}

/// Where the table is first named; the statement's start when only a string names it
/// (a table function argument).
fn table_span(cx: &Context<'_>, dataset: &str, table: &str) -> Span {
    let mut found = None;
    let _ = visit_relations(cx.facts.statement, |name| {
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .flat_map(|v| v.split('.').map(str::to_string).collect::<Vec<_>>())
            .collect();
        if let [.., d, t] = parts.as_slice() {
            if d.eq_ignore_ascii_case(dataset) && t.eq_ignore_ascii_case(table) {
                found = Some(name.span());
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    found.unwrap_or_else(|| cx.facts.statement.span())
}
