use arrow::array::Array as _;
use arrow::array::{AsArray, Date32Builder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type};
use chrono::{Datelike, Days, Months, NaiveDate};
use datafusion::common::{exec_datafusion_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, strings, Args};

/// GoogleSQL `LAST_DAY(date[, part])`: the last day of the date's `MONTH` (default), `QUARTER`,
/// `YEAR`, `WEEK` (ending Saturday), `WEEK(<weekday>)` or `ISOWEEK` (ending Sunday).
///
/// `kura-sql` passes the part keyword as text (`'MONTH'`, `'WEEK(MONDAY)'`).
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "Returns the last day of the period (default MONTH) that contains a date.",
    syntax_example = "last_day(date_expr[, date_part])",
    sql_example = r#"```sql
> SELECT LAST_DAY(DATE '2008-11-25', MONTH);
2008-11-30
```"#,
    argument(name = "date_expr", description = "A DATE (or DATETIME)."),
    argument(
        name = "date_part",
        description = "MONTH, QUARTER, YEAR, WEEK, WEEK(<weekday>) or ISOWEEK."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LastDayFunc {
    signature: Signature,
}

impl Default for LastDayFunc {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

fn last_day(d: NaiveDate, part: &str) -> Option<NaiveDate> {
    let part = part.trim().to_uppercase().replace(' ', "");
    let first_of = |month0: u32| NaiveDate::from_ymd_opt(d.year(), month0 + 1, 1);
    let week_end = |start: u32| {
        // days since the week's first day, then to its seventh
        let since = (d.weekday().num_days_from_monday() + 7 - start) % 7;
        d.checked_add_days(Days::new(u64::from(6 - since)))
    };
    match part.as_str() {
        "MONTH" => first_of(d.month0())?
            .checked_add_months(Months::new(1))?
            .pred_opt(),
        "QUARTER" => first_of(d.month0() / 3 * 3)?
            .checked_add_months(Months::new(3))?
            .pred_opt(),
        "YEAR" => NaiveDate::from_ymd_opt(d.year(), 12, 31),
        "ISOWEEK" | "WEEK(MONDAY)" => week_end(0),
        "WEEK" | "WEEK(SUNDAY)" => week_end(6),
        "WEEK(TUESDAY)" => week_end(1),
        "WEEK(WEDNESDAY)" => week_end(2),
        "WEEK(THURSDAY)" => week_end(3),
        "WEEK(FRIDAY)" => week_end(4),
        "WEEK(SATURDAY)" => week_end(5),
        _ => None,
    }
}

impl ScalarUDFImpl for LastDayFunc {
    fn name(&self) -> &str {
        "last_day"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[1, 2])?;
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let dates = cast(&args.arrays[0], &DataType::Date32)?;
        let dates = dates.as_primitive::<Date32Type>();
        let parts = args.arrays.get(1).map(strings).transpose()?;
        let mut out = Date32Builder::new();
        for i in 0..args.len() {
            let part = match &parts {
                Some(p) if p.is_null(i) => None,
                Some(p) => Some(p.value(i)),
                None => Some("MONTH"),
            };
            let (Some(d), Some(part)) =
                (dates.value_as_date(i).filter(|_| dates.is_valid(i)), part)
            else {
                out.append_null();
                continue;
            };
            let last = last_day(d, part).ok_or_else(|| {
                exec_datafusion_err!("LAST_DAY does not support the part '{part}'")
            })?;
            out.append_value(Date32Type::from_naive_date(last));
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

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn matches_the_bigquery_examples() {
        // https://cloud.google.com/bigquery/docs/reference/standard-sql/date_functions#last_day
        assert_eq!(last_day(d(2008, 11, 25), "MONTH"), Some(d(2008, 11, 30)));
        assert_eq!(last_day(d(2008, 11, 25), "YEAR"), Some(d(2008, 12, 31)));
        assert_eq!(
            last_day(d(2008, 11, 10), "WEEK(SUNDAY)"),
            Some(d(2008, 11, 15))
        );
        assert_eq!(
            last_day(d(2008, 11, 10), "WEEK(MONDAY)"),
            Some(d(2008, 11, 16))
        );
        assert_eq!(last_day(d(2008, 2, 10), "QUARTER"), Some(d(2008, 3, 31)));
    }
}
