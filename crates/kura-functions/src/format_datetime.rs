use arrow::array::Array as _;
use arrow::array::StringBuilder;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, micros, naive, strings, Args};
use crate::format_elements::format_with;

/// GoogleSQL `FORMAT_DATETIME(format, datetime)`: a wall-clock time as text.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Formats a DATETIME with GoogleSQL format elements.",
    syntax_example = "format_datetime(format_string, datetime_expr)",
    sql_example = r#"```sql
> SELECT FORMAT_DATETIME('%c', DATETIME '2008-12-25 15:30:00');
Thu Dec 25 15:30:00 2008
```"#,
    argument(name = "format_string", description = "Format elements."),
    argument(name = "datetime_expr", description = "The DATETIME to format.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FormatDatetimeFunc {
    signature: Signature,
}

impl Default for FormatDatetimeFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FormatDatetimeFunc {
    fn name(&self) -> &str {
        "format_datetime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2])?;
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let formats = strings(&args.arrays[0])?;
        let values = micros(&args.arrays[1])?;
        let mut out = StringBuilder::new();
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) if !formats.is_null(i) => {
                    out.append_value(format_with(formats.value(i), &naive(*v)?)?)
                }
                _ => out.append_null(),
            }
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
    fn formats_like_the_bigquery_example() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/datetime_functions#format_datetime
        let dt = ScalarValue::TimestampMicrosecond(Some(1_230_219_000_000_000), None);
        assert_eq!(
            invoke(&FormatDatetimeFunc::default(), vec!["%c".into(), dt]),
            ScalarValue::from("Thu Dec 25 15:30:00 2008")
        );
    }
}
