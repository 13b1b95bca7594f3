use std::sync::Arc;

use arrow::array::Array as _;
use arrow::array::{ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, strings, Args};
use crate::regex_cache::RegexCache;

/// GoogleSQL `REGEXP_EXTRACT(value, regexp)`: the first substring that matches, or the text of
/// its one capturing group; NULL when nothing matches. A pattern with more than one capturing
/// group is an error, as in GoogleSQL.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Returns the first substring matching the regular expression (or its capturing group).",
    syntax_example = "regexp_extract(value, regexp)",
    sql_example = r#"```sql
> SELECT REGEXP_EXTRACT('foo@example.com', r'^[a-zA-Z0-9_.+-]+');
foo
```"#,
    argument(name = "value", description = "The STRING to search."),
    argument(
        name = "regexp",
        description = "An RE2 regular expression with at most one capturing group."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegexpExtractFunc {
    signature: Signature,
}

impl Default for RegexpExtractFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RegexpExtractFunc {
    fn name(&self) -> &str {
        "regexp_extract"
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
        let values = strings(&args.arrays[0])?;
        let patterns = strings(&args.arrays[1])?;
        let mut cache = RegexCache::default();
        let mut out = StringBuilder::new();
        for i in 0..args.len() {
            if values.is_null(i) || patterns.is_null(i) {
                out.append_null();
                continue;
            }
            let re = cache.get(patterns.value(i))?;
            let groups = re.captures_len() - 1;
            if groups > 1 {
                return exec_err!(
                    "regular expression '{}' has {groups} capturing groups; REGEXP_EXTRACT allows at most one",
                    patterns.value(i)
                );
            }
            let found = re
                .captures(values.value(i))
                .and_then(|c| c.get(groups))
                .map(|m| m.as_str());
            out.append_option(found);
        }
        args.finish(arc(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// GoogleSQL `REGEXP_EXTRACT_ALL(value, regexp)`: every non-overlapping match (or the text of
/// its one capturing group), in order, as an ARRAY<STRING>; empty when nothing matches.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Returns every substring matching the regular expression (or its capturing group).",
    syntax_example = "regexp_extract_all(value, regexp)",
    sql_example = r#"```sql
> SELECT REGEXP_EXTRACT_ALL('Try `func(x)` or `func(y)`', '`(.+?)`');
[func(x), func(y)]
```"#,
    argument(name = "value", description = "The STRING to search."),
    argument(
        name = "regexp",
        description = "An RE2 regular expression with at most one capturing group."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegexpExtractAllFunc {
    signature: Signature,
}

impl Default for RegexpExtractAllFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RegexpExtractAllFunc {
    fn name(&self) -> &str {
        "regexp_extract_all"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2])?;
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let values = strings(&args.arrays[0])?;
        let patterns = strings(&args.arrays[1])?;
        let mut cache = RegexCache::default();
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..args.len() {
            if values.is_null(i) || patterns.is_null(i) {
                out.append_null();
                continue;
            }
            let re = cache.get(patterns.value(i))?;
            let groups = re.captures_len() - 1;
            if groups > 1 {
                return exec_err!(
                    "regular expression '{}' has {groups} capturing groups; REGEXP_EXTRACT_ALL allows at most one",
                    patterns.value(i)
                );
            }
            for caps in re.captures_iter(values.value(i)) {
                out.values()
                    .append_option(caps.get(groups).map(|m| m.as_str()));
            }
            out.append(true);
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
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#regexp_extract
        let f = RegexpExtractFunc::default();
        assert_eq!(
            invoke(
                &f,
                vec!["foo@example.com".into(), "^[a-zA-Z0-9_.+-]+".into()]
            ),
            ScalarValue::from("foo")
        );
        assert_eq!(
            invoke(
                &f,
                vec!["foo@example.com".into(), "@([a-zA-Z0-9-]+)".into()]
            ),
            ScalarValue::from("example")
        );
        assert_eq!(
            invoke(&f, vec!["abc".into(), "x".into()]),
            ScalarValue::Utf8(None)
        );
        assert!(try_invoke(&f, vec!["ab".into(), "(a)(b)".into()]).is_err());
    }
}
