use arrow::array::{Array, Int64Array};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, micros_array, Args};

/// GoogleSQL `UNIX_SECONDS`, `UNIX_MILLIS` and `UNIX_MICROS`: a TIMESTAMP as an INT64 count
/// since 1970-01-01 00:00:00 UTC, rounding down finer precision (so negative instants round
/// toward the past, as GoogleSQL does).
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Returns the number of seconds, milliseconds or microseconds since 1970-01-01 00:00:00 UTC, rounding down.",
    syntax_example = "unix_seconds(timestamp_expr)",
    sql_example = r#"```sql
> SELECT UNIX_SECONDS(TIMESTAMP '2008-12-25 15:30:00+00');
1230219000
```"#,
    argument(name = "timestamp_expr", description = "The TIMESTAMP.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UnixTimeFunc {
    signature: Signature,
    name: &'static str,
    micros_per_unit: i64,
}

impl UnixTimeFunc {
    pub fn seconds() -> Self {
        Self::new("unix_seconds", 1_000_000)
    }
    pub fn millis() -> Self {
        Self::new("unix_millis", 1_000)
    }
    pub fn micros() -> Self {
        Self::new("unix_micros", 1)
    }
    fn new(name: &'static str, micros_per_unit: i64) -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
            name,
            micros_per_unit,
        }
    }
}

impl ScalarUDFImpl for UnixTimeFunc {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name, arg_types, &[1])?;
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let time = micros_array(&args.arrays[0])?;
        // Microseconds are the timestamp's own values: the same buffer, read as INT64.
        let out = if self.micros_per_unit == 1 {
            Int64Array::new(time.values().clone(), time.nulls().cloned())
        } else {
            let unit = self.micros_per_unit;
            time.unary::<_, Int64Type>(|v| v.div_euclid(unit))
        };
        args.finish(arc(out))
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
    fn rounds_down() {
        let ts = |us| ScalarValue::TimestampMicrosecond(Some(us), Some("UTC".into()));
        assert_eq!(
            invoke(&UnixTimeFunc::seconds(), vec![ts(1_230_219_000_000_000)]),
            ScalarValue::Int64(Some(1_230_219_000))
        );
        assert_eq!(
            invoke(&UnixTimeFunc::millis(), vec![ts(-1)]),
            ScalarValue::Int64(Some(-1))
        );
        assert_eq!(
            invoke(&UnixTimeFunc::micros(), vec![ts(-5)]),
            ScalarValue::Int64(Some(-5))
        );
        let null = ScalarValue::TimestampMicrosecond(None, Some("UTC".into()));
        assert_eq!(
            invoke(&UnixTimeFunc::micros(), vec![null.clone()]),
            ScalarValue::Int64(None)
        );
        assert_eq!(
            invoke(&UnixTimeFunc::seconds(), vec![null]),
            ScalarValue::Int64(None)
        );
    }
}
