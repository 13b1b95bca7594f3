use arrow::array::Array as _;
use arrow::array::StringBuilder;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;
use serde_json::Value;

use crate::common::{arc, arity, strings, Args};
use crate::json_path;

/// GoogleSQL `JSON_VALUE(json_string[, path])` and its legacy name `JSON_EXTRACT_SCALAR`: the
/// scalar at a JSONPath as a STRING (strings unquoted), or NULL when the path leads to an
/// object, an array, JSON null or nothing. Text that is not JSON gives NULL.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Extracts a JSON scalar value at a JSONPath as a STRING.",
    syntax_example = "json_value(json_string[, json_path])",
    sql_example = r#"```sql
> SELECT JSON_VALUE('{"name": "Jakob", "age": "6"}', '$.age');
6
```"#,
    argument(name = "json_string", description = "JSON text."),
    argument(
        name = "json_path",
        description = "A JSONPath such as '$.a.b[0]'; '$' when omitted."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonValueFunc {
    signature: Signature,
    name: &'static str,
}

impl JsonValueFunc {
    /// `JSON_VALUE`.
    pub fn json_value() -> Self {
        Self::new("json_value")
    }
    /// `JSON_EXTRACT_SCALAR`, the same function under its legacy name.
    pub fn json_extract_scalar() -> Self {
        Self::new("json_extract_scalar")
    }
    fn new(name: &'static str) -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
            name,
        }
    }
}

impl ScalarUDFImpl for JsonValueFunc {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name, arg_types, &[1, 2])?;
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let docs = strings(&args.arrays[0])?;
        let paths = args.arrays.get(1).map(strings).transpose()?;
        let mut out = StringBuilder::new();
        for i in 0..args.len() {
            let path = match &paths {
                Some(p) if p.is_null(i) => None,
                Some(p) => Some(p.value(i)),
                None => Some("$"),
            };
            let (Some(path), false) = (path, docs.is_null(i)) else {
                out.append_null();
                continue;
            };
            let steps = json_path::parse(path)?;
            let Ok(doc) = serde_json::from_str::<Value>(docs.value(i)) else {
                out.append_null();
                continue;
            };
            let scalar = match json_path::select(&doc, &steps) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
                _ => None,
            };
            out.append_option(scalar);
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
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_value
        let f = JsonValueFunc::json_value();
        let doc = r#"{"name": "Jakob", "age": "6", "class": {"students": [{"name": "Jane"}]}}"#;
        assert_eq!(
            invoke(&f, vec![doc.into(), "$.age".into()]),
            ScalarValue::from("6")
        );
        assert_eq!(
            invoke(&f, vec![doc.into(), "$.class.students[0].name".into()]),
            ScalarValue::from("Jane")
        );
        assert_eq!(
            invoke(&f, vec![doc.into(), "$.class".into()]),
            ScalarValue::Utf8(None)
        );
        assert_eq!(
            invoke(&f, vec![r#"{"a": 1.5}"#.into(), "$.a".into()]),
            ScalarValue::from("1.5")
        );
    }
}
