//! GoogleSQL's format elements (`%Y-%m-%d`, `%E3S`, `%Q`, …) in terms of chrono's strftime.
//!
//! Most elements are the same in both. The ones that differ are rewritten:
//! `%E<n>S` (seconds with n fractional digits) → `%S%.<n>f`, `%E*S` → `%S%.f`,
//! `%E4Y` → `%Y`, `%Ez` → `%:z`, `%Q` (quarter) → its digit, `%J` (ISO day of year) unsupported.
//! See <https://cloud.google.com/bigquery/docs/reference/standard-sql/format-elements>.

use std::fmt::Write;

use chrono::format::{Item, StrftimeItems};
use chrono::Datelike;
use datafusion::common::{exec_datafusion_err, Result};

/// Translates a GoogleSQL format string for `value` (the quarter is filled in from it).
pub(crate) fn to_chrono(format: &str, quarter: Option<u32>) -> String {
    let mut out = String::with_capacity(format.len() + 8);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Q') => match quarter {
                Some(q) => out.push_str(&q.to_string()),
                None => out.push_str("%Q"),
            },
            Some('E') => {
                let mut spec = String::new();
                while let Some(&n) = chars.peek() {
                    chars.next();
                    spec.push(n);
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
                match spec.as_str() {
                    "*S" => out.push_str("%S%.f"),
                    "4Y" => out.push_str("%Y"),
                    "z" => out.push_str("%:z"),
                    s if s.ends_with('S') && s[..s.len() - 1].parse::<u8>().is_ok() => {
                        let digits = &s[..s.len() - 1];
                        if digits == "0" {
                            out.push_str("%S");
                        } else {
                            let _ = write!(out, "%S%.{digits}f");
                        }
                    }
                    other => {
                        let _ = write!(out, "%E{other}");
                    }
                }
            }
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Formats with a translated format string, failing (not panicking) on elements chrono does not
/// know.
pub(crate) fn format_with<T>(format: &str, value: &T) -> Result<String>
where
    T: Datelike,
    for<'a> T: FormatLike<'a>,
{
    let translated = to_chrono(format, Some(value.month0() / 3 + 1));
    let items: Vec<Item> = StrftimeItems::new(&translated).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(exec_datafusion_err!("invalid format string '{format}'"));
    }
    let mut out = String::new();
    write!(out, "{}", value.format_items(items.iter())).map_err(|_| {
        exec_datafusion_err!("format string '{format}' does not apply to this value")
    })?;
    Ok(out)
}

/// The chrono types that format with a list of items.
pub(crate) trait FormatLike<'a> {
    type Out: std::fmt::Display;
    fn format_items(&self, items: std::slice::Iter<'a, Item<'a>>) -> Self::Out;
}

impl<'a> FormatLike<'a> for chrono::NaiveDate {
    type Out = chrono::format::DelayedFormat<std::slice::Iter<'a, Item<'a>>>;
    fn format_items(&self, items: std::slice::Iter<'a, Item<'a>>) -> Self::Out {
        self.format_with_items(items)
    }
}

impl<'a> FormatLike<'a> for chrono::NaiveDateTime {
    type Out = chrono::format::DelayedFormat<std::slice::Iter<'a, Item<'a>>>;
    fn format_items(&self, items: std::slice::Iter<'a, Item<'a>>) -> Self::Out {
        self.format_with_items(items)
    }
}

impl<'a, Z: chrono::TimeZone> FormatLike<'a> for chrono::DateTime<Z>
where
    Z::Offset: std::fmt::Display,
{
    type Out = chrono::format::DelayedFormat<std::slice::Iter<'a, Item<'a>>>;
    fn format_items(&self, items: std::slice::Iter<'a, Item<'a>>) -> Self::Out {
        self.format_with_items(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_fractional_seconds_and_quarter() {
        assert_eq!(to_chrono("%E3S", None), "%S%.3f");
        assert_eq!(to_chrono("%E*S", None), "%S%.f");
        assert_eq!(to_chrono("Q%Q %Y", Some(3)), "Q3 %Y");
    }

    #[test]
    fn formats_a_date() {
        let d = chrono::NaiveDate::from_ymd_opt(2008, 12, 25).expect("valid date");
        assert_eq!(format_with("%x", &d).expect("formats"), "12/25/08");
        assert_eq!(format_with("%b-%d-%Y", &d).expect("formats"), "Dec-25-2008");
        assert_eq!(format_with("%Y Q%Q", &d).expect("formats"), "2008 Q4");
    }
}
