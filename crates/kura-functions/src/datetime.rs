use arrow::array::Array as _;
use arrow::array::TimestampMicrosecondBuilder;
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, datetime_type, micros, strings, Args, ZoneClock};

/// GoogleSQL `DATETIME(timestamp[, time_zone])`: the wall-clock time of an instant in a zone
/// (UTC by default), and `DATETIME(date)`: midnight of that date.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "The DATETIME (wall-clock time, no zone) of a TIMESTAMP in a time zone.",
    syntax_example = "datetime(timestamp_expr[, time_zone])",
    sql_example = r#"```sql
> SELECT DATETIME(TIMESTAMP '2008-12-25 05:30:00+00', 'America/Los_Angeles');
2008-12-24T21:30:00
```"#,
    argument(name = "timestamp_expr", description = "A TIMESTAMP or DATE."),
    argument(
        name = "time_zone",
        description = "IANA name or offset; UTC when omitted."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DatetimeFunc {
    signature: Signature,
}

impl Default for DatetimeFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DatetimeFunc {
    fn name(&self) -> &str {
        "datetime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[1, 2])?;
        Ok(datetime_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let input = &args.arrays[0];
        let values = micros(input)?;
        let zoned = matches!(input.data_type(), DataType::Timestamp(_, Some(_)))
            || matches!(
                input.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            );
        if !zoned && args.arrays.len() == 2 {
            return exec_err!(
                "DATETIME(x, time_zone) needs a TIMESTAMP, got {}",
                input.data_type()
            );
        }
        let zones = args.arrays.get(1).map(strings).transpose()?;
        let mut out = TimestampMicrosecondBuilder::new();
        let mut clock = ZoneClock::default();
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else {
                out.append_null();
                continue;
            };
            if !zoned {
                out.append_value(*v);
                continue;
            }
            let zone_name = match &zones {
                Some(z) if z.is_null(i) => {
                    out.append_null();
                    continue;
                }
                Some(z) => z.value(i),
                None => "UTC",
            };
            out.append_value(clock.local_micros(*v, zone_name)?);
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

    #[test]
    fn wall_clock_in_a_zone() {
        let ts = ScalarValue::TimestampMicrosecond(Some(1_230_183_000_000_000), Some("UTC".into()));
        // 2008-12-25 05:30 UTC → 2008-12-24 21:30 in Los Angeles.
        assert_eq!(
            invoke(
                &DatetimeFunc::default(),
                vec![ts, "America/Los_Angeles".into()]
            ),
            ScalarValue::TimestampMicrosecond(Some(1_230_154_200_000_000), None)
        );
    }
}
