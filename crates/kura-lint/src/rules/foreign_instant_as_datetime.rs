//! K202 `foreign-instant-as-datetime`.

use super::{Context, Finding, Rule};
use crate::config::Severity;
use crate::time::Kind;

pub(crate) const RULE: Rule = Rule {
    code: "K202",
    name: "foreign-instant-as-datetime",
    why: "a DATETIME is read as the project's local wall-clock time: one in UTC or another zone is silently hours off",
    fix: "convert in the project's zone with `DATETIME(ts, '<zone>')`, or keep the instant as TIMESTAMP",
    default_severity: Severity::Error,
    explanation: "\
## What it does
Reports an output column of type DATETIME whose wall-clock time is not in the project's local
zone (`[lint] local_zone`, default Asia/Tokyo): `DATETIME(ts)` or `CAST(ts AS DATETIME)` with
no zone (UTC wall clock), `DATETIME(ts, 'America/New_York')` (another zone),
`CURRENT_DATETIME()` with no zone or another zone.

When the caller gives the engine's column types, a DATETIME column whose expression says
nothing but whose name ends in `_utc` is also reported. `DATETIME(x)` is only reported when
`x` is known to be a TIMESTAMP: produced by a time function, or named `ts`, `*_ts`, `*_at`,
`*_timestamp` or `*_utc`.

## Why is this bad?
kura's convention: a DATETIME is wall-clock time in the project's zone; anything else is a
TIMESTAMP instant. A UTC wall clock in a DATETIME looks right, sorts right and is 9 hours off
(in Tokyo) in every daily total, every `DATE(dt)` and every chart, and nothing downstream can
tell.

## Example
```sql
SELECT DATETIME(ordered_at) AS ordered_at_local, CURRENT_DATETIME() AS loaded_local
FROM stg.orders
```

## Use instead
```sql
SELECT DATETIME(ordered_at, 'Asia/Tokyo') AS ordered_at_local,
       CURRENT_DATETIME('Asia/Tokyo') AS loaded_local
FROM stg.orders
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    super::local_time_output(cx)
        .into_iter()
        .filter_map(|out| {
            let Kind::Datetime { zone, evidence } = out.kind else {
                return None;
            };
            if zone.same_as(&cx.local) {
                return None;
            }
            let name = out.name.as_deref().unwrap_or("(unnamed)");
            let (what, fix) = match evidence {
                Some(e) => (e.what, e.fix),
                None if name.to_ascii_lowercase().ends_with("_utc") => (
                    "it is declared DATETIME and named `_utc`".to_string(),
                    format!(
                        "keep the instant as a TIMESTAMP (and drop `_utc`: TIMESTAMPs are \
                         always UTC), or store {} wall-clock time with `DATETIME(<instant>, '{}')`",
                        cx.local, cx.local
                    ),
                ),
                None => (
                    format!("its value is {zone} wall-clock time"),
                    RULE.fix.replace("<zone>", &cx.local.to_string()),
                ),
            };
            Some(Finding::at_span(
                out.span,
                format!(
                    "column `{name}` is a DATETIME in {zone}, not the project's zone ({}): {what}",
                    cx.local
                ),
                fix,
            ))
        })
        .collect()
}
