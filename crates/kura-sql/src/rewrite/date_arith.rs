//! `DATE_ADD`/`DATE_SUB`/`DATE_DIFF` and their `DATETIME_` and `TIMESTAMP_` forms.
//!
//! `X_ADD(x, INTERVAL n unit)` becomes `x + INTERVAL 'n unit'` (DataFusion's month arithmetic
//! clamps to the month's last day, as GoogleSQL does: 2008-01-31 + 1 MONTH = 2008-02-29).
//! `WEEK` is 7 days and `QUARTER` 3 months. `n` must be an integer literal for now.
//!
//! `X_DIFF(a, b, part)` counts part boundaries for calendar parts, as GoogleSQL does:
//! `DAY` and larger on dates (and on `DATETIME_DIFF`), `WEEK`/`WEEK(<weekday>)`/`ISOWEEK` as
//! the difference of the truncated weeks, `MONTH`/`QUARTER`/`YEAR` from their numbers. Time
//! parts (and `TIMESTAMP_DIFF(…, DAY)`, which counts 24-hour periods) divide the difference in
//! microseconds (kura's `unix_micros`), truncating toward zero.

use sqlparser::ast::{BinaryOperator, CastKind, DataType, Expr, UnaryOperator, Value};

use super::date_trunc::interval;
use super::{call, function_name, keyword_arg, number_lit, plain_args, string_lit, unsupported};
use crate::SqlError;

pub(super) fn rewrite(expr: &mut Expr) -> Result<(), SqlError> {
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    let name = function_name(f);
    // Checked before the arguments are copied: most calls are not date arithmetic.
    if !(name.ends_with("_ADD") || name.ends_with("_SUB") || name.ends_with("_DIFF")) {
        return Ok(());
    }
    let Some(args) = plain_args(f) else {
        return Ok(());
    };
    let replacement = match name.as_str() {
        "DATE_ADD" | "DATETIME_ADD" | "TIMESTAMP_ADD" | "DATE_SUB" | "DATETIME_SUB"
        | "TIMESTAMP_SUB" => {
            let [value, amount] = args.as_slice() else {
                return Ok(());
            };
            let op = if name.ends_with("_ADD") {
                BinaryOperator::Plus
            } else {
                BinaryOperator::Minus
            };
            let Some(text) = interval_text(amount) else {
                return Err(unsupported(
                    format!("{name} with {amount}"),
                    expr,
                    "write the interval as INTERVAL <integer literal> <unit>",
                ));
            };
            let shifted = Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(value.clone()),
                op,
                right: Box::new(interval(&text)),
            }));
            if name.starts_with("DATE_") {
                cast(shifted, DataType::Date)
            } else {
                shifted
            }
        }
        "DATE_DIFF" | "DATETIME_DIFF" | "TIMESTAMP_DIFF" => {
            let [a, b, part] = args.as_slice() else {
                return Ok(());
            };
            match diff(&name, a, b, part)? {
                Some(e) => e,
                None => {
                    return Err(unsupported(
                        format!("{name} by {part}"),
                        expr,
                        "use MICROSECOND, MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, ISOWEEK, MONTH, QUARTER or YEAR",
                    ))
                }
            }
        }
        _ => return Ok(()),
    };
    *expr = replacement;
    Ok(())
}

/// `INTERVAL 3 DAY` → `"3 days"`; `None` when the amount is not an integer literal.
pub(super) fn interval_text(e: &Expr) -> Option<String> {
    let Expr::Interval(iv) = e else {
        return None;
    };
    if iv.last_field.is_some() {
        return None;
    }
    let n = integer_literal(&iv.value)?;
    let unit = iv.leading_field.as_ref()?.to_string().to_uppercase();
    Some(match unit.as_str() {
        "MICROSECOND" => format!("{n} microseconds"),
        "MILLISECOND" => format!("{n} milliseconds"),
        "SECOND" => format!("{n} seconds"),
        "MINUTE" => format!("{n} minutes"),
        "HOUR" => format!("{n} hours"),
        "DAY" => format!("{n} days"),
        "WEEK" => format!("{} days", n * 7),
        "MONTH" => format!("{n} months"),
        "QUARTER" => format!("{} months", n * 3),
        "YEAR" => format!("{n} years"),
        _ => return None,
    })
}

fn integer_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            Value::SingleQuotedString(s) => s.trim().parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => integer_literal(expr).map(|n| -n),
        Expr::Nested(inner) => integer_literal(inner),
        _ => None,
    }
}

fn diff(name: &str, a: &Expr, b: &Expr, part: &Expr) -> Result<Option<Expr>, SqlError> {
    let timestamp = name == "TIMESTAMP_DIFF";
    let keyword = keyword_arg(part);
    let micros_per = match keyword.as_deref() {
        Some("MICROSECOND") => Some(1),
        Some("MILLISECOND") => Some(1_000),
        Some("SECOND") => Some(1_000_000),
        Some("MINUTE") => Some(60_000_000),
        Some("HOUR") => Some(3_600_000_000),
        Some("DAY") if timestamp => Some(86_400_000_000),
        _ => None,
    };
    if let Some(k) = micros_per {
        let d = minus(
            call("unix_micros", vec![a.clone()]),
            call("unix_micros", vec![b.clone()]),
        );
        return Ok(Some(if k == 1 {
            d
        } else {
            paren(Expr::BinaryOp {
                left: Box::new(d),
                op: BinaryOperator::Divide,
                right: Box::new(number_lit(k)),
            })
        }));
    }
    let is_week = matches!(keyword.as_deref(), Some("WEEK" | "ISOWEEK"))
        || matches!(part, Expr::Function(f) if function_name(f) == "WEEK");
    if is_week {
        let weeks = |x: &Expr| {
            let mut t = call(
                "DATE_TRUNC",
                vec![cast(x.clone(), DataType::Date), part.clone()],
            );
            super::date_trunc::rewrite(&mut t).map(|()| days(t))
        };
        let d = minus(weeks(a)?, weeks(b)?);
        return Ok(Some(paren(Expr::BinaryOp {
            left: Box::new(d),
            op: BinaryOperator::Divide,
            right: Box::new(number_lit(7)),
        })));
    }
    let field = |unit: &str, x: &Expr| bigint(call("date_part", vec![string_lit(unit), x.clone()]));
    let scaled = |x: &Expr, per: i64, unit: &str| {
        paren(Expr::BinaryOp {
            left: Box::new(paren(Expr::BinaryOp {
                left: Box::new(field("year", x)),
                op: BinaryOperator::Multiply,
                right: Box::new(number_lit(per)),
            })),
            op: BinaryOperator::Plus,
            right: Box::new(field(unit, x)),
        })
    };
    Ok(match keyword.as_deref() {
        Some("DAY") => Some(minus(days(a.clone()), days(b.clone()))),
        Some("MONTH") => Some(minus(scaled(a, 12, "month"), scaled(b, 12, "month"))),
        Some("QUARTER") => Some(minus(scaled(a, 4, "quarter"), scaled(b, 4, "quarter"))),
        Some("YEAR") => Some(minus(field("year", a), field("year", b))),
        _ => None,
    })
}

/// Days since 1970-01-01 of a date (or of the date part of a datetime).
fn days(x: Expr) -> Expr {
    bigint(cast(cast(x, DataType::Date), DataType::Int(None)))
}

fn bigint(x: Expr) -> Expr {
    cast(x, DataType::BigInt(None))
}

fn cast(x: Expr, data_type: DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(x),
        data_type,
        array: false,
        format: None,
    }
}

fn minus(a: Expr, b: Expr) -> Expr {
    paren(Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::Minus,
        right: Box::new(b),
    })
}

fn paren(e: Expr) -> Expr {
    Expr::Nested(Box::new(e))
}
