//! Ages and spans as the command line takes them: `30m`, `24h`, `7d`, `4w` (`kura cost
//! --since`, `kura vacuum --retain`).

use std::time::Duration;

/// Parses a whole number and a unit: `s`, `m`, `h`, `d` or `w`; a bare number is days.
///
/// # Errors
/// A message naming the text and the units there are.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; use e.g. 30m, 24h, 7d or 4w"))?;
    let seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "`{text}` has unknown unit `{unit}`; use s, m, h, d or w"
            ))
        }
    };
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_their_unit_and_say_what_is_wrong() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("24h"), Ok(Duration::from_secs(24 * 3600)));
        assert_eq!(parse_age("4w"), Ok(Duration::from_secs(28 * 86_400)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_age("3"), Ok(Duration::from_secs(3 * 86_400)));
        assert!(parse_age("d").unwrap_err().contains("not a duration"));
        assert!(parse_age("7x").unwrap_err().contains("unknown unit `x`"));
        assert!(parse_age("99999999999999999w")
            .unwrap_err()
            .contains("too long"));
    }
}
