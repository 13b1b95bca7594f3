//! K402 `mart-missing-owner`.

use super::{Context, Finding, Rule};
use crate::config::Severity;

pub(crate) const RULE: Rule = Rule {
    code: "K402",
    name: "mart-missing-owner",
    why: "when a mart is wrong or late, its readers need to know whom to ask",
    fix: "add `owner = \"<team or person>\"` to the model's `/* kura` header",
    default_severity: Severity::Warn,
    explanation: "\
## What it does
Reports a model in a mart dataset whose header has no `owner` (or a blank one).

## Why is this bad?
A mart without an owner is nobody's to fix: questions, broken numbers and requests to change
it have nowhere to go, and nobody can say whether it is safe to drop.

## Example
```sql
/* kura
description = \"One row per order.\"
*/
SELECT order_id, amount FROM stg.orders
```

## Use instead
```sql
/* kura
description = \"One row per order.\"
owner = \"data-team\"
*/
SELECT order_id, amount FROM stg.orders
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    let owned = cx.facts.owner.is_some_and(|o| !o.trim().is_empty());
    if !cx.is_mart() || owned {
        return Vec::new();
    }
    vec![Finding::for_model(
        format!("mart `{}` has no owner", cx.facts.name),
        RULE.fix.to_string(),
    )]
}
