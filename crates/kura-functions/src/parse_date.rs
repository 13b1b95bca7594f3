use arrow::array::Array as _;
use arrow::array::Date32Builder;
use arrow::datatypes::DataType;
use chrono::NaiveDate;
use datafusion::common::{exec_datafusion_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, strings, Args};
use crate::format_elements::to_chrono;

/// GoogleSQL `PARSE_DATE(format, text)`: text to a DATE using GoogleSQL format elements.
///
/// Fails (as GoogleSQL does) when the text does not match; wrap in `SAFE.` semantics with
/// `SAFE_CAST` where a NULL is wanted instead.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Parses text into a DATE with GoogleSQL format elements.",
    syntax_example = "parse_date(format_string, date_string)",
    sql_example = r#"```sql
> SELECT PARSE_DATE('%Y%m%d', '20081225');
2008-12-25
```"#,
    argument(
        name = "format_string",
        description = "Format elements, e.g. '%Y%m%d'."
    ),
    argument(name = "date_string", description = "The text to parse.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseDateFunc {
    signature: Signature,
}

impl Default for ParseDateFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

/// Parses a date; shared with `PARSE_DATETIME`/`PARSE_TIMESTAMP` for formats without a time.
pub(crate) fn parse_naive_date(format: &str, text: &str) -> Result<NaiveDate> {
    let fmt = to_chrono(format, None);
    NaiveDate::parse_from_str(text.trim(), &fmt)
        .map_err(|e| exec_datafusion_err!("failed to parse '{text}' with format '{format}': {e}"))
}

impl ScalarUDFImpl for ParseDateFunc {
    fn name(&self) -> &str {
        "parse_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[2])?;
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let formats = strings(&args.arrays[0])?;
        let texts = strings(&args.arrays[1])?;
        let mut out = Date32Builder::new();
        for i in 0..args.len() {
            if formats.is_null(i) || texts.is_null(i) {
                out.append_null();
                continue;
            }
            let d = parse_naive_date(formats.value(i), texts.value(i))?;
            out.append_value(arrow::datatypes::Date32Type::from_naive_date(d));
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
    fn parses_like_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/date_functions#parse_date
        let f = ParseDateFunc::default();
        let d = ScalarValue::Date32(Some(14238));
        assert_eq!(invoke(&f, vec!["%Y%m%d".into(), "20081225".into()]), d);
        assert_eq!(invoke(&f, vec!["%x".into(), "12/25/08".into()]), d);
        assert_eq!(
            invoke(
                &f,
                vec!["%A %b %e %Y".into(), "Thursday Dec 25 2008".into()]
            ),
            d
        );
        assert!(try_invoke(&f, vec!["%Y-%m-%d".into(), "not a date".into()]).is_err());
    }
}
