use arrow::array::{AsArray, TimestampMicrosecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_datafusion_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, timestamp_type, Args};

/// GoogleSQL `TIMESTAMP_SECONDS`, `TIMESTAMP_MILLIS` and `TIMESTAMP_MICROS`: an INT64 count
/// since 1970-01-01 00:00:00 UTC as a TIMESTAMP.
///
/// DataFusion's `to_timestamp_*` return a timestamp without zone in nanoseconds, which
/// overflows for dates GoogleSQL allows (years 1–9999) and compares as a DATETIME.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Interprets an INT64 count of seconds, milliseconds or microseconds since the Unix epoch as a TIMESTAMP.",
    syntax_example = "timestamp_seconds(int64_expr)",
    sql_example = r#"```sql
> SELECT TIMESTAMP_SECONDS(1230219000);
2008-12-25 15:30:00+00
```"#,
    argument(
        name = "int64_expr",
        description = "Units since 1970-01-01 00:00:00 UTC."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimestampFromUnixFunc {
    signature: Signature,
    name: &'static str,
    micros_per_unit: i64,
}

impl TimestampFromUnixFunc {
    pub fn seconds() -> Self {
        Self::new("timestamp_seconds", 1_000_000)
    }
    pub fn millis() -> Self {
        Self::new("timestamp_millis", 1_000)
    }
    pub fn micros() -> Self {
        Self::new("timestamp_micros", 1)
    }
    fn new(name: &'static str, micros_per_unit: i64) -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
            name,
            micros_per_unit,
        }
    }
}

impl ScalarUDFImpl for TimestampFromUnixFunc {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name, arg_types, &[1])?;
        Ok(timestamp_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let ints = cast(&args.arrays[0], &DataType::Int64)?;
        let out: TimestampMicrosecondArray = ints
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| {
                v.map(|v| {
                    v.checked_mul(self.micros_per_unit)
                        .ok_or_else(|| exec_datafusion_err!("{}({v}) is out of range", self.name))
                })
                .transpose()
            })
            .collect::<Result<_>>()?;
        args.finish(arc(out.with_timezone("UTC")))
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
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions
        let expected =
            ScalarValue::TimestampMicrosecond(Some(1_230_219_000_000_000), Some("UTC".into()));
        let secs = invoke(
            &TimestampFromUnixFunc::seconds(),
            vec![ScalarValue::Int64(Some(1_230_219_000))],
        );
        let millis = invoke(
            &TimestampFromUnixFunc::millis(),
            vec![ScalarValue::Int64(Some(1_230_219_000_000))],
        );
        let micros = invoke(
            &TimestampFromUnixFunc::micros(),
            vec![ScalarValue::Int64(Some(1_230_219_000_000_000))],
        );
        assert_eq!(secs, expected);
        assert_eq!(millis, expected);
        assert_eq!(micros, expected);
    }
}
