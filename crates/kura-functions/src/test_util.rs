//! Calling a UDF on scalars in unit tests.

use std::sync::Arc;

use arrow::datatypes::Field;
use datafusion::common::ScalarValue;
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl};

pub(crate) fn invoke(f: &dyn ScalarUDFImpl, args: Vec<ScalarValue>) -> ScalarValue {
    try_invoke(f, args).expect("the call succeeds")
}

pub(crate) fn try_invoke(
    f: &dyn ScalarUDFImpl,
    args: Vec<ScalarValue>,
) -> datafusion::common::Result<ScalarValue> {
    let types: Vec<_> = args.iter().map(|a| a.data_type()).collect();
    let return_type = f.return_type(&types)?;
    let arg_fields = types
        .iter()
        .enumerate()
        .map(|(i, t)| Arc::new(Field::new(format!("a{i}"), t.clone(), true)))
        .collect();
    let out = f.invoke_with_args(ScalarFunctionArgs {
        args: args.into_iter().map(ColumnarValue::Scalar).collect(),
        arg_fields,
        number_rows: 1,
        return_field: Arc::new(Field::new("r", return_type, true)),
        config_options: Arc::new(ConfigOptions::default()),
    })?;
    match out {
        ColumnarValue::Scalar(s) => Ok(s),
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0),
    }
}
