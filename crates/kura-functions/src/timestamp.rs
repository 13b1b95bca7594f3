use arrow::array::Array as _;
use arrow::array::TimestampMicrosecondBuilder;
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use chrono::TimeZone;
use datafusion::common::{exec_datafusion_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, micros, naive, strings, timestamp_type, zone, Args};

/// GoogleSQL `TIMESTAMP(x[, time_zone])`: the instant at which the wall clock in `time_zone`
/// (UTC by default) shows the DATETIME, DATE (midnight) or text `x`; text with an offset keeps
/// its offset.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Constructs a TIMESTAMP from a DATETIME, DATE or text read in a time zone.",
    syntax_example = "timestamp(datetime_expr[, time_zone])",
    sql_example = r#"```sql
> SELECT TIMESTAMP(DATETIME '2008-12-25 15:30:00', 'America/Los_Angeles');
2008-12-25 23:30:00+00
```"#,
    argument(name = "datetime_expr", description = "A DATETIME, DATE or STRING."),
    argument(
        name = "time_zone",
        description = "IANA name or offset; UTC when omitted."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimestampFunc {
    signature: Signature,
}

impl Default for TimestampFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TimestampFunc {
    fn name(&self) -> &str {
        "timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[1, 2])?;
        Ok(timestamp_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let input = &args.arrays[0];
        let zones = args.arrays.get(1).map(strings).transpose()?;
        let mut out = TimestampMicrosecondBuilder::new();
        let is_text = matches!(
            input.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        if let DataType::Timestamp(_, Some(_)) = input.data_type() {
            return args.finish(cast(input, &timestamp_type())?);
        }
        let texts = if is_text { Some(strings(input)?) } else { None };
        let wall = if is_text { vec![] } else { micros(input)? };
        for i in 0..args.len() {
            let zone_name = match &zones {
                Some(z) if z.is_null(i) => {
                    out.append_null();
                    continue;
                }
                Some(z) => z.value(i),
                None => "UTC",
            };
            let tz = zone(zone_name)?;
            let value = match &texts {
                Some(t) if t.is_null(i) => None,
                Some(t) => {
                    // Arrow reads text without an offset in the target zone, as GoogleSQL does.
                    let one = arc(arrow::array::StringArray::from(vec![t.value(i)]));
                    let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some(zone_name.into()));
                    micros(&cast(&one, &zoned)?)?.first().copied().flatten()
                }
                None => match wall.get(i).copied().flatten() {
                    None => None,
                    Some(v) => Some(
                        tz.from_local_datetime(&naive(v)?)
                            .earliest()
                            .ok_or_else(|| {
                                exec_datafusion_err!("the time does not exist in {zone_name}")
                            })?
                            .timestamp_micros(),
                    ),
                },
            };
            out.append_option(value);
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

    #[test]
    fn reads_wall_clock_in_zone() {
        let dt = ScalarValue::TimestampMicrosecond(Some(1_230_219_000_000_000), None);
        assert_eq!(
            invoke(
                &TimestampFunc::default(),
                vec![dt, "America/Los_Angeles".into()]
            ),
            ScalarValue::TimestampMicrosecond(Some(1_230_247_800_000_000), Some("UTC".into()))
        );
        assert_eq!(
            invoke(
                &TimestampFunc::default(),
                vec!["2008-12-25 15:30:00+00".into()]
            ),
            ScalarValue::TimestampMicrosecond(Some(1_230_219_000_000_000), Some("UTC".into()))
        );
    }
}
