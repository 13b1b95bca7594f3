use arrow::array::{AsArray, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, Args};

/// GoogleSQL `SAFE_DIVIDE(x, y)`: `x / y` as FLOAT64, or NULL where `y` is 0.
///
/// The everyday ratio (`SAFE_DIVIDE(conversions, sessions)`) must not fail a report on an
/// empty day, and must not truncate like integer division.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Divides x by y as FLOAT64, returning NULL instead of an error when y is 0.",
    syntax_example = "safe_divide(x, y)",
    sql_example = r#"```sql
> SELECT SAFE_DIVIDE(20, 4), SAFE_DIVIDE(0, 20), SAFE_DIVIDE(20, 0);
5.0, 0.0, NULL
```"#,
    argument(name = "x", description = "Dividend."),
    argument(name = "y", description = "Divisor.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SafeDivideFunc {
    signature: Signature,
}

impl Default for SafeDivideFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SafeDivideFunc {
    fn name(&self) -> &str {
        "safe_divide"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2])?;
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let x = cast(&args.arrays[0], &DataType::Float64)?;
        let y = cast(&args.arrays[1], &DataType::Float64)?;
        let out: Float64Array = x
            .as_primitive::<Float64Type>()
            .iter()
            .zip(y.as_primitive::<Float64Type>().iter())
            .map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) if y != 0.0 => Some(x / y),
                _ => None,
            })
            .collect();
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
    fn matches_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/mathematical_functions#safe_divide
        let f = SafeDivideFunc::default();
        let call = |x: i64, y: i64| {
            invoke(
                &f,
                vec![ScalarValue::Int64(Some(x)), ScalarValue::Int64(Some(y))],
            )
        };
        assert_eq!(call(20, 4), ScalarValue::Float64(Some(5.0)));
        assert_eq!(call(0, 20), ScalarValue::Float64(Some(0.0)));
        assert_eq!(call(20, 0), ScalarValue::Float64(None));
    }
}
