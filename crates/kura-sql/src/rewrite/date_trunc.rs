//! `DATE_TRUNC(d, part)`, `DATETIME_TRUNC(dt, part)`, `TIMESTAMP_TRUNC(ts, part)`.
//!
//! GoogleSQL puts the value first and the part as a bare keyword; DataFusion's `date_trunc`
//! takes the part as a string first and always returns a timestamp. Parts:
//! `MICROSECOND`…`HOUR`, `DAY`, `ISOWEEK` and `WEEK(MONDAY)` (DataFusion's ISO `week`),
//! `WEEK` = `WEEK(SUNDAY)` and other `WEEK(<weekday>)` (shifted to a Monday week and back),
//! `MONTH`, `QUARTER`, `YEAR`. `DATE_TRUNC` casts back to `DATE`.
//!
//! Not yet: `ISOYEAR`, and `TIMESTAMP_TRUNC`'s third (time zone) argument; both are rejected.

use sqlparser::ast::{BinaryOperator, CastKind, DataType, Expr, Interval};

use super::{call, function_name, keyword_arg, plain_args, string_lit, unsupported};
use crate::SqlError;

pub(super) fn rewrite(expr: &mut Expr) -> Result<(), SqlError> {
    let Expr::Function(f) = expr else {
        return Ok(());
    };
    let name = function_name(f);
    let is_date = match name.as_str() {
        "DATE_TRUNC" => true,
        "DATETIME_TRUNC" | "TIMESTAMP_TRUNC" => false,
        _ => return Ok(()),
    };
    let Some(args) = plain_args(f) else {
        return Ok(());
    };
    let (value, part) = match args.as_slice() {
        [value, part] => (value.clone(), part.clone()),
        [_, _, _] => {
            return Err(unsupported(
                format!("{name} with a time zone argument"),
                expr,
                "convert first: TIMESTAMP_TRUNC(TIMESTAMP(DATETIME(ts, tz)), part)",
            ))
        }
        _ => return Ok(()),
    };
    // DataFusion's own spelling, `date_trunc('month', x)`, passes through untouched.
    if matches!(value, Expr::Value(_)) && keyword_arg(&part).is_none() {
        return Ok(());
    }
    let Some(shape) = truncation(&part) else {
        return Err(unsupported(
            format!("{name} to {part}"),
            expr,
            "use one of MICROSECOND, MILLISECOND, SECOND, MINUTE, HOUR, DAY, WEEK, WEEK(<weekday>), ISOWEEK, MONTH, QUARTER, YEAR",
        ));
    };
    let truncated = match shape {
        Truncation::Plain(unit) => call("date_trunc", vec![string_lit(unit), value]),
        Truncation::Week {
            days_after_monday: 0,
        } => call("date_trunc", vec![string_lit("week"), value]),
        Truncation::Week { days_after_monday } => {
            // A week starting on weekday W is the Monday week of (x - W days), moved W days on.
            let shifted = shift(value, BinaryOperator::Minus, days_after_monday);
            shift(
                call("date_trunc", vec![string_lit("week"), shifted]),
                BinaryOperator::Plus,
                days_after_monday,
            )
        }
    };
    *expr = if is_date {
        Expr::Cast {
            kind: CastKind::Cast,
            expr: Box::new(truncated),
            data_type: DataType::Date,
            array: false,
            format: None,
        }
    } else {
        truncated
    };
    Ok(())
}

enum Truncation {
    Plain(&'static str),
    Week { days_after_monday: i64 },
}

fn truncation(part: &Expr) -> Option<Truncation> {
    if let Some(k) = keyword_arg(part) {
        return Some(match k.as_str() {
            "MICROSECOND" => Truncation::Plain("microsecond"),
            "MILLISECOND" => Truncation::Plain("millisecond"),
            "SECOND" => Truncation::Plain("second"),
            "MINUTE" => Truncation::Plain("minute"),
            "HOUR" => Truncation::Plain("hour"),
            "DAY" => Truncation::Plain("day"),
            "WEEK" => Truncation::Week {
                days_after_monday: 6,
            },
            "ISOWEEK" => Truncation::Week {
                days_after_monday: 0,
            },
            "MONTH" => Truncation::Plain("month"),
            "QUARTER" => Truncation::Plain("quarter"),
            "YEAR" => Truncation::Plain("year"),
            _ => return None,
        });
    }
    // WEEK(<weekday>)
    let Expr::Function(f) = part else {
        return None;
    };
    if function_name(f) != "WEEK" {
        return None;
    }
    let args = plain_args(f)?;
    let [day] = args.as_slice() else {
        return None;
    };
    let days_after_monday = match keyword_arg(day)?.as_str() {
        "MONDAY" => 0,
        "TUESDAY" => 1,
        "WEDNESDAY" => 2,
        "THURSDAY" => 3,
        "FRIDAY" => 4,
        "SATURDAY" => 5,
        "SUNDAY" => 6,
        _ => return None,
    };
    Some(Truncation::Week { days_after_monday })
}

/// `x ± INTERVAL 'n days'`.
pub(crate) fn shift(x: Expr, op: BinaryOperator, days: i64) -> Expr {
    Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(x),
        op,
        right: Box::new(interval(&format!("{days} days"))),
    }))
}

pub(crate) fn interval(text: &str) -> Expr {
    Expr::Interval(Interval {
        value: Box::new(string_lit(text)),
        leading_field: None,
        leading_precision: None,
        last_field: None,
        fractional_seconds_precision: None,
    })
}
