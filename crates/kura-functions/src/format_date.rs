use arrow::array::Array as _;
use arrow::array::AsArray;
use arrow::array::{Date32Array, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, strings, Args};
use crate::format_elements::format_with;

/// GoogleSQL `FORMAT_DATE(format, date)`: a date as text, with GoogleSQL's format elements.
///
/// DataFusion's `to_char` takes chrono's elements in the other argument order; GoogleSQL
/// models need `%Q`, `%E4Y` and their argument order unchanged.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Formats a DATE according to a format string of GoogleSQL format elements.",
    syntax_example = "format_date(format_string, date_expr)",
    sql_example = r#"```sql
> SELECT FORMAT_DATE('%x', DATE '2008-12-25');
12/25/08
```"#,
    argument(
        name = "format_string",
        description = "Format elements, e.g. '%Y-%m-%d'."
    ),
    argument(name = "date_expr", description = "The DATE to format.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FormatDateFunc {
    signature: Signature,
}

impl Default for FormatDateFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FormatDateFunc {
    fn name(&self) -> &str {
        "format_date"
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
        let dates = cast(&args.arrays[1], &DataType::Date32)?;
        let dates: &Date32Array = dates.as_primitive();
        let mut out = StringBuilder::new();
        for i in 0..args.len() {
            if formats.is_null(i) || dates.is_null(i) {
                out.append_null();
                continue;
            }
            let Some(date) = dates.value_as_date(i) else {
                out.append_null();
                continue;
            };
            out.append_value(format_with(formats.value(i), &date)?);
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
    fn formats_like_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/date_functions#format_date
        let d = ScalarValue::Date32(Some(14238)); // 2008-12-25
        let f = |fmt: &str| {
            invoke(
                &FormatDateFunc::default(),
                vec![ScalarValue::from(fmt), d.clone()],
            )
        };
        assert_eq!(f("%x"), ScalarValue::from("12/25/08"));
        assert_eq!(f("%b-%d-%Y"), ScalarValue::from("Dec-25-2008"));
        assert_eq!(f("%b %Y"), ScalarValue::from("Dec 2008"));
    }
}
