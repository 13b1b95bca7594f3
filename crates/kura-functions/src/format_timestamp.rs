use arrow::array::Array as _;
use arrow::array::StringBuilder;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, micros, strings, utc, zone, Args};
use crate::format_elements::format_with;

/// GoogleSQL `FORMAT_TIMESTAMP(format, timestamp[, time_zone])`: an instant as text in a zone
/// (UTC by default), with GoogleSQL's format elements.
///
/// The zone may be an IANA name (`America/Los_Angeles`) or an offset (`+05:30`).
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Formats a TIMESTAMP in a time zone (default UTC) with GoogleSQL format elements.",
    syntax_example = "format_timestamp(format_string, timestamp_expr[, time_zone])",
    sql_example = r#"```sql
> SELECT FORMAT_TIMESTAMP('%c', TIMESTAMP '2050-12-25 15:30:55+00', 'UTC');
Sun Dec 25 15:30:55 2050
```"#,
    argument(
        name = "format_string",
        description = "Format elements, e.g. '%Y-%m-%d %H:%M:%S'."
    ),
    argument(name = "timestamp_expr", description = "The TIMESTAMP to format."),
    argument(
        name = "time_zone",
        description = "IANA name or offset; UTC when omitted."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FormatTimestampFunc {
    signature: Signature,
}

impl Default for FormatTimestampFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FormatTimestampFunc {
    fn name(&self) -> &str {
        "format_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2, 3])?;
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let formats = strings(&args.arrays[0])?;
        let values = micros(&args.arrays[1])?;
        let zones = args.arrays.get(2).map(strings).transpose()?;
        let mut out = StringBuilder::new();
        for (i, v) in values.iter().enumerate() {
            let zone_name = match &zones {
                Some(z) if z.is_null(i) => None,
                Some(z) => Some(z.value(i)),
                None => Some("UTC"),
            };
            let (Some(v), Some(zone_name), false) = (v, zone_name, formats.is_null(i)) else {
                out.append_null();
                continue;
            };
            let local = utc(*v)?.with_timezone(&zone(zone_name)?);
            out.append_value(format_with(formats.value(i), &local)?);
        }
        args.finish(arc(out.finish()))
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

    fn ts() -> ScalarValue {
        // 2050-12-25 15:30:55 UTC
        ScalarValue::TimestampMicrosecond(Some(2_555_595_055_000_000), Some("UTC".into()))
    }

    #[test]
    fn formats_like_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#format_timestamp
        let f = FormatTimestampFunc::default();
        assert_eq!(
            invoke(&f, vec!["%c".into(), ts(), "UTC".into()]),
            ScalarValue::from("Sun Dec 25 15:30:55 2050")
        );
        assert_eq!(
            invoke(&f, vec!["%b-%d-%Y".into(), ts()]),
            ScalarValue::from("Dec-25-2050")
        );
        assert_eq!(
            invoke(
                &f,
                vec!["%Y-%m-%d %H:%M".into(), ts(), "America/Los_Angeles".into()]
            ),
            ScalarValue::from("2050-12-25 07:30")
        );
    }
}
