//! K201 `local-time-as-timestamp`.

use super::{Context, Finding, Rule};
use crate::config::Severity;
use crate::time::{local_suffix, Kind};

pub(crate) const RULE: Rule = Rule {
    code: "K201",
    name: "local-time-as-timestamp",
    why: "a TIMESTAMP is an instant: storing local wall-clock time in one shifts every reader by the zone offset",
    fix: "keep the instant as TIMESTAMP, and store local time as DATETIME with `DATETIME(ts, '<zone>')`",
    default_severity: Severity::Error,
    explanation: "\
## What it does
Reports an output column of type TIMESTAMP that holds local wall-clock time: a UTC instant
shifted by the zone offset (`TIMESTAMP_ADD(ts, INTERVAL 9 HOUR)`, `ts + INTERVAL 9 HOUR`), or
a local DATETIME read as if it were UTC (`TIMESTAMP(dt)`, `CAST(dt AS TIMESTAMP)`,
`TIMESTAMP(DATETIME(ts, 'Asia/Tokyo'))`).

kura's convention: wall-clock times in the project's zone are DATETIME; everything else is a
UTC instant stored as TIMESTAMP. The rule infers each output column's value from its
expression, through the statement's CTEs and subqueries. When the caller gives the engine's
column types, a TIMESTAMP column whose expression says nothing but whose name ends in `_local`
or the zone's abbreviation (`_jst`) is also reported.

## Why is this bad?
A TIMESTAMP means one instant everywhere. A shifted one is 9 hours wrong (in Tokyo) for every
tool that converts it for display (BI tools, BigQuery's console, `DATETIME(ts, 'Asia/Tokyo')`
downstream, which shifts it again), joins wrong against real instants, and breaks on daylight
saving in zones that have it.

## Example
```sql
SELECT TIMESTAMP_ADD(ordered_at, INTERVAL 9 HOUR) AS ordered_at_jst FROM stg.orders
```

## Use instead
```sql
SELECT ordered_at, DATETIME(ordered_at, 'Asia/Tokyo') AS ordered_at_local FROM stg.orders
-- and where a local DATETIME must become an instant: TIMESTAMP(dt, 'Asia/Tokyo')
```
",
};

pub(crate) fn check(cx: &Context<'_>) -> Vec<Finding> {
    super::local_time_output(cx)
        .into_iter()
        .filter_map(|out| {
            let Kind::Timestamp { wall, evidence } = out.kind else {
                return None;
            };
            if wall.is_utc() {
                return None;
            }
            let name = out.name.as_deref().unwrap_or("(unnamed)");
            let (what, fix) = match evidence {
                Some(e) => (e.what, e.fix),
                None => match local_suffix(name, &cx.local) {
                    Some(suffix) => (
                        format!("it is declared TIMESTAMP but named `{suffix}` as local time"),
                        format!(
                            "if it holds {wall} wall-clock time, make it a DATETIME with \
                             `DATETIME(<instant>, '{wall}')`; if it is an instant, drop \
                             `{suffix}` from its name"
                        ),
                    ),
                    None => (
                        format!("its value is {wall} wall-clock time"),
                        RULE.fix.replace("<zone>", &wall.to_string()),
                    ),
                },
            };
            Some(Finding::at_span(
                out.span,
                format!("column `{name}` is a TIMESTAMP holding {wall} wall-clock time: {what}"),
                fix,
            ))
        })
        .collect()
}
