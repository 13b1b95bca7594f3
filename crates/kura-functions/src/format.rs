//! GoogleSQL `FORMAT(format_string, value, ...)`: printf with GoogleSQL's specifiers.

use arrow::array::{Array, ArrayRef, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{exec_datafusion_err, exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::cell::{clock, Cell};
use crate::common::{arc, strings, Args};
use crate::printf::{fixed, general, group_digits, round_trip, scientific, with_point};

/// GoogleSQL `FORMAT(format_string, value, ...)`: values formatted into text by printf-style
/// specifiers `%[flags][width][.precision]specifier`.
///
/// Specifiers: `d`/`i` (integers), `o`, `x`, `X`, `f`/`F`, `e`/`E`, `g`/`G`, `s` (STRING),
/// `t` (any value, readable), `T` (any value, as a literal) and `%%`. Flags `-`, `+`, space,
/// `#`, `0` and `'` (digit grouping); `*` takes a width or precision from the arguments. A
/// NULL format string or NULL value gives NULL, except that `%t` and `%T` print `NULL`. A
/// specifier that does not fit its argument's type, and a count of arguments that does not
/// match the specifiers, are errors, as in BigQuery. Not supported: `%p`/`%P` (kura keeps JSON
/// as STRING) and `%u` (GoogleSQL has no unsigned type).
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Formats values into a string with printf-style specifiers (%d %s %f %e %g %x %o %t %T %%).",
    syntax_example = "format(format_string, value[, ...])",
    sql_example = r#"```sql
> SELECT FORMAT('%d items at %.2f', 3, 9.5), FORMAT("%'d", 123456789);
3 items at 9.50, 123,456,789
```"#,
    argument(name = "format_string", description = "Text with format specifiers."),
    argument(name = "value", description = "One value per specifier (two for `*`).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FormatFunc {
    signature: Signature,
}

impl Default for FormatFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FormatFunc {
    fn name(&self) -> &str {
        "format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.is_empty() {
            return exec_err!("format takes a format string and the values to format");
        }
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // The format string is almost always a literal: parse it once for the batch.
        let constant = match &args.args[0] {
            ColumnarValue::Scalar(s) => match s.try_as_str() {
                Some(Some(text)) => Some(parse(text, args.args.len() - 1)?),
                _ => None,
            },
            _ => None,
        };
        let args = Args::new(&args)?;
        let formats = strings(&args.arrays[0])?;
        let values = &args.arrays[1..];
        let mut out = StringBuilder::with_capacity(args.len(), args.len() * 16);
        for row in 0..args.len() {
            if formats.is_null(row) {
                out.append_null();
                continue;
            }
            let parsed;
            let pieces = match &constant {
                Some(p) => p,
                None => {
                    parsed = parse(formats.value(row), values.len())?;
                    &parsed
                }
            };
            match render(pieces, values, row)? {
                Some(text) => out.append_value(text),
                None => out.append_null(),
            }
        }
        args.finish(arc(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// A format string split into literal text and specifiers.
enum Piece {
    Text(String),
    Spec(Spec),
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    zero: bool,
    grouping: bool,
    width: Count,
    precision: Count,
    conversion: char,
}

#[derive(Default, Clone, Copy)]
enum Count {
    #[default]
    Absent,
    Fixed(usize),
    /// `*`: taken from the next argument.
    FromArgument,
}

/// Parses `format` and checks that it consumes exactly `arguments` values.
fn parse(format: &str, arguments: usize) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut used = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                '0' => spec.zero = true,
                '\'' => spec.grouping = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = count(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = match count(&mut chars) {
                Count::Absent => Count::Fixed(0),
                c => c,
            };
        }
        let Some(conversion) = chars.next() else {
            return exec_err!("format string {format:?} ends inside a specifier");
        };
        if !"diouxXfFeEgGstTpP".contains(conversion) {
            return exec_err!("format string {format:?} has an invalid specifier %{conversion}");
        }
        if conversion == 'u' {
            return exec_err!(
                "FORMAT %u needs an unsigned integer, which GoogleSQL does not have; use %d"
            );
        }
        if matches!(conversion, 'p' | 'P') {
            return exec_err!("FORMAT %{conversion} (JSON and PROTO) is not supported by kura; use TO_JSON_STRING");
        }
        spec.conversion = conversion;
        used += 1
            + usize::from(matches!(spec.width, Count::FromArgument))
            + usize::from(matches!(spec.precision, Count::FromArgument));
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(Piece::Spec(spec));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    if used != arguments {
        return exec_err!(
            "format string {format:?} takes {used} argument(s), but FORMAT was given {arguments}"
        );
    }
    Ok(pieces)
}

fn count(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Count {
    if chars.peek() == Some(&'*') {
        chars.next();
        return Count::FromArgument;
    }
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
    }
    n.map_or(Count::Absent, Count::Fixed)
}

/// The formatted text of one row, or `None` when a NULL makes the result NULL.
fn render(pieces: &[Piece], values: &[ArrayRef], row: usize) -> Result<Option<String>> {
    let mut out = String::new();
    let mut next = 0;
    // Yields the next value and its position among FORMAT's arguments (the format string
    // is the first), for error messages.
    let mut take = || {
        let index = next;
        next += 1;
        values
            .get(index)
            .map(|v| (index + 2, v))
            .ok_or_else(|| exec_datafusion_err!("FORMAT ran out of arguments"))
    };
    for piece in pieces {
        let spec = match piece {
            Piece::Text(t) => {
                out.push_str(t);
                continue;
            }
            Piece::Spec(spec) => spec,
        };
        let mut left = spec.left;
        let width = match spec.width {
            Count::Absent => 0,
            Count::Fixed(w) => w,
            Count::FromArgument => {
                let (position, array) = take()?;
                match star(array.as_ref(), row, position)? {
                    None => return Ok(None),
                    // As in C, a negative `*` width left-justifies.
                    Some(w) => {
                        left |= w < 0;
                        usize::try_from(w.unsigned_abs()).unwrap_or(usize::MAX)
                    }
                }
            }
        };
        let precision = match spec.precision {
            Count::Absent => None,
            Count::Fixed(p) => Some(p),
            Count::FromArgument => {
                let (position, array) = take()?;
                match star(array.as_ref(), row, position)? {
                    None => return Ok(None),
                    // A negative `*` precision counts as none.
                    Some(p) => usize::try_from(p).ok(),
                }
            }
        };
        let (position, array) = take()?;
        let cell = Cell::decode(array.as_ref(), row)?;
        let layout = Layout {
            width,
            left,
            zero: spec.zero && !left,
        };
        let formatted = match spec.conversion {
            'd' | 'i' | 'o' | 'x' | 'X' => integer(spec, precision, cell, position, layout)?,
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => float(spec, precision, cell, position, layout)?,
            's' => match cell {
                Cell::Null => None,
                Cell::String(s) => Some(layout.text(s, precision)),
                _ => {
                    return exec_err!(
                        "FORMAT %s needs a STRING, but argument {} is {}; use %t for any type",
                        position,
                        array.data_type()
                    )
                }
            },
            't' => {
                let mut text = String::new();
                readable(cell, &mut text)?;
                Some(layout.text(&text, precision))
            }
            'T' => {
                let mut text = String::new();
                literal(cell, &mut text)?;
                Some(layout.text(&text, precision))
            }
            other => return exec_err!("FORMAT specifier %{other} is not supported"),
        };
        match formatted {
            Some(text) => out.push_str(&text),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// A width or precision given by `*`.
fn star(array: &dyn Array, row: usize, position: usize) -> Result<Option<i64>> {
    match Cell::decode(array, row)? {
        Cell::Null => Ok(None),
        Cell::Int(i) => Ok(Some(i)),
        Cell::UInt(u) => Ok(Some(i64::try_from(u).unwrap_or(i64::MAX))),
        _ => exec_err!(
            "FORMAT * needs an INT64 width or precision, but argument {} is {}",
            position,
            array.data_type()
        ),
    }
}

/// Where padding goes.
#[derive(Clone, Copy)]
struct Layout {
    width: usize,
    left: bool,
    zero: bool,
}

impl Layout {
    /// `sign` then `body`, padded to the width: spaces before (or after, with `-`), or zeros
    /// between sign and digits with `0`.
    fn number(&self, sign: &str, body: &str, zero: bool) -> String {
        let len = sign.chars().count() + body.chars().count();
        let fill = self.width.saturating_sub(len);
        if self.left {
            format!("{sign}{body}{}", " ".repeat(fill))
        } else if zero {
            format!("{sign}{}{body}", "0".repeat(fill))
        } else {
            format!("{}{sign}{body}", " ".repeat(fill))
        }
    }

    /// Text cut to `precision` characters, then padded with spaces to the width.
    fn text(&self, text: &str, precision: Option<usize>) -> String {
        let cut: String = match precision {
            Some(p) => text.chars().take(p).collect(),
            None => text.to_string(),
        };
        self.number("", &cut, false)
    }
}

fn sign_of(spec: &Spec, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

fn integer(
    spec: &Spec,
    precision: Option<usize>,
    cell: Cell<'_>,
    position: usize,
    layout: Layout,
) -> Result<Option<String>> {
    let (negative, magnitude) = match cell {
        Cell::Null => return Ok(None),
        Cell::Int(i) => (i < 0, i.unsigned_abs()),
        Cell::UInt(u) => (false, u),
        _ => {
            return exec_err!(
                "FORMAT %{} needs an integer, but argument {} is not one; use %f, %s or %t",
                spec.conversion,
                position
            )
        }
    };
    let conversion = spec.conversion;
    if negative && matches!(conversion, 'o' | 'x' | 'X') {
        return exec_err!("FORMAT %{conversion} of a negative integer is an error in GoogleSQL");
    }
    let mut digits = match conversion {
        'o' => format!("{magnitude:o}"),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    };
    if let Some(p) = precision {
        // The minimum number of digits; a precision of 0 prints nothing for 0.
        if p == 0 && magnitude == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = format!("{}{digits}", "0".repeat(p - digits.len()));
        }
    }
    if spec.grouping {
        digits = match conversion {
            'x' | 'X' => group_digits(&digits, 4, ':'),
            'o' => group_digits(&digits, 4, ','),
            _ => group_digits(&digits, 3, ','),
        };
    }
    let prefix = match conversion {
        'o' if spec.alternate && !digits.starts_with('0') => "0",
        'x' if spec.alternate && magnitude != 0 => "0x",
        'X' if spec.alternate && magnitude != 0 => "0X",
        _ => "",
    };
    let lead = format!("{}{prefix}", sign_of(spec, negative));
    // As in C, a precision turns the 0 flag off for integers.
    Ok(Some(layout.number(
        &lead,
        &digits,
        layout.zero && precision.is_none(),
    )))
}

fn float(
    spec: &Spec,
    precision: Option<usize>,
    cell: Cell<'_>,
    position: usize,
    layout: Layout,
) -> Result<Option<String>> {
    let value = match cell {
        Cell::Null => return Ok(None),
        Cell::Float(f) => f,
        Cell::Int(i) => i as f64,
        Cell::UInt(u) => u as f64,
        Cell::Numeric(text) => text
            .parse::<f64>()
            .map_err(|e| exec_datafusion_err!("NUMERIC {text} as FLOAT64: {e}"))?,
        _ => {
            return exec_err!(
                "FORMAT %{} needs a number, but argument {} is not one; use %s or %t",
                spec.conversion,
                position
            )
        }
    };
    let conversion = spec.conversion;
    let upper = conversion.is_ascii_uppercase();
    if !value.is_finite() {
        let body = match (value.is_nan(), upper) {
            (true, false) => "nan",
            (true, true) => "NAN",
            (false, false) => "inf",
            (false, true) => "INF",
        };
        let negative = value.is_infinite() && value < 0.0;
        return Ok(Some(layout.number(sign_of(spec, negative), body, false)));
    }
    let p = precision.unwrap_or(6);
    let mut body = match conversion {
        'f' | 'F' => fixed(value, p),
        'e' | 'E' => scientific(value, p, upper),
        _ => general(value, p, spec.alternate, upper),
    };
    if spec.alternate {
        body = with_point(body);
    }
    if spec.grouping && !body.contains(['e', 'E']) {
        let (whole, rest) = body.split_at(body.find('.').unwrap_or(body.len()));
        body = format!("{}{rest}", group_digits(whole, 3, ','));
    }
    Ok(Some(layout.number(
        sign_of(spec, value.is_sign_negative()),
        &body,
        layout.zero,
    )))
}

/// `%t`: the readable text of any value, as `CAST(x AS STRING)` mostly gives it.
fn readable(cell: Cell<'_>, out: &mut String) -> Result<()> {
    match cell {
        Cell::Null => out.push_str("NULL"),
        Cell::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Cell::Int(i) => out.push_str(&i.to_string()),
        Cell::UInt(u) => out.push_str(&u.to_string()),
        Cell::Float(f) => out.push_str(&float_text(f)),
        Cell::Numeric(text) => out.push_str(&text),
        Cell::String(s) => out.push_str(s),
        Cell::Bytes(b) => out.push_str(&escape_bytes(b, None)),
        Cell::Date(d) => out.push_str(&d.to_string()),
        Cell::Timestamp(at) => out.push_str(&format!("{} {}+00", at.date(), clock(&at.time()))),
        Cell::Datetime(at) => out.push_str(&format!("{} {}", at.date(), clock(&at.time()))),
        Cell::Time(t) => out.push_str(&clock(&t)),
        Cell::Array(elements) => {
            out.push('[');
            for i in 0..elements.len() {
                if i > 0 {
                    out.push_str(", ");
                }
                readable(Cell::decode(elements.as_ref(), i)?, out)?;
            }
            out.push(']');
        }
        Cell::Struct(s, row) => {
            out.push('(');
            for (i, column) in s.columns().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                readable(Cell::decode(column.as_ref(), row)?, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// `%T`: any value as a GoogleSQL literal of a similar type.
fn literal(cell: Cell<'_>, out: &mut String) -> Result<()> {
    match cell {
        Cell::Float(f) if !f.is_finite() => {
            let name = if f.is_nan() {
                "nan"
            } else if f > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            out.push_str(&format!("CAST(\"{name}\" AS FLOAT64)"));
        }
        Cell::Numeric(text) => out.push_str(&format!("NUMERIC \"{text}\"")),
        Cell::String(s) => out.push_str(&quote_string(s)),
        Cell::Bytes(b) => {
            let quote = quote_for(b);
            out.push_str(&format!("b{quote}{}{quote}", escape_bytes(b, Some(quote))));
        }
        Cell::Date(d) => out.push_str(&format!("DATE \"{d}\"")),
        Cell::Timestamp(at) => out.push_str(&format!(
            "TIMESTAMP \"{} {}+00\"",
            at.date(),
            clock(&at.time())
        )),
        Cell::Datetime(at) => {
            out.push_str(&format!("DATETIME \"{} {}\"", at.date(), clock(&at.time())))
        }
        Cell::Time(t) => out.push_str(&format!("TIME \"{}\"", clock(&t))),
        Cell::Array(elements) => {
            out.push('[');
            for i in 0..elements.len() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(Cell::decode(elements.as_ref(), i)?, out)?;
            }
            out.push(']');
        }
        Cell::Struct(s, row) => {
            // `(x)` would read as a parenthesised value, so short structs are spelled out.
            out.push_str(if s.num_columns() < 2 { "STRUCT(" } else { "(" });
            for (i, column) in s.columns().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(Cell::decode(column.as_ref(), row)?, out)?;
            }
            out.push(')');
        }
        other => readable(other, out)?,
    }
    Ok(())
}

/// FLOAT64 as `%t` prints it: round-trip digits, with `.0` on whole numbers so the text still
/// reads as a float.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let text = round_trip(f);
    if text.contains(['.', 'e']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// Double quotes, unless the text holds `"` but no `'`, as GoogleSQL quotes literals.
fn quote_for(bytes: &[u8]) -> char {
    if bytes.contains(&b'"') && !bytes.contains(&b'\'') {
        '\''
    } else {
        '"'
    }
}

fn quote_string(s: &str) -> String {
    let quote = quote_for(s.as_bytes());
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Printable ASCII as is (backslash and, inside a literal, its quote escaped), other bytes
/// as `\xNN`.
fn escape_bytes(bytes: &[u8], quote: Option<char>) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        let c = char::from(b);
        match c {
            '\\' => out.push_str("\\\\"),
            '"' | '\'' | '`' if quote.is_none_or(|q| q == c) => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{invoke, try_invoke};
    use datafusion::common::ScalarValue;

    fn format(args: Vec<ScalarValue>) -> ScalarValue {
        invoke(&FormatFunc::default(), args)
    }

    fn text(s: &str) -> ScalarValue {
        ScalarValue::from(s)
    }

    fn int(i: i64) -> ScalarValue {
        ScalarValue::Int64(Some(i))
    }

    fn float(f: f64) -> ScalarValue {
        ScalarValue::Float64(Some(f))
    }

    #[test]
    fn matches_the_documented_examples() {
        assert_eq!(format(vec![text("%d"), int(10)]), text("10"));
        assert_eq!(format(vec![text("|%10d|"), int(11)]), text("|        11|"));
        assert_eq!(format(vec![text("+%010d+"), int(12)]), text("+0000000012+"));
        assert_eq!(
            format(vec![text("%'d"), int(123456789)]),
            text("123,456,789")
        );
        assert_eq!(
            format(vec![text("-%s-"), text("abcd efg")]),
            text("-abcd efg-")
        );
        assert_eq!(
            format(vec![text("%f %E"), float(1.1), float(2.2)]),
            text("1.100000 2.200000E+00")
        );
        assert_eq!(format(vec![text("%'x"), int(12345678)]), text("bc:614e"));
        assert_eq!(format(vec![text("%'o"), int(55555)]), text("15,4403"));
        assert_eq!(
            format(vec![text("%t"), ScalarValue::Date32(Some(16679))]),
            text("2015-09-01")
        );
        assert_eq!(
            format(vec![
                text("%t"),
                ScalarValue::TimestampMicrosecond(Some(1441136096000000), Some("UTC".into()))
            ]),
            text("2015-09-01 19:34:56+00")
        );
    }

    #[test]
    fn handles_flags_precision_and_star() {
        assert_eq!(format(vec![text("%.2f"), float(1.23456)]), text("1.23"));
        assert_eq!(format(vec![text("%-6d|"), int(42)]), text("42    |"));
        assert_eq!(format(vec![text("%+d % d"), int(5), int(5)]), text("+5  5"));
        assert_eq!(format(vec![text("%08.3f"), float(-3.5)]), text("-003.500"));
        assert_eq!(
            format(vec![text("%g %g"), float(392.65), float(39265000.0)]),
            text("392.65 3.9265e+07")
        );
        assert_eq!(
            format(vec![text("%#x %X"), int(255), int(255)]),
            text("0xff FF")
        );
        assert_eq!(format(vec![text("%*d"), int(5), int(42)]), text("   42"));
        assert_eq!(format(vec![text("%.3s"), text("abcdef")]), text("abc"));
        assert_eq!(format(vec![text("100%%")]), text("100%"));
        assert_eq!(format(vec![text("%e"), float(f64::INFINITY)]), text("inf"));
    }

    #[test]
    fn nulls_give_null_except_with_t() {
        assert_eq!(
            format(vec![text("%d"), ScalarValue::Int64(None)]),
            ScalarValue::Utf8(None)
        );
        assert_eq!(
            format(vec![text("00-%t-00"), ScalarValue::Int64(None)]),
            text("00-NULL-00")
        );
        assert_eq!(
            format(vec![ScalarValue::Utf8(None), int(1)]),
            ScalarValue::Utf8(None)
        );
    }

    #[test]
    fn t_and_capital_t_render_any_value() {
        assert_eq!(
            format(vec![text("%t %T"), float(2.0), float(2.0)]),
            text("2.0 2.0")
        );
        assert_eq!(format(vec![text("%T"), text("sample")]), text("\"sample\""));
        assert_eq!(
            format(vec![text("%T"), ScalarValue::Date32(Some(16679))]),
            text("DATE \"2015-09-01\"")
        );
    }

    #[test]
    fn rejects_mismatched_specifiers_and_counts() {
        let f = FormatFunc::default();
        assert!(try_invoke(&f, vec![text("%s"), int(1)]).is_err());
        assert!(try_invoke(&f, vec![text("%d"), float(1.5)]).is_err());
        assert!(try_invoke(&f, vec![text("%")]).is_err());
        assert!(try_invoke(&f, vec![text("%d %d"), int(1)]).is_err());
        assert!(try_invoke(&f, vec![text("%x"), int(-1)]).is_err());
    }
}
