use arrow::array::Array as _;
use arrow::array::TimestampMicrosecondBuilder;
use arrow::datatypes::DataType;
use chrono::{DateTime, NaiveDateTime, NaiveTime, TimeZone};
use datafusion::common::{exec_datafusion_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, strings, timestamp_type, zone, Args};
use crate::format_elements::to_chrono;
use crate::parse_date::parse_naive_date;

/// GoogleSQL `PARSE_TIMESTAMP(format, text[, time_zone])`: text to an instant. An offset in the
/// text (`%z`) wins; otherwise the text is read in `time_zone` (UTC by default).
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Parses text into a TIMESTAMP with GoogleSQL format elements.",
    syntax_example = "parse_timestamp(format_string, timestamp_string[, time_zone])",
    sql_example = r#"```sql
> SELECT PARSE_TIMESTAMP('%c', 'Thu Dec 25 07:30:00 2008');
2008-12-25 07:30:00+00
```"#,
    argument(name = "format_string", description = "Format elements."),
    argument(name = "timestamp_string", description = "The text to parse."),
    argument(
        name = "time_zone",
        description = "Zone of text without an offset; UTC when omitted."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseTimestampFunc {
    signature: Signature,
}

impl Default for ParseTimestampFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

/// Parses a wall-clock time, defaulting the time of day to midnight when the format has none.
pub(crate) fn parse_naive_datetime(format: &str, text: &str) -> Result<NaiveDateTime> {
    let fmt = to_chrono(format, None);
    match NaiveDateTime::parse_from_str(text.trim(), &fmt) {
        Ok(dt) => Ok(dt),
        Err(_) => Ok(parse_naive_date(format, text)?.and_time(NaiveTime::MIN)),
    }
}

impl ScalarUDFImpl for ParseTimestampFunc {
    fn name(&self) -> &str {
        "parse_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2, 3])?;
        Ok(timestamp_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let formats = strings(&args.arrays[0])?;
        let texts = strings(&args.arrays[1])?;
        let zones = args.arrays.get(2).map(strings).transpose()?;
        let mut out = TimestampMicrosecondBuilder::new();
        for i in 0..args.len() {
            let zone_name = match &zones {
                Some(z) if z.is_null(i) => None,
                Some(z) => Some(z.value(i)),
                None => Some("UTC"),
            };
            let (Some(zone_name), false, false) = (zone_name, formats.is_null(i), texts.is_null(i))
            else {
                out.append_null();
                continue;
            };
            let (format, text) = (formats.value(i), texts.value(i));
            let fmt = to_chrono(format, None);
            let instant = match DateTime::parse_from_str(text.trim(), &fmt) {
                Ok(dt) => dt.timestamp_micros(),
                Err(_) => {
                    let local = parse_naive_datetime(format, text)?;
                    zone(zone_name)?
                        .from_local_datetime(&local)
                        .earliest()
                        .ok_or_else(|| {
                            exec_datafusion_err!("'{text}' does not exist in time zone {zone_name}")
                        })?
                        .timestamp_micros()
                }
            };
            out.append_value(instant);
        }
        args.finish(arc(out.finish().with_timezone("UTC")))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::invoke;
    use datafusion::common::ScalarValue;

    fn ts(micros: i64) -> ScalarValue {
        ScalarValue::TimestampMicrosecond(Some(micros), Some("UTC".into()))
    }

    #[test]
    fn parses_like_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#parse_timestamp
        let f = ParseTimestampFunc::default();
        assert_eq!(
            invoke(&f, vec!["%c".into(), "Thu Dec 25 07:30:00 2008".into()]),
            ts(1_230_190_200_000_000)
        );
        assert_eq!(
            invoke(
                &f,
                vec![
                    "%Y-%m-%d %H:%M:%S".into(),
                    "2008-12-25 07:30:00".into(),
                    "America/Los_Angeles".into()
                ]
            ),
            ts(1_230_219_000_000_000)
        );
    }
}
