//! `arr[OFFSET(i)]`, `arr[ORDINAL(i)]` and `arr[i]`: GoogleSQL raises an error when the position
//! is outside the array (only the `SAFE_` forms give NULL). DataFusion's `array_element` gives
//! NULL, so kura-sql rewrites the strict forms to this function, which checks.

use arrow::array::{Array, AsArray as _, Int64Array, UInt64Builder};
use arrow::compute::{cast, take};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arity, Args};

/// The element at a 1-based position, or an error when the position is outside the array.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "The element at a 1-based position; an error when the position is out of bounds.",
    syntax_example = "array_at_checked(array, position)",
    sql_example = r#"```sql
> SELECT ['coffee', 'tea', 'milk'][OFFSET(1)];
tea
```"#,
    argument(name = "array", description = "The ARRAY to read."),
    argument(
        name = "position",
        description = "1-based position (OFFSET + 1, or ORDINAL)."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ArrayAtCheckedFunc {
    signature: Signature,
}

impl Default for ArrayAtCheckedFunc {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ArrayAtCheckedFunc {
    fn name(&self) -> &str {
        "array_at_checked"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2])?;
        match &arg_types[0] {
            DataType::List(f) | DataType::LargeList(f) => Ok(f.data_type().clone()),
            DataType::Null => Ok(DataType::Null),
            other => exec_err!("array subscript needs an ARRAY, got {other}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        if args.arrays[0].data_type() == &DataType::Null {
            return args.finish(args.arrays[0].clone());
        }
        let lists = cast(
            &args.arrays[0],
            &DataType::LargeList(match args.arrays[0].data_type() {
                DataType::List(f) | DataType::LargeList(f) => f.clone(),
                other => return exec_err!("array subscript needs an ARRAY, got {other}"),
            }),
        )?;
        let lists = lists.as_list::<i64>();
        let positions = cast(&args.arrays[1], &DataType::Int64)?;
        let positions = positions
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| datafusion::common::exec_datafusion_err!("position is not INT64"))?;
        let offsets = lists.value_offsets();
        let mut indices = UInt64Builder::with_capacity(args.len());
        for i in 0..args.len() {
            if lists.is_null(i) || positions.is_null(i) {
                indices.append_null();
                continue;
            }
            let len = offsets[i + 1] - offsets[i];
            let pos = positions.value(i);
            if pos < 1 || pos > len {
                return exec_err!(
                    "array index {} is out of bounds for an array of {len} element(s) \
                     (OFFSET counts from 0, ORDINAL from 1); use SAFE_OFFSET or SAFE_ORDINAL \
                     to get NULL instead",
                    pos - 1
                );
            }
            indices.append_value((offsets[i] + pos - 1) as u64);
        }
        let picked = take(lists.values().as_ref(), &indices.finish(), None)?;
        args.finish(picked)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{invoke, try_invoke};
    use datafusion::common::ScalarValue;

    fn coffee_tea_milk() -> ScalarValue {
        ScalarValue::List(ScalarValue::new_list_nullable(
            &["coffee".into(), "tea".into(), "milk".into()],
            &DataType::Utf8,
        ))
    }

    #[test]
    fn reads_in_range_and_refuses_out_of_range() {
        let f = ArrayAtCheckedFunc::default();
        assert_eq!(
            invoke(&f, vec![coffee_tea_milk(), ScalarValue::Int64(Some(2))]),
            ScalarValue::from("tea")
        );
        let err = try_invoke(&f, vec![coffee_tea_milk(), ScalarValue::Int64(Some(4))])
            .expect_err("position 4 of 3");
        assert!(err.to_string().contains("out of bounds"), "{err}");
        assert!(try_invoke(&f, vec![coffee_tea_milk(), ScalarValue::Int64(Some(0))]).is_err());
        assert_eq!(
            invoke(&f, vec![coffee_tea_milk(), ScalarValue::Int64(None)]),
            ScalarValue::Utf8(None)
        );
    }
}
