use arrow::array::Array as _;
use arrow::array::{AsArray, Date32Builder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use chrono::NaiveDate;
use datafusion::common::{exec_datafusion_err, exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, micros, strings, utc, Args, ZoneClock};

/// GoogleSQL `DATE(...)`: `DATE(year, month, day)`, `DATE(timestamp[, time_zone])` (the
/// calendar date of the instant in the zone, UTC by default), and `DATE(datetime)`.
///
/// The zone form is what daily reports need: `DATE(event_ts, 'Europe/Berlin')` puts events
/// after 23:00 UTC on the next Berlin day.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Constructs or extracts a DATE; with a TIMESTAMP, in the given time zone.",
    syntax_example = "date(timestamp_expr[, time_zone]) | date(year, month, day)",
    sql_example = r#"```sql
> SELECT DATE(TIMESTAMP '2008-12-25 05:30:00+00', 'America/Los_Angeles');
2008-12-24
```"#,
    argument(
        name = "timestamp_expr",
        description = "A TIMESTAMP, DATETIME or DATE."
    ),
    argument(
        name = "time_zone",
        description = "IANA name or offset; UTC when omitted."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DateFunc {
    signature: Signature,
}

impl Default for DateFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateFunc {
    fn name(&self) -> &str {
        "date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[1, 2, 3])?;
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let mut out = Date32Builder::new();
        if args.arrays.len() == 3 {
            let parts = args
                .arrays
                .iter()
                .map(|a| cast(a, &DataType::Int64))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let [y, m, d] = [0, 1, 2].map(|i| parts[i].as_primitive::<Int64Type>().clone());
            for i in 0..args.len() {
                if y.is_null(i) || m.is_null(i) || d.is_null(i) {
                    out.append_null();
                    continue;
                }
                let (y, m, d) = (y.value(i), m.value(i), d.value(i));
                let date = i32::try_from(y)
                    .ok()
                    .and_then(|y| {
                        NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
                    })
                    .ok_or_else(|| {
                        exec_datafusion_err!("DATE({y}, {m}, {d}) is not a valid date")
                    })?;
                out.append_value(Date32Type::from_naive_date(date));
            }
            return args.finish(arc(out.finish()));
        }
        let input = &args.arrays[0];
        if matches!(input.data_type(), DataType::Date32) {
            return args.finish(input.clone());
        }
        let zoned =
            matches!(input.data_type(), DataType::Timestamp(_, Some(_))) || args.arrays.len() == 2;
        if matches!(
            input.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) && args.arrays.len() == 1
        {
            return args.finish(cast(input, &DataType::Date32)?);
        }
        if !matches!(
            input.data_type(),
            DataType::Timestamp(_, _)
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Null
        ) {
            return exec_err!("DATE() does not take {}", input.data_type());
        }
        let values = micros(input)?;
        let zones = args.arrays.get(1).map(strings).transpose()?;
        let mut clock = ZoneClock::default();
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else {
                out.append_null();
                continue;
            };
            let date = if zoned {
                let zone_name = match &zones {
                    Some(z) if z.is_null(i) => {
                        out.append_null();
                        continue;
                    }
                    Some(z) => z.value(i),
                    None => "UTC",
                };
                utc(clock.local_micros(*v, zone_name)?)?.date_naive()
            } else {
                utc(*v)?.date_naive()
            };
            out.append_value(Date32Type::from_naive_date(date));
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
    fn matches_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/date_functions#date
        let f = DateFunc::default();
        assert_eq!(
            invoke(
                &f,
                vec![
                    ScalarValue::Int64(Some(2016)),
                    ScalarValue::Int64(Some(12)),
                    ScalarValue::Int64(Some(25))
                ]
            ),
            ScalarValue::Date32(Some(17160))
        );
        // 2008-12-25 05:30 UTC is 21:30 on the 24th in Los Angeles (UTC-8 in December).
        let ts = ScalarValue::TimestampMicrosecond(Some(1_230_183_000_000_000), Some("UTC".into()));
        assert_eq!(
            invoke(&f, vec![ts, "America/Los_Angeles".into()]),
            ScalarValue::Date32(Some(14237))
        );
    }
}
