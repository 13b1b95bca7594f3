//! What kind of time value an expression produces: the inference behind K201 and K202.
//!
//! Every TIMESTAMP is modelled by the zone whose wall clock its UTC reading shows: a true
//! instant shows UTC; `TIMESTAMP_ADD(ts, INTERVAL 9 HOUR)` shows Tokyo's wall clock while
//! claiming to be an instant. Every DATETIME is modelled by the zone its wall clock is in.
//! Functions move values between the two (`DATETIME(ts, zone)`, `TIMESTAMP(dt, zone)`) and
//! [`Classifier::classify`] follows them. It knows the GoogleSQL date and time functions that
//! decide a zone and passes kinds through the ones that keep it (`MIN`, `COALESCE`,
//! `TIMESTAMP_TRUNC`, ...); anything else is unknown and never reported.

use std::collections::BTreeMap;
use std::fmt;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, DateTimeField, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, Interval, UnaryOperator, Value,
};

/// A time zone as written in SQL or config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Zone {
    Utc,
    Named(String),
}

impl Zone {
    pub(crate) fn parse(text: &str) -> Zone {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        let utc_names = [
            "UTC",
            "ETC/UTC",
            "GMT",
            "ETC/GMT",
            "UCT",
            "ETC/UCT",
            "Z",
            "ZULU",
            "UNIVERSAL",
            "ETC/UNIVERSAL",
        ];
        if utc_names.contains(&upper.as_str()) || fixed_offset(t) == Some(0) {
            Zone::Utc
        } else {
            Zone::Named(t.to_string())
        }
    }

    /// The UTC offsets in minutes the zone takes during a year, when kura knows them.
    pub(crate) fn offsets(&self) -> Option<Vec<i32>> {
        match self {
            Zone::Utc => Some(vec![0]),
            Zone::Named(name) => fixed_offset(name)
                .map(|m| vec![m])
                .or_else(|| known_zone(name).map(|(offsets, _)| offsets.to_vec())),
        }
    }

    /// Whether two zones show the same wall clock all year.
    pub(crate) fn same_as(&self, other: &Zone) -> bool {
        match (self, other) {
            (Zone::Utc, Zone::Utc) => true,
            (Zone::Named(a), Zone::Named(b)) if a.eq_ignore_ascii_case(b) => true,
            (Zone::Named(_), Zone::Named(_)) => match (self.offsets(), other.offsets()) {
                (Some(a), Some(b)) => a.len() == 1 && a == b,
                _ => false,
            },
            _ => false,
        }
    }

    pub(crate) fn is_utc(&self) -> bool {
        matches!(self, Zone::Utc)
    }

    /// Column-name suffixes that say "local wall-clock time in this zone": `local` and the
    /// zone's common abbreviations (`jst` for Asia/Tokyo).
    pub(crate) fn suffixes(&self) -> Vec<&'static str> {
        let mut out = vec!["local"];
        if let Zone::Named(name) = self {
            if let Some((_, abbreviations)) = known_zone(name) {
                out.extend_from_slice(abbreviations);
            }
        }
        out
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Utc => f.write_str("UTC"),
            Zone::Named(name) => f.write_str(name),
        }
    }
}

/// `+09:00`, `+0900`, `-5`, `UTC+9`: minutes east of UTC.
fn fixed_offset(text: &str) -> Option<i32> {
    let upper = text.trim().to_ascii_uppercase();
    let rest = upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
        .unwrap_or(&upper);
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() == 4 => digits.split_at(2),
        None => (digits, "0"),
    };
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// Offsets (minutes, standard then daylight) and name suffixes for zones kura knows without a
/// time-zone database. A zone not listed still works everywhere except shift detection
/// (`ts + INTERVAL 9 HOUR`), which needs the offset, and abbreviation suffixes.
fn known_zone(name: &str) -> Option<(&'static [i32], &'static [&'static str])> {
    const ZONES: &[(&str, &[i32], &[&str])] = &[
        ("Asia/Tokyo", &[540], &["jst"]),
        ("Japan", &[540], &["jst"]),
        ("Asia/Seoul", &[540], &["kst"]),
        ("Asia/Shanghai", &[480], &[]),
        ("Asia/Hong_Kong", &[480], &["hkt"]),
        ("Asia/Singapore", &[480], &["sgt"]),
        ("Asia/Taipei", &[480], &[]),
        ("Asia/Manila", &[480], &[]),
        ("Asia/Bangkok", &[420], &[]),
        ("Asia/Jakarta", &[420], &["wib"]),
        ("Asia/Ho_Chi_Minh", &[420], &[]),
        ("Asia/Kolkata", &[330], &["ist"]),
        ("Asia/Calcutta", &[330], &["ist"]),
        ("Asia/Dubai", &[240], &[]),
        ("Europe/London", &[0, 60], &["bst"]),
        ("Europe/Dublin", &[0, 60], &[]),
        ("Europe/Lisbon", &[0, 60], &[]),
        ("Europe/Paris", &[60, 120], &["cet", "cest"]),
        ("Europe/Berlin", &[60, 120], &["cet", "cest"]),
        ("Europe/Madrid", &[60, 120], &["cet", "cest"]),
        ("Europe/Rome", &[60, 120], &["cet", "cest"]),
        ("Europe/Amsterdam", &[60, 120], &["cet", "cest"]),
        ("Europe/Zurich", &[60, 120], &["cet", "cest"]),
        ("Europe/Stockholm", &[60, 120], &["cet", "cest"]),
        ("Europe/Helsinki", &[120, 180], &["eet", "eest"]),
        ("Europe/Athens", &[120, 180], &["eet", "eest"]),
        ("Europe/Moscow", &[180], &["msk"]),
        ("America/New_York", &[-300, -240], &["est", "edt"]),
        ("America/Toronto", &[-300, -240], &["est", "edt"]),
        ("America/Chicago", &[-360, -300], &[]),
        ("America/Denver", &[-420, -360], &["mst", "mdt"]),
        ("America/Phoenix", &[-420], &["mst"]),
        ("America/Los_Angeles", &[-480, -420], &["pst", "pdt"]),
        ("America/Vancouver", &[-480, -420], &["pst", "pdt"]),
        ("America/Sao_Paulo", &[-180], &["brt"]),
        ("America/Mexico_City", &[-360], &[]),
        ("Pacific/Honolulu", &[-600], &["hst"]),
        ("Australia/Sydney", &[600, 660], &["aest", "aedt"]),
        ("Australia/Melbourne", &[600, 660], &["aest", "aedt"]),
        ("Australia/Brisbane", &[600], &["aest"]),
        ("Australia/Perth", &[480], &["awst"]),
        ("Pacific/Auckland", &[720, 780], &["nzst", "nzdt"]),
    ];
    ZONES
        .iter()
        .find(|(zone, _, _)| zone.eq_ignore_ascii_case(name))
        .map(|(_, offsets, abbreviations)| (*offsets, *abbreviations))
}

/// Why a value is in the zone it is in, kept for the message and fix of a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// Completes "column `x` is ... : {what}".
    pub what: String,
    pub fix: String,
}

/// The time kind of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A TIMESTAMP whose UTC reading is the wall clock of `wall`: a true instant when `wall`
    /// is UTC, a disguised local time otherwise.
    Timestamp {
        wall: Zone,
        evidence: Option<Box<Evidence>>,
    },
    /// A DATETIME holding wall-clock time in `zone`.
    Datetime {
        zone: Zone,
        evidence: Option<Box<Evidence>>,
    },
    /// A DATE: a calendar day, no zone question for these rules.
    Date,
}

impl Kind {
    fn instant() -> Kind {
        Kind::Timestamp {
            wall: Zone::Utc,
            evidence: None,
        }
    }

    fn timestamp(wall: Zone, evidence: Option<Evidence>) -> Kind {
        Kind::Timestamp {
            wall,
            evidence: evidence.map(Box::new),
        }
    }

    fn datetime(zone: Zone, evidence: Option<Evidence>) -> Kind {
        Kind::Datetime {
            zone,
            evidence: evidence.map(Box::new),
        }
    }

    /// Equal as values, whatever the evidence.
    pub(crate) fn same_as(&self, other: &Kind) -> bool {
        match (self, other) {
            (Kind::Timestamp { wall: a, .. }, Kind::Timestamp { wall: b, .. })
            | (Kind::Datetime { zone: a, .. }, Kind::Datetime { zone: b, .. }) => a.same_as(b),
            (Kind::Date, Kind::Date) => true,
            _ => false,
        }
    }

    /// The same reading taken as the other type, when the engine's schema says the
    /// expression's type differs from what the classifier guessed (only name hints guess).
    pub(crate) fn into_type(self, declared: &str) -> Option<Kind> {
        let (zone, evidence) = match self {
            Kind::Timestamp { wall, evidence } => (wall, evidence),
            Kind::Datetime { zone, evidence } => (zone, evidence),
            Kind::Date => return (declared == "DATE").then_some(Kind::Date),
        };
        match declared {
            "TIMESTAMP" => Some(Kind::Timestamp {
                wall: zone,
                evidence,
            }),
            "DATETIME" => Some(Kind::Datetime { zone, evidence }),
            _ => None,
        }
    }
}

/// Classifies expressions, resolving column names through `scope` (the kinds of columns the
/// statement's own CTEs and subqueries produce) and, failing that, through name hints.
pub(crate) struct Classifier<'a> {
    pub local: &'a Zone,
    pub scope: &'a BTreeMap<String, Kind>,
    /// A lower-cased name not to look up in `scope`.
    pub shadow: Option<&'a str>,
}

impl Classifier<'_> {
    /// The kind of value `expr` produces; `None` when unknown.
    pub(crate) fn classify(&self, expr: &Expr) -> Option<Kind> {
        match expr {
            Expr::Nested(inner) => self.classify(inner),
            Expr::Identifier(ident) => self.column(&ident.value),
            Expr::CompoundIdentifier(parts) => self.column(&parts.last()?.value),
            Expr::Function(f) => self.function(f),
            Expr::Cast {
                kind,
                expr: inner,
                data_type,
                ..
            } => {
                let call = match kind {
                    CastKind::SafeCast | CastKind::TryCast => "SAFE_CAST",
                    _ => "CAST",
                };
                match data_type {
                    DataType::Timestamp(..) => {
                        self.to_timestamp(inner, None, &format!("{call}({inner} AS TIMESTAMP)"))
                    }
                    DataType::Datetime(..) => {
                        self.to_datetime(inner, None, &format!("{call}({inner} AS DATETIME)"))
                    }
                    DataType::Date => Some(Kind::Date),
                    _ => None,
                }
            }
            Expr::BinaryOp { left, op, right } => {
                let sign = match op {
                    BinaryOperator::Plus => 1,
                    BinaryOperator::Minus => -1,
                    _ => return None,
                };
                match (left.as_ref(), right.as_ref()) {
                    (value, Expr::Interval(interval)) => self.shifted(expr, value, interval, sign),
                    (Expr::Interval(interval), value) if sign == 1 => {
                        self.shifted(expr, value, interval, 1)
                    }
                    _ => None,
                }
            }
            Expr::Case {
                conditions,
                else_result,
                ..
            } => conditions
                .iter()
                .map(|c| &c.result)
                .chain(else_result.as_deref())
                .find_map(|e| self.classify(e)),
            _ => None,
        }
    }

    fn column(&self, name: &str) -> Option<Kind> {
        let lower = name.to_ascii_lowercase();
        if self.shadow != Some(lower.as_str()) {
            if let Some(kind) = self.scope.get(&lower) {
                return Some(kind.clone());
            }
        }
        match lower.as_str() {
            "current_timestamp" => return Some(Kind::instant()),
            "current_datetime" => return Some(utc_wall_clock("CURRENT_DATETIME", self.local)),
            "current_date" => return Some(Kind::Date),
            _ => {}
        }
        name_hint(&lower, self.local)
    }

    fn function(&self, f: &Function) -> Option<Kind> {
        let name = f.name.0.last()?.as_ident()?.value.to_ascii_uppercase();
        let args = arguments(f);
        let zone = |i: usize| args.get(i).and_then(|e| string_literal(e)).map(Zone::parse);
        let first_known = |skip: usize| args.iter().skip(skip).find_map(|e| self.classify(e));
        let call = f.to_string();
        match name.as_str() {
            "CURRENT_TIMESTAMP" => Some(Kind::instant()),
            "CURRENT_DATETIME" => match zone(0) {
                None if args.is_empty() => Some(utc_wall_clock(&call, self.local)),
                None => None,
                Some(z) => Some(zoned_wall_clock(z, &call, self.local)),
            },
            "CURRENT_DATE" | "DATE" | "DATE_TRUNC" | "DATE_ADD" | "DATE_SUB" | "PARSE_DATE" => {
                Some(Kind::Date)
            }
            "TIMESTAMP_SECONDS" | "TIMESTAMP_MILLIS" | "TIMESTAMP_MICROS" | "PARSE_TIMESTAMP" => {
                Some(Kind::instant())
            }
            "TIMESTAMP" => {
                let value = args.first()?;
                match args.len() {
                    1 => self.to_timestamp(value, None, &call),
                    _ => self.to_timestamp(value, Some(zone(1)?), &call),
                }
            }
            "DATETIME" => match args.len() {
                1 => self.to_datetime(args[0], None, &call),
                2 => match zone(1) {
                    Some(z) => self.to_datetime(args[0], Some(z), &call),
                    // DATETIME(date, time): a wall clock in a zone the inputs do not say.
                    None => None,
                },
                _ => None,
            },
            "TIMESTAMP_ADD" | "TIMESTAMP_SUB" | "DATETIME_ADD" | "DATETIME_SUB" => {
                let sign = if name.ends_with("_SUB") { -1 } else { 1 };
                let value = args.first()?;
                match args.get(1) {
                    Some(Expr::Interval(interval)) => {
                        let kind = match self.classify(value) {
                            None if name.starts_with("TIMESTAMP") => Some(Kind::instant()),
                            kind => kind,
                        };
                        self.shift(&call, value, kind?, interval, sign)
                    }
                    _ => self.classify(value),
                }
            }
            "TIMESTAMP_TRUNC" | "DATETIME_TRUNC" => self.classify(args.first()?),
            "COALESCE" | "IFNULL" | "NULLIF" | "MIN" | "MAX" | "ANY_VALUE" | "FIRST_VALUE"
            | "LAST_VALUE" | "NTH_VALUE" | "LAG" | "LEAD" | "GREATEST" | "LEAST" => first_known(0),
            "IF" => first_known(1),
            _ => None,
        }
    }

    /// `TIMESTAMP(value)`, `TIMESTAMP(value, zone)` or `CAST(value AS TIMESTAMP)`.
    fn to_timestamp(&self, value: &Expr, zone: Option<Zone>, call: &str) -> Option<Kind> {
        let read_in = zone.clone().unwrap_or(Zone::Utc);
        match self.classify(value) {
            Some(Kind::Datetime { zone: wall, .. }) => {
                if wall.same_as(&read_in) {
                    return Some(Kind::instant());
                }
                if !read_in.is_utc() {
                    // A wall clock read in the wrong non-UTC zone: wrong, but not a value
                    // whose UTC reading is any zone's wall clock. Too rare to model.
                    return None;
                }
                let what = match zone {
                    None => {
                        format!("`{call}` reads a {wall} wall-clock DATETIME as if it were UTC")
                    }
                    Some(_) => format!("`{call}` reads a {wall} wall-clock DATETIME as UTC"),
                };
                Some(Kind::timestamp(
                    wall.clone(),
                    Some(Evidence {
                        what,
                        fix: format!(
                            "say the zone the wall clock is in: `TIMESTAMP({value}, '{wall}')`"
                        ),
                    }),
                ))
            }
            Some(kind @ Kind::Timestamp { .. }) => Some(kind),
            Some(Kind::Date) => zone.map(|_| Kind::instant()),
            // A string, or a column of unknown type: with a zone it is read correctly.
            None => zone.map(|_| Kind::instant()),
        }
    }

    /// `DATETIME(value)`, `DATETIME(value, zone)` or `CAST(value AS DATETIME)`.
    fn to_datetime(&self, value: &Expr, zone: Option<Zone>, call: &str) -> Option<Kind> {
        match (self.classify(value), zone) {
            (Some(Kind::Timestamp { wall, .. }), None) => {
                if wall.is_utc() {
                    Some(utc_wall_clock(call, self.local))
                } else {
                    // The UTC reading of a disguised local time is that local wall clock.
                    Some(Kind::datetime(wall, None))
                }
            }
            (Some(Kind::Timestamp { wall, .. }), Some(z)) => {
                if wall.is_utc() {
                    Some(zoned_wall_clock(z, call, self.local))
                } else if z.is_utc() {
                    Some(Kind::datetime(wall, None))
                } else {
                    None
                }
            }
            // DATETIME(datetime) is the value itself.
            (Some(kind @ Kind::Datetime { .. }), None) => Some(kind),
            // A zone argument means the value is a TIMESTAMP (or a string read as UTC),
            // whatever was guessed about it.
            (_, Some(z)) => Some(zoned_wall_clock(z, call, self.local)),
            _ => None,
        }
    }

    /// `value + INTERVAL n HOUR` and friends.
    fn shifted(&self, whole: &Expr, value: &Expr, interval: &Interval, sign: i32) -> Option<Kind> {
        // `ts + INTERVAL` has the type of `ts`; when `ts` is unknown, assume a TIMESTAMP
        // (hour shifts of timestamps are the pattern this exists for) unless its name says
        // it is a date. A declared DATETIME type corrects this later (`Kind::into_type`).
        let kind = match self.classify(value) {
            Some(Kind::Date) => return None,
            None if looks_like_date(value) => return None,
            None => Kind::instant(),
            Some(kind) => kind,
        };
        self.shift(&whole.to_string(), value, kind, interval, sign)
    }

    /// A value of `kind` moved by `interval`: shifting an instant by the local offset
    /// disguises it as local time; shifting back undoes that.
    fn shift(
        &self,
        text: &str,
        value: &Expr,
        kind: Kind,
        interval: &Interval,
        sign: i32,
    ) -> Option<Kind> {
        let Some(minutes) = interval_minutes(interval).map(|m| m * sign) else {
            return Some(kind);
        };
        let local_offsets = self.local.offsets().unwrap_or_default();
        let is_local_shift = minutes != 0 && local_offsets.contains(&minutes);
        let undoes = |zone: &Zone| {
            zone.offsets()
                .is_some_and(|o| minutes != 0 && o.contains(&-minutes))
        };
        match kind {
            Kind::Timestamp { wall, .. } if wall.is_utc() && is_local_shift => {
                let hours = format_offset(minutes);
                Some(Kind::timestamp(
                    self.local.clone(),
                    Some(Evidence {
                        what: format!(
                            "`{text}` shifts a UTC instant by {hours}, the {} offset",
                            self.local
                        ),
                        fix: format!(
                            "keep the instant `{value}` as TIMESTAMP and derive local time \
                             where needed with `DATETIME({value}, '{}')`",
                            self.local
                        ),
                    }),
                ))
            }
            Kind::Timestamp { wall, .. } if undoes(&wall) => Some(Kind::instant()),
            Kind::Datetime { zone, .. } if zone.is_utc() && is_local_shift => {
                // UTC wall clock plus the local offset is local wall-clock time (exact only
                // for zones without daylight saving, but it is what the author meant).
                Some(Kind::datetime(self.local.clone(), None))
            }
            Kind::Datetime { zone, .. } if undoes(&zone) => Some(utc_wall_clock(text, self.local)),
            other => Some(other),
        }
    }
}

/// A DATETIME with no zone said: UTC wall-clock time.
fn utc_wall_clock(call: &str, local: &Zone) -> Kind {
    Kind::datetime(
        Zone::Utc,
        Some(Evidence {
            what: format!("`{call}` has no time zone, so it gives UTC wall-clock time"),
            fix: format!(
                "say the zone: {}, or keep the value as a TIMESTAMP instant",
                with_zone(call, local)
            ),
        }),
    )
}

/// A DATETIME in an explicitly named zone.
fn zoned_wall_clock(zone: Zone, call: &str, local: &Zone) -> Kind {
    let evidence = (!zone.same_as(local)).then(|| Evidence {
        what: format!("`{call}` converts to {zone} wall-clock time"),
        fix: format!(
            "convert to the project's zone ('{local}'), or keep the value as a TIMESTAMP \
             instant and convert when presenting it"
        ),
    });
    Kind::datetime(zone, evidence)
}

/// `DATETIME(ts)` becomes "`DATETIME(ts, 'Asia/Tokyo')`", as a fix.
fn with_zone(call: &str, local: &Zone) -> String {
    let upper = call.to_ascii_uppercase();
    if let Some(inner) = upper
        .strip_prefix("CAST(")
        .or_else(|| upper.strip_prefix("SAFE_CAST("))
    {
        if let Some(value) = inner.strip_suffix(" AS DATETIME)") {
            let start = call.len() - inner.len();
            let value = &call[start..start + value.len()];
            return format!("`DATETIME({value}, '{local}')`");
        }
    }
    match call.strip_suffix(')') {
        Some(open) if open.ends_with('(') => format!("`{open}'{local}')`"),
        Some(open) => format!("`{open}, '{local}')`"),
        None => format!("`{call}('{local}')`"),
    }
}

/// A kind from a column's name alone, when nothing else is known. Deliberately few
/// patterns, each a strong convention:
/// - ends in `_local` or the local zone's abbreviation (`_jst`): local wall-clock time;
/// - ends in `_utc`: UTC (an instant, or a UTC wall clock if declared DATETIME);
/// - `ts`, `timestamp`, or ends in `_ts`, `_at`, `_timestamp`: a TIMESTAMP instant.
pub(crate) fn name_hint(name: &str, local: &Zone) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    if local
        .suffixes()
        .iter()
        .any(|s| lower.ends_with(&format!("_{s}")))
    {
        return Some(Kind::datetime(local.clone(), None));
    }
    if lower.ends_with("_utc") {
        return Some(Kind::instant());
    }
    let instant = matches!(lower.as_str(), "ts" | "timestamp")
        || ["_ts", "_at", "_timestamp"]
            .iter()
            .any(|s| lower.ends_with(s));
    instant.then(Kind::instant)
}

/// The suffix that made [`name_hint`] call a name local time, for messages.
pub(crate) fn local_suffix(name: &str, local: &Zone) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    local
        .suffixes()
        .into_iter()
        .map(|s| format!("_{s}"))
        .find(|s| lower.ends_with(s.as_str()))
}

fn looks_like_date(expr: &Expr) -> bool {
    let name = match expr {
        Expr::Identifier(i) => &i.value,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(i) => &i.value,
            None => return false,
        },
        _ => return false,
    };
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "date" | "day" | "dt")
        || ["_date", "_day", "_dt", "_datetime"]
            .iter()
            .any(|s| lower.ends_with(s))
}

fn arguments(f: &Function) -> Vec<&Expr> {
    let FunctionArguments::List(list) = &f.args else {
        return Vec::new();
    };
    list.args
        .iter()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
            | FunctionArg::Named {
                arg: FunctionArgExpr::Expr(e),
                ..
            }
            | FunctionArg::ExprNamed {
                arg: FunctionArgExpr::Expr(e),
                ..
            } => Some(e),
            _ => None,
        })
        .collect()
}

fn string_literal(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s),
            _ => None,
        },
        Expr::Nested(inner) => string_literal(inner),
        _ => None,
    }
}

/// An interval's length in minutes, for whole hours or minutes written as literals.
fn interval_minutes(interval: &Interval) -> Option<i32> {
    let per_unit = match interval.leading_field.as_ref()? {
        DateTimeField::Hour | DateTimeField::Hours => 60,
        DateTimeField::Minute | DateTimeField::Minutes => 1,
        _ => return None,
    };
    if interval.last_field.is_some() {
        return None;
    }
    Some(integer(&interval.value)? * per_unit)
}

fn integer(expr: &Expr) -> Option<i32> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.to_string().parse().ok(),
            Value::SingleQuotedString(s) => s.trim().parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => integer(expr).map(|n| -n),
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        }
        | Expr::Nested(expr) => integer(expr),
        _ => None,
    }
}

fn format_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    if m % 60 == 0 {
        let h = m / 60;
        format!("{sign}{h} hour{}", if h == 1 { "" } else { "s" })
    } else {
        format!("{sign}{m} minutes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_parse_and_compare_by_wall_clock() {
        assert_eq!(Zone::parse("Etc/UTC"), Zone::Utc);
        assert_eq!(Zone::parse("+00:00"), Zone::Utc);
        assert_eq!(fixed_offset("+09:00"), Some(540));
        assert_eq!(fixed_offset("UTC-5"), Some(-300));
        assert_eq!(fixed_offset("+0530"), Some(330));
        assert_eq!(fixed_offset("Asia/Tokyo"), None);
        let tokyo = Zone::parse("Asia/Tokyo");
        assert!(tokyo.same_as(&Zone::parse("asia/tokyo")));
        assert!(tokyo.same_as(&Zone::parse("+09")));
        assert!(tokyo.same_as(&Zone::parse("Japan")));
        assert!(!tokyo.same_as(&Zone::Utc));
        // Daylight saving: no fixed offset is the same zone all year.
        assert!(!Zone::parse("America/New_York").same_as(&Zone::parse("-05:00")));
        assert_eq!(tokyo.suffixes(), vec!["local", "jst"]);
        assert_eq!(Zone::parse("Mars/Olympus").offsets(), None);
    }

    #[test]
    fn name_hints_are_few_and_specific() {
        let tokyo = Zone::parse("Asia/Tokyo");
        assert!(matches!(
            name_hint("ordered_at", &tokyo),
            Some(Kind::Timestamp {
                wall: Zone::Utc,
                ..
            })
        ));
        assert!(matches!(
            name_hint("ordered_JST", &tokyo),
            Some(Kind::Datetime {
                zone: Zone::Named(_),
                ..
            })
        ));
        assert_eq!(name_hint("ordered", &tokyo), None);
        assert_eq!(name_hint("status", &tokyo), None);
        assert_eq!(
            local_suffix("paid_local", &tokyo).as_deref(),
            Some("_local")
        );
    }
}
