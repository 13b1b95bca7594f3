use arrow::array::Array as _;
use std::sync::Arc;

use arrow::array::{ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, strings, Args};

/// GoogleSQL `SPLIT(value[, delimiter])`: value cut at each delimiter (`,` by default) into an
/// ARRAY<STRING>. An empty delimiter splits into characters; an empty value gives `['']`.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Splits a STRING on a delimiter (default ',') into an array.",
    syntax_example = "split(value[, delimiter])",
    sql_example = r#"```sql
> SELECT SPLIT('b c d', ' ');
[b, c, d]
```"#,
    argument(name = "value", description = "The STRING to split."),
    argument(name = "delimiter", description = "The separator; ',' when omitted.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SplitFunc {
    signature: Signature,
}

impl Default for SplitFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SplitFunc {
    fn name(&self) -> &str {
        "split"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[1, 2])?;
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let values = strings(&args.arrays[0])?;
        let delimiters = args.arrays.get(1).map(strings).transpose()?;
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..args.len() {
            let delimiter = match &delimiters {
                Some(d) if d.is_null(i) => None,
                Some(d) => Some(d.value(i)),
                None => Some(","),
            };
            let (Some(delimiter), false) = (delimiter, values.is_null(i)) else {
                out.append_null();
                continue;
            };
            let value = values.value(i);
            if delimiter.is_empty() {
                for c in value.chars() {
                    out.values().append_value(c.to_string());
                }
            } else {
                for piece in value.split(delimiter) {
                    out.values().append_value(piece);
                }
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
    use crate::test_util::invoke;
    use datafusion::common::ScalarValue;

    #[test]
    fn splits_like_bigquery() {
        let f = SplitFunc::default();
        let list = |items: &[&str]| {
            ScalarValue::List(ScalarValue::new_list_nullable(
                &items
                    .iter()
                    .map(|s| ScalarValue::from(*s))
                    .collect::<Vec<_>>(),
                &DataType::Utf8,
            ))
        };
        assert_eq!(
            invoke(&f, vec!["b c d".into(), " ".into()]),
            list(&["b", "c", "d"])
        );
        assert_eq!(invoke(&f, vec!["a,b".into()]), list(&["a", "b"]));
        assert_eq!(invoke(&f, vec!["".into(), ",".into()]), list(&[""]));
    }
}
