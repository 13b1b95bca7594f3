use crate::common::{arc, arity, strings, Args};
use crate::json_ordered::OrderedJson;
use crate::json_path;
use arrow::array::Array as _;
use arrow::array::StringBuilder;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

/// GoogleSQL `JSON_QUERY(json_string, path)` and its legacy name `JSON_EXTRACT`: the JSON at a
/// JSONPath as compact JSON text with object keys in the input's order (strings keep their
/// quotes), or NULL when the path leads nowhere.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Extracts the JSON value (object, array or scalar) at a JSONPath as JSON text.",
    syntax_example = "json_query(json_string, json_path)",
    sql_example = r#"```sql
> SELECT JSON_QUERY('{"class": {"students": [{"name": "Jane"}]}}', '$.class');
{"students":[{"name":"Jane"}]}
```"#,
    argument(name = "json_string", description = "JSON text."),
    argument(name = "json_path", description = "A JSONPath such as '$.a.b[0]'.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonQueryFunc {
    signature: Signature,
    name: &'static str,
}

impl JsonQueryFunc {
    /// `JSON_QUERY`.
    pub fn json_query() -> Self {
        Self::new("json_query")
    }
    /// `JSON_EXTRACT`, the same function under its legacy name.
    pub fn json_extract() -> Self {
        Self::new("json_extract")
    }
    fn new(name: &'static str) -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
            name,
        }
    }
}

impl ScalarUDFImpl for JsonQueryFunc {
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
            let Some(doc) = OrderedJson::parse(docs.value(i)) else {
                out.append_null();
                continue;
            };
            out.append_option(doc.select(&steps).map(ToString::to_string));
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
    fn keeps_json_form() {
        let f = JsonQueryFunc::json_query();
        let doc = r#"{"class": {"students": [{"name": "Jane"}]}}"#;
        assert_eq!(
            invoke(&f, vec![doc.into(), "$.class".into()]),
            ScalarValue::from(r#"{"students":[{"name":"Jane"}]}"#)
        );
        assert_eq!(
            invoke(&f, vec![doc.into(), "$.class.students[0].name".into()]),
            ScalarValue::from(r#""Jane""#)
        );
    }
}
