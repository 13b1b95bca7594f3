//! K401 `mart-missing-description`.

use super::{Context, Finding, Rule};
use crate::config::Severity;

pub(crate) const RULE: Rule = Rule {
    code: "K401",
    name: "mart-missing-description",
    why: "a mart's readers need to know what one row is without reading its SQL",
    fix: "add `description = \"One row per ...\"` to the model's `/* kura` header",
    default_severity: Severity::Warn,
    explanation: "\
## What it does
Reports a model in a mart dataset whose header has no `description` (or a blank one).

## Why is this bad?
Marts are read by people who did not write them. The description is what `kura docs` and the
catalogue show; without it the grain (one row per what?) has to be reverse-engineered from SQL.

## Example
```sql
SELECT order_id, amount FROM stg.orders
```

## Use instead
```sql
/* kura
description = \"One row per order, with its paid amount in JPY.\"
*/
SELECT order_id, amount FROM stg.orders
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    let described = cx.facts.description.is_some_and(|d| !d.trim().is_empty());
    if !cx.is_mart() || described {
        return Vec::new();
    }
    vec![Finding::for_model(
        format!("mart `{}` has no description", cx.facts.name),
        RULE.fix.to_string(),
    )]
}
