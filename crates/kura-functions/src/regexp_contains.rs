use arrow::array::Array as _;
use arrow::array::BooleanBuilder;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, strings, Args};
use crate::regex_cache::RegexCache;

/// GoogleSQL `REGEXP_CONTAINS(value, regexp)`: whether the RE2 pattern matches part of value.
///
/// Rust's `regex` follows RE2's syntax and linear-time guarantee, so patterns mean the same.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Returns TRUE if value is a partial match for the regular expression.",
    syntax_example = "regexp_contains(value, regexp)",
    sql_example = r#"```sql
> SELECT REGEXP_CONTAINS('foo@example.com', r'@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+');
true
```"#,
    argument(name = "value", description = "The STRING to search."),
    argument(name = "regexp", description = "An RE2 regular expression.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegexpContainsFunc {
    signature: Signature,
}

impl Default for RegexpContainsFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RegexpContainsFunc {
    fn name(&self) -> &str {
        "regexp_contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2])?;
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let values = strings(&args.arrays[0])?;
        let patterns = strings(&args.arrays[1])?;
        let mut cache = RegexCache::default();
        let mut out = BooleanBuilder::new();
        for i in 0..args.len() {
            if values.is_null(i) || patterns.is_null(i) {
                out.append_null();
                continue;
            }
            out.append_value(cache.get(patterns.value(i))?.is_match(values.value(i)));
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
    use crate::test_util::{invoke, try_invoke};
    use datafusion::common::ScalarValue;

    #[test]
    fn matches_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#regexp_contains
        let f = RegexpContainsFunc::default();
        let re = r"@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+";
        assert_eq!(
            invoke(&f, vec!["foo@example.com".into(), re.into()]),
            ScalarValue::from(true)
        );
        assert_eq!(
            invoke(&f, vec!["www.example.net".into(), re.into()]),
            ScalarValue::from(false)
        );
        assert!(try_invoke(&f, vec!["x".into(), "(".into()]).is_err());
    }
}
