//! K501 `table-rebuilt-more-than-read`.

use super::{Context, Finding, Rule};
use crate::config::Severity;
use crate::facts::Materialization;

pub(crate) const RULE: Rule = Rule {
    code: "K501",
    name: "table-rebuilt-more-than-read",
    why: "a table rebuilt more often than it is read costs more than a view computing it on read",
    fix: "set `materialized = \"view\"` in the model's header",
    default_severity: Severity::Warn,
    explanation: "\
## What it does
Reports a model materialised as a table or incremental table that the query log shows was
rebuilt more times than it was read over the last `[lint] rebuild_window_days` days
(default 30).

## Why is this bad?
Every rebuild scans the model's inputs and writes the result; a read of a view scans the
inputs once. Rebuilding more often than reading pays for work nobody uses. (A warning, not an
error: a table read rarely but by a slow dashboard may be worth it.)

## Example
```sql
/* kura
materialized = \"table\"   # rebuilt hourly, read twice a month
*/
SELECT ...
```

## Use instead
```sql
/* kura
materialized = \"view\"
*/
SELECT ...
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    let materialized = cx.facts.materialized;
    if materialized == Materialization::View {
        return Vec::new();
    }
    let Some(usage) = cx.facts.usage else {
        return Vec::new();
    };
    if usage.rebuilds <= usage.reads {
        return Vec::new();
    }
    vec![Finding::for_model(
        format!(
            "{} `{}` was rebuilt {} but read {} in the last {} days",
            match materialized {
                Materialization::Incremental => "incremental table",
                _ => "table",
            },
            cx.facts.name,
            times(usage.rebuilds),
            times(usage.reads),
            usage.window_days
        ),
        format!(
            "set `materialized = \"view\"` in its header (now \"{}\"): a view costs nothing \
             until it is read",
            materialized.as_str()
        ),
    )]
}

fn times(n: u64) -> String {
    match n {
        1 => "once".to_string(),
        n => format!("{n} times"),
    }
}
