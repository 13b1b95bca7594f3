//! GoogleSQL `TO_JSON_STRING(value[, pretty_print])`.

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use chrono::Datelike;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::cell::{clock, Cell};
use crate::common::{arc, arity, Args};
use crate::printf::round_trip;

/// GoogleSQL `TO_JSON_STRING(value[, pretty_print])`: any value as JSON text, with
/// GoogleSQL's encodings.
///
/// Structs become objects with their fields in order, arrays become arrays, SQL `NULL` is
/// `null` (so the function never returns NULL). Integers outside ±2^53 and decimals with a
/// fraction are quoted, because JSON readers hold numbers as doubles; FLOAT64 is written with
/// the fewest digits that read back the same (`1.0` → `1`), and its non-finite values as the
/// strings `"NaN"`, `"Infinity"` and `"-Infinity"`. TIMESTAMP is `"2024-01-01T00:00:00Z"`,
/// DATETIME the same without `Z`, BYTES base64. kura keeps JSON values as STRING, so a JSON
/// column is encoded as a string (BigQuery embeds it).
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Converts a value to JSON text with GoogleSQL's encodings; `pretty_print` adds newlines and two-space indentation.",
    syntax_example = "to_json_string(value[, pretty_print])",
    sql_example = r#"```sql
> SELECT TO_JSON_STRING(STRUCT(1 AS id, [10, 20] AS coordinates));
{"id":1,"coordinates":[10,20]}
```"#,
    argument(name = "value", description = "Any value: scalar, ARRAY or STRUCT."),
    argument(
        name = "pretty_print",
        description = "BOOL; when TRUE the text is indented for reading."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToJsonStringFunc {
    signature: Signature,
}

impl Default for ToJsonStringFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ToJsonStringFunc {
    fn name(&self) -> &str {
        "to_json_string"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[1, 2])?;
        if let Some(t) = arg_types.get(1) {
            if !matches!(t, DataType::Boolean | DataType::Null) {
                return exec_err!("to_json_string's pretty_print must be a BOOL, got {t}");
            }
        }
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let values = &args.arrays[0];
        let pretty = match args.arrays.get(1) {
            Some(p) => Some(cast(p, &DataType::Boolean)?.as_boolean().clone()),
            None => None,
        };
        let mut out = StringBuilder::with_capacity(args.len(), args.len() * 16);
        let mut text = String::new();
        for row in 0..args.len() {
            let indent = match &pretty {
                // GoogleSQL: a NULL argument gives NULL.
                Some(p) if p.is_null(row) => {
                    out.append_null();
                    continue;
                }
                Some(p) if p.value(row) => Some(0),
                _ => None,
            };
            text.clear();
            Json {
                out: &mut text,
                indent,
            }
            .value(Cell::decode(values.as_ref(), row)?)?;
            out.append_value(&text);
        }
        args.finish(arc(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Writes one value as JSON; `indent` is the current depth in spaces when pretty-printing.
struct Json<'o> {
    out: &'o mut String,
    indent: Option<usize>,
}

impl Json<'_> {
    fn value(&mut self, cell: Cell<'_>) -> Result<()> {
        match cell {
            Cell::Null => self.out.push_str("null"),
            Cell::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Cell::Int(i) if i.unsigned_abs() <= MAX_EXACT_INTEGER => {
                self.out.push_str(&i.to_string())
            }
            Cell::Int(i) => self.quoted(&i.to_string()),
            Cell::UInt(u) if u <= MAX_EXACT_INTEGER => self.out.push_str(&u.to_string()),
            Cell::UInt(u) => self.quoted(&u.to_string()),
            Cell::Float(f) if f.is_nan() => self.out.push_str("\"NaN\""),
            Cell::Float(f) if f.is_infinite() => self.out.push_str(if f > 0.0 {
                "\"Infinity\""
            } else {
                "\"-Infinity\""
            }),
            Cell::Float(f) => self.out.push_str(&round_trip(f)),
            Cell::Numeric(text) => {
                // A number only when a double holds it exactly: an integer within ±2^53.
                let exact = !text.contains('.')
                    && text
                        .trim_start_matches('-')
                        .parse::<u64>()
                        .is_ok_and(|n| n <= MAX_EXACT_INTEGER);
                if exact {
                    self.out.push_str(&text);
                } else {
                    self.quoted(&text);
                }
            }
            Cell::String(s) => self.quoted(s),
            Cell::Bytes(b) => self.quoted(&base64(b)),
            Cell::Date(d) => {
                self.quoted(&format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
            }
            Cell::Timestamp(at) => self.quoted(&format!("{}T{}Z", at.date(), clock(&at.time()))),
            Cell::Datetime(at) => self.quoted(&format!("{}T{}", at.date(), clock(&at.time()))),
            Cell::Time(t) => self.quoted(&clock(&t)),
            Cell::Array(elements) => self.array(&elements)?,
            Cell::Struct(s, row) => {
                if s.num_columns() == 0 {
                    self.out.push_str("{}");
                    return Ok(());
                }
                self.out.push('{');
                self.deeper();
                for (i, (field, column)) in s.fields().iter().zip(s.columns()).enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline();
                    self.quoted(field.name());
                    self.out.push(':');
                    if self.indent.is_some() {
                        self.out.push(' ');
                    }
                    self.value(Cell::decode(column.as_ref(), row)?)?;
                }
                self.shallower();
                self.newline();
                self.out.push('}');
            }
        }
        Ok(())
    }

    fn array(&mut self, elements: &ArrayRef) -> Result<()> {
        if elements.is_empty() {
            self.out.push_str("[]");
            return Ok(());
        }
        self.out.push('[');
        self.deeper();
        for i in 0..elements.len() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline();
            self.value(Cell::decode(elements.as_ref(), i)?)?;
        }
        self.shallower();
        self.newline();
        self.out.push(']');
        Ok(())
    }

    fn deeper(&mut self) {
        if let Some(i) = &mut self.indent {
            *i += 2;
        }
    }

    fn shallower(&mut self) {
        if let Some(i) = &mut self.indent {
            *i = i.saturating_sub(2);
        }
    }

    fn newline(&mut self) {
        if let Some(i) = self.indent {
            self.out.push('\n');
            self.out.extend(std::iter::repeat_n(' ', i));
        }
    }

    /// A JSON string, escaping what GoogleSQL escapes: `"`, `\`, control characters, and
    /// U+2028/U+2029 (valid JSON, but line breaks to JavaScript).
    fn quoted(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\u{08}' => self.out.push_str("\\b"),
                '\u{0c}' => self.out.push_str("\\f"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                    self.out.push_str(&format!("\\u{:04x}", c as u32))
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// The largest integer magnitude a double holds exactly (2^53): GoogleSQL writes integers up
/// to it as JSON numbers and larger ones as strings.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// RFC 4648 base64 with padding, as GoogleSQL encodes BYTES in JSON.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::invoke;
    use arrow::array::{Int64Array, ListArray, StructArray};
    use arrow::datatypes::{Field, Int64Type};
    use datafusion::common::ScalarValue;
    use std::sync::Arc;

    fn json(value: ScalarValue) -> String {
        match invoke(&ToJsonStringFunc::default(), vec![value]) {
            ScalarValue::Utf8(Some(s)) => s,
            other => panic!("expected text, got {other:?}"),
        }
    }

    fn id_and_coordinates() -> ScalarValue {
        // STRUCT(1 AS id, [10, 20] AS coordinates)
        let coordinates =
            ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(10), Some(20)])]);
        let s = StructArray::from(vec![
            (
                Arc::new(Field::new("id", DataType::Int64, true)),
                Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            ),
            (
                Arc::new(Field::new(
                    "coordinates",
                    coordinates.data_type().clone(),
                    true,
                )),
                Arc::new(coordinates) as ArrayRef,
            ),
        ]);
        ScalarValue::Struct(Arc::new(s))
    }

    #[test]
    fn matches_the_documented_struct_example() {
        assert_eq!(
            json(id_and_coordinates()),
            r#"{"id":1,"coordinates":[10,20]}"#
        );
        let pretty = invoke(
            &ToJsonStringFunc::default(),
            vec![id_and_coordinates(), ScalarValue::Boolean(Some(true))],
        );
        assert_eq!(
            pretty,
            ScalarValue::from("{\n  \"id\": 1,\n  \"coordinates\": [\n    10,\n    20\n  ]\n}")
        );
    }

    #[test]
    fn encodes_scalars_as_documented() {
        assert_eq!(json(ScalarValue::Int64(None)), "null");
        assert_eq!(
            json(ScalarValue::Int64(Some(9007199254740992))),
            "9007199254740992"
        );
        assert_eq!(
            json(ScalarValue::Int64(Some(9007199254740993))),
            "\"9007199254740993\""
        );
        assert_eq!(json(ScalarValue::Float64(Some(1.0))), "1");
        assert_eq!(json(ScalarValue::Float64(Some(f64::NAN))), "\"NaN\"");
        assert_eq!(
            json(ScalarValue::Float64(Some(f64::NEG_INFINITY))),
            "\"-Infinity\""
        );
        assert_eq!(json(ScalarValue::from("\"abc\"")), r#""\"abc\"""#);
        assert_eq!(
            json(ScalarValue::Binary(Some(b"Google".to_vec()))),
            "\"R29vZ2xl\""
        );
        assert_eq!(
            json(ScalarValue::Decimal128(Some(12356), 38, 2)),
            "\"123.56\""
        );
        assert_eq!(json(ScalarValue::Decimal128(Some(-100), 38, 2)), "-1");
        assert_eq!(
            json(ScalarValue::TimestampMicrosecond(
                Some(1488803696789012),
                Some("UTC".into())
            )),
            "\"2017-03-06T12:34:56.789012Z\""
        );
        assert_eq!(json(ScalarValue::Date32(Some(17231))), "\"2017-03-06\"");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
