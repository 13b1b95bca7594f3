//! kura's convention lint for SQL models: layering, time zones, naming, documentation, cost.
//!
//! `kura lint` (through kura-models) gathers [`ModelFacts`] for each model (its parsed SQL,
//! header, and optionally the engine's output schema and the query log's usage) and calls
//! [`lint_model`], which runs every rule and returns [`Diagnostic`]s with file positions,
//! severities after the project's overrides, and a fix. This crate never reads files or
//! touches the warehouse, so rules are tested on facts stated in the test.
//!
//! # The time-zone convention
//!
//! A project has one local zone (`[lint] local_zone`, default `Asia/Tokyo`). Wall-clock
//! values in that zone are stored as `DATETIME`; every other point in time is a UTC instant
//! stored as `TIMESTAMP`. So a `TIMESTAMP` never holds local time (the classic JST hack
//! `TIMESTAMP_ADD(ts, INTERVAL 9 HOUR)` is K201), and a `DATETIME` never holds UTC or another
//! zone's wall clock (`DATETIME(ts)` with no zone is K202). Convert with
//! `DATETIME(ts, 'Asia/Tokyo')` and `TIMESTAMP(dt, 'Asia/Tokyo')`.
//!
//! # The rules
//!
//! Codes are stable and never reused; [`rules`] lists them with their full explanation.
//!
//! | code | name | default | reports |
//! |------|------|---------|---------|
//! | K101 | `raw-read-outside-staging` | error | a non-staging model reading a raw dataset |
//! | K201 | `local-time-as-timestamp` | error | an output TIMESTAMP holding local wall-clock time |
//! | K202 | `foreign-instant-as-datetime` | error | an output DATETIME in UTC or another zone |
//! | K301 | `column-not-snake-case` | warn | an output column name not in lower snake_case |
//! | K302 | `select-star-in-mart` | warn | `*` in a mart's outermost SELECT |
//! | K401 | `mart-missing-description` | warn | a mart without `description` in its header |
//! | K402 | `mart-missing-owner` | warn | a mart without `owner` in its header |
//! | K501 | `table-rebuilt-more-than-read` | warn | a table rebuilt more often than read |
//!
//! Layering and time-zone rules are errors because they produce wrong numbers silently;
//! naming, documentation and cost are warnings because the data is still right.
//!
//! K201 and K202 infer each output column's time kind from its expression (see the `time`
//! module), following column names through the statement's CTEs and subqueries. What the
//! expression cannot tell is not reported, except for a few name conventions applied when
//! the caller supplies the engine's column types ([`ModelFacts::output_columns`]).
//!
//! Findings are dropped when their code is in the project's `[lint] ignore` or the model
//! header's `lint_ignore`; `[lint] severity` changes a rule's severity.

mod config;
mod diagnostic;
mod facts;
mod query;
mod rules;
mod time;

#[cfg(test)]
mod tests;

pub use config::{validate_codes, LintConfig, LintError, Severity, DEFAULT_LOCAL_ZONE};
pub use diagnostic::Diagnostic;
pub use facts::{Materialization, ModelFacts, Usage};
pub use rules::{rule, rules, Rule};

/// Runs every rule on one model.
///
/// Diagnostics come sorted by position, then code. Positions are in the model's file: a
/// statement position's line plus [`ModelFacts::header_lines`]; model-level findings (K401,
/// K402, K501) are placed at 1:1. Codes in `config.ignore` or `facts.ignore` are skipped;
/// their validity is the caller's to check ([`LintConfig::validate`], [`validate_codes`]).
pub fn lint_model(facts: &ModelFacts<'_>, config: &LintConfig) -> Vec<Diagnostic> {
    let cx = rules::Context::new(facts, config);
    let ignored = |code: &str| config.ignore.iter().chain(facts.ignore).any(|c| c == code);
    let offset = u64::try_from(facts.header_lines).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for (rule, check) in rules::checks() {
        if ignored(rule.code) {
            continue;
        }
        for finding in check(&cx) {
            let (line, column) = match finding.at {
                Some(at) => (at.line.saturating_add(offset), at.column),
                None => (1, 1),
            };
            out.push(Diagnostic {
                code: rule.code,
                name: rule.name,
                severity: config.severity_of(rule.code, rule.default_severity),
                model: facts.name.to_string(),
                path: facts.path.to_path_buf(),
                line,
                column,
                message: finding.message,
                fix: finding.fix,
            });
        }
    }
    out.sort_by(|a, b| (a.line, a.column, a.code).cmp(&(b.line, b.column, b.code)));
    out
}
