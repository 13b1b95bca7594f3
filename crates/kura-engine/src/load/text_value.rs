//! Reading typed values from text: type inference for CSV and JSON strings, and the parsers
//! that turn a field into a value of the column's type.
//!
//! Inference reads the whole file, not a sample, so a float in row two million does not turn a
//! column inferred as INT64 into bad rows. A value without a zone (`2024-05-01 09:30:00`) is a
//! DATETIME, kept as written; only a value that carries a zone or `Z` is a TIMESTAMP. That
//! follows kura's convention that local wall-clock values are DATETIME and instants are UTC.

use arrow::datatypes::{DataType, TimeUnit};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// What a column's values allow, from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextType {
    /// Only empty values so far.
    Null,
    Bool,
    Int,
    Float,
    Date,
    Datetime,
    Timestamp,
    String,
}

impl TextType {
    /// The narrowest type that holds both without loss.
    pub fn merge(self, other: TextType) -> TextType {
        use TextType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, x) | (x, Null) => x,
            (Int, Float) | (Float, Int) => Float,
            (Date, Datetime) | (Datetime, Date) => Datetime,
            _ => String,
        }
    }

    /// The Arrow type a column of this kind is stored as.
    pub fn data_type(self) -> DataType {
        match self {
            TextType::Null | TextType::String => DataType::Utf8,
            TextType::Bool => DataType::Boolean,
            TextType::Int => DataType::Int64,
            TextType::Float => DataType::Float64,
            TextType::Date => DataType::Date32,
            TextType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
            TextType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

/// The narrowest type of one non-empty value.
pub fn classify(s: &str) -> TextType {
    let b = s.as_bytes();
    if b.is_empty() {
        return TextType::Null;
    }
    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
        return TextType::Bool;
    }
    let first = b[0];
    if first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.' {
        if is_int(s) {
            return TextType::Int;
        }
        if b.len() > 1 && b[0] == b'0' && b.iter().all(u8::is_ascii_digit) {
            // A code such as a zip or an account number: keep its leading zeros.
            return TextType::String;
        }
        if b.len() >= 10 && b[4] == b'-' {
            if let Some((_, zone)) = parse_date_time(s) {
                return match zone {
                    Some(_) => TextType::Timestamp,
                    None if b.len() == 10 => TextType::Date,
                    None => TextType::Datetime,
                };
            }
        }
        if is_float(s) {
            return TextType::Float;
        }
    }
    TextType::String
}

/// An integer without leading zeros (so codes like `007` stay text) that fits INT64.
fn is_int(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
        && s.parse::<i64>().is_ok()
}

fn is_float(s: &str) -> bool {
    s.bytes().any(|c| c.is_ascii_digit())
        && s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
        && s.parse::<f64>().is_ok()
}

/// Parses `YYYY-MM-DD`, optionally followed by `[T ]HH:MM[:SS[.fffffffff]]` and a zone
/// (`Z`, `UTC`, `±HH`, `±HH:MM`, `±HHMM`). Returns the wall-clock value and the zone's offset
/// in seconds, if one was given.
pub fn parse_date_time(s: &str) -> Option<(NaiveDateTime, Option<i32>)> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?;
    if b.len() == 10 {
        return Some((date.and_time(NaiveTime::MIN), None));
    }
    if b[10] != b'T' && b[10] != b' ' {
        return None;
    }
    let rest = &b[11..];
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let hour = num(&rest[0..2])?;
    let minute = num(&rest[3..5])?;
    let mut i = 5;
    let mut second = 0;
    let mut nanos = 0u32;
    if rest.len() >= 8 && rest[5] == b':' {
        second = num(&rest[6..8])?;
        i = 8;
        if rest.len() > 8 && rest[8] == b'.' {
            let start = 9;
            let mut end = start;
            while end < rest.len() && rest[end].is_ascii_digit() {
                end += 1;
            }
            let frac = &rest[start..end];
            if frac.is_empty() || frac.len() > 9 {
                return None;
            }
            nanos = num(frac)? * 10u32.pow(9 - frac.len() as u32);
            i = end;
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let zone = parse_zone(&rest[i..])?;
    Some((date.and_time(time), zone))
}

/// `None` for an invalid zone, `Some(None)` for no zone, `Some(Some(offset))` otherwise.
#[allow(clippy::option_option)]
fn parse_zone(z: &[u8]) -> Option<Option<i32>> {
    let z = z.strip_prefix(b" ").unwrap_or(z);
    match z {
        [] => Some(None),
        b"Z" | b"z" | b"UTC" | b"+00:00" => Some(Some(0)),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (num(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (num(&[*h1, *h2])?, num(&[*m1, *m2])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            Some(Some(if *sign == b'-' { -secs } else { secs }))
        }
        _ => None,
    }
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Parses a DATE as days since the epoch.
pub fn parse_date(s: &str) -> Result<i32, String> {
    match parse_date_time(s) {
        Some((dt, None)) if s.len() == 10 => Ok(days_since_epoch(dt.date())),
        _ => Err(format!("`{s}` is not a DATE (expected YYYY-MM-DD)")),
    }
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a valid date")).num_days() as i32
}

/// Parses a DATETIME (a wall-clock value) as microseconds; a value with a zone is refused,
/// because dropping the zone would silently shift it.
pub fn parse_datetime(s: &str) -> Result<i64, String> {
    match parse_date_time(s) {
        Some((dt, None)) => Ok(dt.and_utc().timestamp_micros()),
        Some((_, Some(_))) => Err(format!(
            "`{s}` has a time zone, but the column is DATETIME (a wall-clock value without zone)"
        )),
        None => Err(format!(
            "`{s}` is not a DATETIME (expected YYYY-MM-DD HH:MM:SS)"
        )),
    }
}

/// Parses a TIMESTAMP as UTC microseconds. A value without a zone is taken as UTC, as
/// BigQuery does.
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    match parse_date_time(s) {
        Some((dt, zone)) => {
            Ok(dt.and_utc().timestamp_micros() - i64::from(zone.unwrap_or(0)) * 1_000_000)
        }
        None => Err(format!(
            "`{s}` is not a TIMESTAMP (expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM])"
        )),
    }
}

pub fn parse_bool(s: &str) -> Result<bool, String> {
    if s.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(format!("`{s}` is not a BOOL (expected true or false)"))
    }
}

pub fn parse_int(s: &str) -> Result<i64, String> {
    s.parse::<i64>()
        .map_err(|_| format!("`{s}` is not an INT64"))
}

pub fn parse_float(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .map_err(|_| format!("`{s}` is not a FLOAT64"))
}

/// Parses a decimal into its unscaled integer at `scale`, refusing digits that would be lost.
pub fn parse_decimal(s: &str, scale: i8) -> Result<i128, String> {
    let err = || format!("`{s}` is not a NUMERIC with at most {scale} decimal places");
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|c| c.is_ascii_digit())
        || !frac_part.bytes().all(|c| c.is_ascii_digit())
        || frac_part.len() > scale.max(0) as usize
    {
        return Err(err());
    }
    let mut v: i128 = 0;
    for c in int_part.bytes().chain(frac_part.bytes()) {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(c - b'0')))
            .ok_or_else(err)?;
    }
    for _ in frac_part.len()..scale.max(0) as usize {
        v = v.checked_mul(10).ok_or_else(err)?;
    }
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_values() {
        assert_eq!(classify("42"), TextType::Int);
        assert_eq!(classify("-7"), TextType::Int);
        assert_eq!(classify("007"), TextType::String);
        assert_eq!(classify("1.5"), TextType::Float);
        assert_eq!(classify("1e3"), TextType::Float);
        assert_eq!(classify("TRUE"), TextType::Bool);
        assert_eq!(classify("2024-02-29"), TextType::Date);
        assert_eq!(classify("2023-02-29"), TextType::String);
        assert_eq!(classify("2024-05-01 09:30:00"), TextType::Datetime);
        assert_eq!(classify("2024-05-01T09:30:00.123456Z"), TextType::Timestamp);
        assert_eq!(classify("2024-05-01 09:30:00+09:00"), TextType::Timestamp);
        assert_eq!(classify("nan"), TextType::String);
        assert_eq!(classify("99999999999999999999"), TextType::Float);
    }

    #[test]
    fn merges_to_the_narrowest_lossless_type() {
        assert_eq!(TextType::Int.merge(TextType::Float), TextType::Float);
        assert_eq!(TextType::Null.merge(TextType::Date), TextType::Date);
        assert_eq!(TextType::Date.merge(TextType::Datetime), TextType::Datetime);
        assert_eq!(TextType::Int.merge(TextType::Date), TextType::String);
        assert_eq!(
            TextType::Datetime.merge(TextType::Timestamp),
            TextType::String
        );
    }

    #[test]
    fn timestamps_are_converted_to_utc() {
        let utc = parse_timestamp("2024-05-01T00:00:00Z").unwrap();
        let jst = parse_timestamp("2024-05-01 09:00:00+09:00").unwrap();
        assert_eq!(utc, jst);
        assert!(parse_datetime("2024-05-01 09:00:00+09:00").is_err());
        assert_eq!(parse_date("1970-01-02").unwrap(), 1);
    }

    #[test]
    fn decimals_keep_every_digit_or_fail() {
        assert_eq!(parse_decimal("12.5", 2).unwrap(), 1250);
        assert_eq!(parse_decimal("-0.01", 2).unwrap(), -1);
        assert!(parse_decimal("1.234", 2).is_err());
        assert!(parse_decimal("abc", 2).is_err());
    }
}
