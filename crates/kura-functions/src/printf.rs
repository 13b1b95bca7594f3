//! C `printf` number conversions (`%f`, `%e`, `%g`), which GoogleSQL inherits.
//!
//! GoogleSQL's `FORMAT` is specified as printf, and its float-to-text rule (used by
//! `TO_JSON_STRING`, `CAST(x AS STRING)` and `FORMAT('%t')`) is printf's `%.15g`, widened to
//! `%.17g` when 15 digits do not give the value back. Rust's formatter rounds exactly like
//! glibc (correctly, from the binary value), so these only arrange its digits the C way.
//! All functions take the magnitude; callers write the sign.

/// `%.<precision>f` of `|v|` for a finite `v`.
pub(crate) fn fixed(v: f64, precision: usize) -> String {
    format!("{:.*}", precision, v.abs())
}

/// `%.<precision>e` of `|v|` for a finite `v`: `3.926500e+02`.
pub(crate) fn scientific(v: f64, precision: usize, upper: bool) -> String {
    let (mantissa, exponent) = split_exponent(v, precision);
    let e = if upper { 'E' } else { 'e' };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}{e}{sign}{:02}", exponent.unsigned_abs())
}

/// `%.<precision>g` of `|v|` for a finite `v`; `alternate` is the `#` flag, which keeps
/// trailing zeros and the decimal point.
pub(crate) fn general(v: f64, precision: usize, alternate: bool, upper: bool) -> String {
    let p = precision.max(1);
    let exponent = if v == 0.0 {
        0
    } else {
        split_exponent(v, p - 1).1
    };
    let exceeds = usize::try_from(exponent).is_ok_and(|x| x >= p);
    if exponent < -4 || exceeds {
        let text = scientific(v, p - 1, upper);
        if alternate {
            return with_point(text);
        }
        match text.find(['e', 'E']) {
            Some(at) => format!("{}{}", strip_fraction_zeros(&text[..at]), &text[at..]),
            None => text,
        }
    } else {
        // Here -4 <= exponent < p, so the digits after the point are p - 1 - exponent >= 0.
        let digits = usize::try_from(p as i64 - 1 - exponent).unwrap_or(0);
        let text = fixed(v, digits);
        if alternate {
            with_point(text)
        } else {
            strip_fraction_zeros(&text).to_string()
        }
    }
}

/// The shortest of `%.15g` and `%.17g` that reads back as `v` (finite): GoogleSQL's text for
/// a FLOAT64, e.g. `1`, `0.1`, `1e+20`.
pub(crate) fn round_trip(v: f64) -> String {
    let short = general(v, 15, false, false);
    let text = if short.parse::<f64>().ok() == Some(v.abs()) {
        short
    } else {
        general(v, 17, false, false)
    };
    if v.is_sign_negative() {
        format!("-{text}")
    } else {
        text
    }
}

/// Rust's `{:.*e}` gives `3.9265e2`; returns the mantissa text and the exponent.
fn split_exponent(v: f64, precision: usize) -> (String, i64) {
    let text = format!("{:.*e}", precision, v.abs());
    match text.split_once('e') {
        Some((mantissa, exponent)) => (mantissa.to_string(), exponent.parse().unwrap_or(0)),
        None => (text, 0),
    }
}

fn strip_fraction_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// The `#` flag: a decimal point even when no digit follows it.
pub(crate) fn with_point(text: String) -> String {
    if text.contains('.') {
        return text;
    }
    match text.find(['e', 'E']) {
        Some(at) => format!("{}.{}", &text[..at], &text[at..]),
        None => format!("{text}."),
    }
}

/// Inserts `separator` every `group` digits from the right: `1234567` → `1,234,567`.
pub(crate) fn group_digits(digits: &str, group: usize, separator: char) -> String {
    let chars: Vec<char> = digits.chars().collect();
    let mut groups: Vec<String> = chars
        .rchunks(group.max(1))
        .map(|g| g.iter().collect())
        .collect();
    groups.reverse();
    groups.join(&separator.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_c_printf() {
        assert_eq!(fixed(392.65, 6), "392.650000");
        assert_eq!(fixed(2.5, 0), "2");
        assert_eq!(scientific(392.65, 6, false), "3.926500e+02");
        assert_eq!(scientific(2.2, 6, true), "2.200000E+00");
        assert_eq!(scientific(0.000123, 2, false), "1.23e-04");
        assert_eq!(general(392.65, 6, false, false), "392.65");
        assert_eq!(general(39265000.0, 6, false, false), "3.9265e+07");
        assert_eq!(general(0.0001, 6, false, false), "0.0001");
        assert_eq!(general(0.00001, 6, false, false), "1e-05");
        assert_eq!(general(100000.0, 6, false, false), "100000");
        assert_eq!(general(1000000.0, 6, false, false), "1e+06");
        assert_eq!(general(1.0, 6, true, false), "1.00000");
        assert_eq!(general(0.0, 6, false, false), "0");
    }

    #[test]
    fn round_trip_is_shortest_exact_text() {
        assert_eq!(round_trip(1.0), "1");
        assert_eq!(round_trip(0.1), "0.1");
        assert_eq!(round_trip(-2.5), "-2.5");
        assert_eq!(round_trip(1e20), "1e+20");
        assert_eq!(round_trip(9007199254740993.0), "9007199254740992");
        assert_eq!(round_trip(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn groups_digits() {
        assert_eq!(group_digits("123456789", 3, ','), "123,456,789");
        assert_eq!(group_digits("12", 3, ','), "12");
        assert_eq!(group_digits("bc614e", 4, ':'), "bc:614e");
    }
}
