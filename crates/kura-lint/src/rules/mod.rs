//! The rules, one file each, and the registry that orders them.
//!
//! A rule is a [`Rule`] (its stable code, name and documentation) and a `check` function
//! that turns a [`Context`] into [`Finding`]s. Codes never change and are never reused;
//! a retired rule keeps its code out of circulation.

use sqlparser::ast::Spanned;
use sqlparser::tokenizer::{Location, Span};

use crate::config::{LintConfig, Severity};
use crate::facts::ModelFacts;
use crate::query::{column_kinds, Projection};
use crate::time::{local_suffix, name_hint, Classifier, Kind, Zone};

mod column_not_snake_case;
mod foreign_instant_as_datetime;
mod local_time_as_timestamp;
mod mart_missing_description;
mod mart_missing_owner;
mod raw_read_outside_staging;
mod select_star_in_mart;
mod table_rebuilt_more_than_read;

/// A lint rule: what `kura lint --explain <code>` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, such as `K201`: the hundreds digit is the family (1 layering,
    /// 2 time zones, 3 naming and shape, 4 documentation, 5 cost).
    pub code: &'static str,
    /// Kebab-case name, read as "allow <name>".
    pub name: &'static str,
    /// Why it matters, in one line.
    pub why: &'static str,
    /// How to fix a finding, in one line; findings carry a more specific fix when they can.
    pub fix: &'static str,
    pub default_severity: Severity,
    /// The long explanation in ruff's sections: What it does, Why is this bad?, Example,
    /// Use instead.
    pub explanation: &'static str,
}

type Check = fn(&Context<'_>) -> Vec<Finding>;

/// Every rule with its check, sorted by code.
const REGISTRY: &[(Rule, Check)] = &[
    (
        raw_read_outside_staging::RULE,
        raw_read_outside_staging::check,
    ),
    (
        local_time_as_timestamp::RULE,
        local_time_as_timestamp::check,
    ),
    (
        foreign_instant_as_datetime::RULE,
        foreign_instant_as_datetime::check,
    ),
    (column_not_snake_case::RULE, column_not_snake_case::check),
    (select_star_in_mart::RULE, select_star_in_mart::check),
    (
        mart_missing_description::RULE,
        mart_missing_description::check,
    ),
    (mart_missing_owner::RULE, mart_missing_owner::check),
    (
        table_rebuilt_more_than_read::RULE,
        table_rebuilt_more_than_read::check,
    ),
];

const RULES: [Rule; REGISTRY.len()] = {
    let mut out = [REGISTRY[0].0; REGISTRY.len()];
    let mut i = 0;
    while i < REGISTRY.len() {
        out[i] = REGISTRY[i].0;
        i += 1;
    }
    out
};

/// Every rule, sorted by code: for `kura lint --explain` and generated docs.
pub fn rules() -> &'static [Rule] {
    &RULES
}

/// The rule with this code, such as `"K201"`.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

pub(crate) fn checks() -> impl Iterator<Item = (&'static Rule, Check)> {
    REGISTRY.iter().map(|(rule, check)| (rule, *check))
}

/// One problem a rule found, before ignores, severities and file positions are applied.
pub(crate) struct Finding {
    /// Where in the statement; `None` for model-level findings, reported at the file's start.
    pub at: Option<Location>,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub(crate) fn at_span(span: Span, message: String, fix: String) -> Finding {
        let at = (span.start.line > 0).then_some(span.start);
        Finding { at, message, fix }
    }

    pub(crate) fn for_model(message: String, fix: String) -> Finding {
        Finding {
            at: None,
            message,
            fix,
        }
    }
}

/// What the rules share: the facts, the settings, and analysis done once per model.
pub(crate) struct Context<'a> {
    pub facts: &'a ModelFacts<'a>,
    pub config: &'a LintConfig,
    pub local: Zone,
    pub projection: Projection<'a>,
    /// Time kinds of columns the statement's CTEs and subqueries produce.
    pub scope: std::collections::BTreeMap<String, Kind>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(facts: &'a ModelFacts<'a>, config: &'a LintConfig) -> Self {
        let local = Zone::parse(config.local_zone());
        let projection = Projection::of(facts.statement);
        let scope = column_kinds(facts.statement, &projection.selects, &local);
        Context {
            facts,
            config,
            local,
            projection,
            scope,
        }
    }

    pub(crate) fn is_mart(&self) -> bool {
        self.config.is_mart(self.facts.dataset)
    }

    /// Where the output's `*` is, else the statement's start: for findings about columns the
    /// SQL does not name.
    pub(crate) fn star_span(&self) -> Span {
        self.projection
            .wildcards
            .first()
            .map(|w| w.span())
            .unwrap_or_else(|| self.facts.statement.span())
    }
}

/// An output column whose time kind is known, for K201 and K202.
pub(crate) struct TimedOutput {
    pub name: Option<String>,
    pub span: Span,
    pub kind: Kind,
}

/// The time kinds of the output columns: from each projection expression, and for columns
/// only a `*` produces, from the statement's inner columns or the declared type and name.
pub(crate) fn local_time_output(cx: &Context<'_>) -> Vec<TimedOutput> {
    let classifier = Classifier {
        local: &cx.local,
        scope: &cx.scope,
        shadow: None,
    };
    let mut out = Vec::new();
    for column in &cx.projection.columns {
        let kind = classifier.classify(column.expr);
        let declared = column
            .name
            .as_deref()
            .and_then(|n| cx.facts.declared_type(n));
        if let Some(kind) = reconcile(kind, declared.as_deref(), column.name.as_deref(), &cx.local)
        {
            let span = column.expr.span();
            let span = if span.start.line > 0 {
                span
            } else {
                column.name_span
            };
            out.push(TimedOutput {
                // An unnamed column is shown as its expression.
                name: Some(
                    column
                        .name
                        .clone()
                        .unwrap_or_else(|| column.expr.to_string()),
                ),
                span,
                kind,
            });
        }
    }
    if cx.projection.wildcards.is_empty() {
        return out;
    }
    let named: Vec<String> = cx
        .projection
        .columns
        .iter()
        .filter(|c| c.branch == 0)
        .filter_map(|c| c.name.as_deref().map(str::to_ascii_lowercase))
        .collect();
    for (name, ty) in cx.facts.output_columns.unwrap_or_default() {
        let lower = name.to_ascii_lowercase();
        if named.contains(&lower) {
            continue;
        }
        let kind = cx.scope.get(&lower).cloned();
        let declared = ty.trim().to_ascii_uppercase();
        if let Some(kind) = reconcile(kind, Some(&declared), Some(name), &cx.local) {
            out.push(TimedOutput {
                name: Some(name.clone()),
                span: cx.star_span(),
                kind,
            });
        }
    }
    out
}

/// Combines what the expression says with the engine's declared type, when given.
///
/// The declared type wins: the classifier guesses types only from names and from
/// `x + INTERVAL`. With a declared type and an expression that says nothing, the column's own
/// name may decide, conservatively: only `_local`/zone-abbreviation and `_utc` suffixes.
fn reconcile(
    kind: Option<Kind>,
    declared: Option<&str>,
    name: Option<&str>,
    local: &Zone,
) -> Option<Kind> {
    let Some(declared) = declared else {
        return kind;
    };
    if declared != "TIMESTAMP" && declared != "DATETIME" {
        return None;
    }
    let named_utc = name.is_some_and(|n| n.to_ascii_lowercase().ends_with("_utc"));
    let named_local = name.is_some_and(|n| local_suffix(n, local).is_some());
    let kind = match kind {
        Some(kind) => kind,
        None if named_utc || named_local => name_hint(name?, local)?,
        None => return None,
    };
    match (&kind, declared) {
        // An instant guessed from a name like `*_at`, declared DATETIME: which zone its wall
        // clock is in is unknown, unless the name says UTC.
        (Kind::Timestamp { wall, .. }, "DATETIME") if wall.is_utc() && !named_utc => None,
        _ => kind.into_type(declared),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sorted() {
        let codes: Vec<&str> = rules().iter().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        assert_eq!(codes.len(), 8);
    }

    #[test]
    fn names_are_unique_kebab_case_and_rules_documented() {
        let mut names: Vec<&str> = rules().iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), rules().len());
        for r in rules() {
            assert!(
                r.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                r.name
            );
            assert!(r.code.starts_with('K') && r.code.len() == 4, "{}", r.code);
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ] {
                assert!(
                    r.explanation.contains(section),
                    "{} lacks {section}",
                    r.code
                );
            }
            assert!(!r.why.is_empty() && !r.fix.is_empty(), "{}", r.code);
        }
    }

    #[test]
    fn rule_finds_by_code() {
        assert_eq!(
            rule("K201").map(|r| r.name),
            Some("local-time-as-timestamp")
        );
        assert!(rule("K999").is_none());
    }
}
